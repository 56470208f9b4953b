"""The deployment files agree with each other (no Docker engine here to run them)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def procfile(name: str = "Procfile") -> dict[str, str]:
    entries = {}
    for line in (ROOT / name).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, command = line.partition(":")
            entries[key.strip()] = command.strip()
    return entries


def normalise(command: str) -> str:
    return re.sub(r"\$\{[A-Z_]+:-([^}]+)\}", r"\1", command)


def test_procfile_has_every_process() -> None:
    assert set(procfile()) == {"release", "web", "bot", "worker", "beat"}


def test_compose_parses_and_runs_the_procfile_commands() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "web", "bot", "worker", "beat"} <= set(services)
    proc = procfile()
    for name in ("web", "bot", "worker", "beat"):
        assert normalise(services[name]["command"]) == normalise(proc[name]), name
    assert services["migrate"]["command"] == proc["release"]
    assert "healthcheck" in services["postgres"] and "healthcheck" in services["redis"]
    assert "test" in services["web"]["healthcheck"]
    assert services["web"]["environment"]["KICKBOT_ENV"] == "production"


def test_dev_procfile_runs_the_same_programs() -> None:
    dev = procfile("Procfile.dev")
    assert set(dev) == {"redis", "web", "bot", "worker", "beat"}
    for name in ("bot", "worker", "beat"):
        assert procfile()[name].split("${")[0].split(" --concurrency")[0] in dev[name]


def test_dockerfile_runs_as_non_root_and_collects_static() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "USER kickbot" in text
    assert "collectstatic" in text
    assert "HEALTHCHECK" in text


def test_env_example_lists_every_setting_the_readme_documents() -> None:
    example = (ROOT / ".env.example").read_text()
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z_]+)`", readme, flags=re.M))
    assert documented, "README has a configuration table"
    missing = sorted(name for name in documented if name not in example)
    assert not missing, missing


def dockerfile_cmd() -> list[str]:
    import json

    [line] = [line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("CMD ")]
    return list(json.loads(line.removeprefix("CMD ")))


def test_daphne_reads_proxy_headers_everywhere_it_runs_in_production() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert "--proxy-headers" in dockerfile_cmd()
    assert "--proxy-headers" in procfile()["web"].split()
    assert "--proxy-headers" in compose["services"]["web"]["command"].split()
    assert "--proxy-headers" not in procfile("Procfile.dev")["web"]  # no proxy in front locally


def test_only_caddy_is_published_and_web_is_reached_through_it() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"caddy"}
    assert services["caddy"]["ports"][:2] == ["80:80", "443:443"]
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in services["caddy"]["volumes"]
    assert services["caddy"]["depends_on"]["web"]["condition"] == "service_healthy"


def test_caddyfile_limits_match_the_web_process() -> None:
    from django.conf import settings

    from kickbot.edge import WEBHOOK_BODY_MAX_BYTES

    caddyfile = (ROOT / "Caddyfile").read_text()
    sizes = [
        int(n) * 1024 ** {"KiB": 1, "MiB": 2}[unit]
        for n, unit in re.findall(r"max_size (\d+)(KiB|MiB)", caddyfile)
    ]
    assert sizes == [settings.REQUEST_BODY_MAX_BYTES, WEBHOOK_BODY_MAX_BYTES]
    assert "reverse_proxy {$KICKBOT_UPSTREAM:web:8000}" in caddyfile


def test_health_checks_send_a_host_the_site_accepts() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert services["web"]["healthcheck"]["test"] == ["CMD", "python", "-m", "kickbot.healthcheck"]
    assert 'CMD ["python", "-m", "kickbot.healthcheck"]' in (ROOT / "Dockerfile").read_text()


@pytest.mark.parametrize(
    ("allowed", "host"),
    [
        ("bot.example.com,other.example", "bot.example.com"),
        (".example.com", "example.com"),
        ("*", "localhost"),
    ],
)
def test_the_health_check_host_is_one_the_site_accepts(
    monkeypatch: pytest.MonkeyPatch, allowed: str, host: str
) -> None:
    from kickbot.healthcheck import accepted_host

    monkeypatch.setenv("DJANGO_ALLOWED_HOSTS", allowed)
    assert accepted_host() == host
