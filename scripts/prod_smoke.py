"""What the image does, without Docker: production settings, collectstatic, migrate, the image's daphne.

Secrets are generated for this run; the database is a SQLite file in a temporary folder (or a
throwaway database on the Postgres server of DATABASE_URL when it is set); Redis is REDIS_URL under
a key prefix of its own, or the embedded server. Then every public page, both login pages and
/healthz are fetched the way the proxy forwards them (X-Forwarded-Proto: https) and must answer
200 with HSTS, as must every static file they reference. Exit status 1 on any failure; every process
started here is stopped and every file and database removed.

    scripts/prod-smoke            # runs this file with the project's virtualenv
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]

HOST = "kickbot.example"
COMMUNITY = "smokechannel"
STARTUP_DEADLINE_S = 90
STATIC_REF = re.compile(r"""(?:src|href)=["'](/static/[^"'?#]+)""")


class SmokeFailure(Exception):
    pass


def say(message: str) -> None:
    print(f"prod-smoke: {message}", flush=True)


def image_command() -> list[str]:
    """The Dockerfile's CMD (exec form): the command the image's web process runs."""
    cmd = [line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("CMD ")]
    if not cmd:
        raise SmokeFailure("the Dockerfile has no CMD")
    return list(json.loads(cmd[-1].removeprefix("CMD ")))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def scratch_database(tmp: Path) -> Iterator[str]:
    """A SQLite file under ``tmp``, or a throwaway database beside DATABASE_URL's (dropped after)."""
    server = os.environ.get("DATABASE_URL", "")
    if not server.startswith(("postgres://", "postgresql://")):
        yield f"sqlite:///{tmp / 'smoke.sqlite3'}"
        return
    import psycopg

    name = f"kickbot_smoke_{secrets.token_hex(4)}"
    admin = urlunsplit(urlsplit(server)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def process(argv: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A process in a session of its own, stopped (SIGTERM, then SIGKILL) with its children."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    if result.returncode != 0:
        raise SmokeFailure(
            f"manage.py {' '.join(args)} exited {result.returncode}:\n{result.stdout}{result.stderr}"
        )
    return result.stdout


def production_env(tmp: Path, database_url: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "KICKBOT_", "DATABASE_", "REDIS_", "PYTEST", "KICK_", "DISCORD_"))
    }
    env.update(
        KICKBOT_ENV="production",
        KICKBOT_VAR_DIR=str(tmp / "var"),
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        FIELD_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        DJANGO_ALLOWED_HOSTS=HOST,
        PUBLIC_BASE_URL=f"https://{HOST}",
        DATABASE_URL=database_url,
        REDIS_KEY_PREFIX=f"kbsmoke{secrets.token_hex(3)}",
        KICK_CHANNEL=COMMUNITY,
    )
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    return env


def wait_until_serving(base: str, web: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_DEADLINE_S
    while time.monotonic() < deadline:
        if web.poll() is not None:
            raise SmokeFailure(f"web exited {web.returncode} at start:\n{log.read_text()[-4000:]}")
        try:
            httpx.get(f"{base}/healthz", headers={"Host": HOST}, timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SmokeFailure(f"web did not answer within {STARTUP_DEADLINE_S} s:\n{log.read_text()[-4000:]}")


def check_pages(base: str, pages: list[str]) -> list[str]:
    """Every page and every static file it references: 200 and HSTS through the proxy's headers."""
    failures: list[str] = []
    forwarded = {"Host": HOST, "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
    static: set[str] = set()
    with httpx.Client(base_url=base, headers=forwarded, timeout=30) as client:
        for url in [*pages, None]:
            if url is None:  # after the pages: the static files they reference
                for ref in sorted(static):
                    response = client.get(ref)
                    say(f"{response.status_code} {ref}")
                    if response.status_code != 200:
                        failures.append(f"{ref}: {response.status_code}")
                break
            response = client.get(url)
            hsts = response.headers.get("strict-transport-security", "")
            say(f"{response.status_code} {url} (HSTS: {hsts or 'missing'})")
            if response.status_code != 200:
                failures.append(f"{url}: {response.status_code} {response.text[:300]}")
            elif "max-age=" not in hsts:
                failures.append(f"{url}: no Strict-Transport-Security header")
            if "html" in response.headers.get("content-type", ""):
                static.update(STATIC_REF.findall(response.text))
        if not static:
            failures.append("no page referenced a static file")
        # Plain HTTP (no proxy header) is sent to HTTPS; the container health check is exempt (below).
        plain = httpx.get(f"{base}/terms/", headers={"Host": HOST}, timeout=30)
        if plain.status_code != 301 or not plain.headers.get("location", "").startswith("https://"):
            failures.append(f"plain http /terms/: {plain.status_code}, expected a redirect to https")
    return failures


def smoke(stack: ExitStack) -> list[str]:
    tmp = Path(tempfile.mkdtemp(prefix="kickbot-prod-smoke-"))
    stack.callback(shutil.rmtree, tmp, ignore_errors=True)
    database_url = stack.enter_context(scratch_database(tmp))
    env = production_env(tmp, database_url)
    say(
        f"database {urlsplit(database_url).scheme}, redis {'REDIS_URL' if 'REDIS_URL' in env else 'embedded'}"
    )
    say("collectstatic")
    manage(env, "collectstatic", "--noinput", "-v", "0")
    if "REDIS_URL" not in env:
        stack.enter_context(process([sys.executable, "manage.py", "embedded_redis"], env, tmp / "redis.log"))
        manage(env, "wait_redis")
    else:
        stack.callback(forget_redis_keys, env)
    say("check --deploy")
    manage(env, "check", "--deploy", "--fail-level", "WARNING")
    say("migrate")
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "bootstrap")
    period_id = manage(
        env,
        "shell",
        "-c",
        "from datetime import timedelta\n"
        "from django.utils import timezone\n"
        "from kickbot.models import Community\n"
        "from raffle.services.periods import period_open\n"
        "now = timezone.now()\n"
        f"c = Community.objects.get(kick_channel_slug={COMMUNITY!r})\n"
        "print(period_open(community=c, starts_at=now, ends_at=now + timedelta(days=30), "
        "actor_label='prod-smoke').pk)",
    ).split()[-1]
    port = free_port()
    argv = image_command()
    argv[argv.index("-b") + 1] = "127.0.0.1"
    argv[argv.index("-p") + 1] = str(port)
    say(" ".join(argv))
    log = tmp / "web.log"
    web = stack.enter_context(process([str(Path(sys.executable).parent / argv[0]), *argv[1:]], env, log))
    base = f"http://127.0.0.1:{port}"
    wait_until_serving(base, web, log)
    pages = [
        "/healthz",
        "/terms/",
        "/privacy/",
        f"/leaderboard/{COMMUNITY}/",
        f"/raffle/{period_id}/",
        f"/raffle/{period_id}/proof.json",
        "/raffle/verify_draw.py",
        "/dashboard/login/",
        "/admin/login/",
    ]
    failures = check_pages(base, pages)
    # The image's HEALTHCHECK (and compose's): plain HTTP, a Host the site accepts.
    health = subprocess.run(
        [sys.executable, "-m", "kickbot.healthcheck", f"{base}/healthz"], cwd=ROOT, env=env, timeout=30
    )
    if health.returncode != 0:
        failures.append(f"python -m kickbot.healthcheck exited {health.returncode}")
    if failures:
        say(f"web log:\n{log.read_text()[-4000:]}")
    return failures


def forget_redis_keys(env: dict[str, str]) -> None:
    import redis

    client = redis.Redis.from_url(env["REDIS_URL"])
    keys = list(client.scan_iter(match=f"{env['REDIS_KEY_PREFIX']}*", count=1000))
    if keys:
        client.delete(*keys)


def main() -> int:
    try:
        with ExitStack() as stack:
            failures = smoke(stack)
    except SmokeFailure as exc:
        failures = [str(exc)]
    except Exception as exc:  # anything unexpected is a failed smoke, said as such (cleanup ran)
        failures = [f"{type(exc).__name__}: {exc}"]
    for failure in failures:
        say(f"FAIL {failure}")
    say("failed" if failures else "ok")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
