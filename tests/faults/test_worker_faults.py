"""The Celery worker killed mid-task, and Postgres connections cut under load.

kill -9 of the worker in the middle of a watchtime tick and of the monthly rollover: the worker is
the real ``celery worker`` (prefork, one pool process) on the deployment's Redis broker; tasks are
queued through that broker as beat would queue them. The whole worker (main process and pool) is
killed with SIGKILL while its task's write transaction is open, then a new worker is started. With
``acks_late`` the killed task's message was never acknowledged: the broker hands it out again once
its visibility timeout has passed (10 s here, see ``celery_app.py``), and the new worker runs it.
The database is then checked against what one complete run must produce.

``pg_terminate_backend`` under load: web (daphne), worker and bot on a throwaway Postgres database
while every connection to it is ended every 0.7 s for 25 s; nothing restarts them.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.fakes.kick_chat import chat_frame, chat_webhook
from tests.faults.harness import (
    RESULTS,
    PgTerminator,
    Row,
    RssSampler,
    WebhookSigner,
    World,
    http_ok,
    kill9_group,
    wait_for,
)
from tests.faults.test_bot_faults import gift_webhook

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=False, databases=[])]

VISIBILITY_S = 10
TICK_S = 60  # WATCH_INTERVAL_SECONDS: one minute per tick
N_ACTIVE, N_IDLE = 200_000, 5_000
N_RAFFLE, MINUTES, MORE = 100_000, 125, 5
ROLLOVER_KILL_AFTER_S = 1.0


def _world(world: World, fn: str, *args: Any) -> Any:
    return world.shell(f"import tests.faults.world as w; w.{fn}{args!r}")


def _kill_while_writing(world: World, proc: Any, table: str, *, after_s: float, within_s: float) -> float:
    """SIGKILL the worker's group once one write transaction on ``table`` has stayed open ``after_s``.

    Returns how long that transaction had been open. A shorter one is not the write we mean (the
    task may write briefly before its long transaction; SQLite also takes its lock for a moment to
    recover or checkpoint the WAL when a connection opens): it is noted and the wait goes on for
    the next. Fails if none stayed open that long within ``within_s``.
    """
    start = time.monotonic()
    opened: float | None = None
    shorter: list[float] = []
    while time.monotonic() - start < within_s:
        writing = world.writer_in(table)
        now = time.monotonic()
        if writing and opened is None:
            opened = now
        elif not writing and opened is not None:
            shorter.append(round(now - opened, 3))
            opened = None
        if opened is not None and now - opened >= after_s:
            kill9_group(proc)
            if shorter:
                print(
                    f"\nskipped {len(shorter)} shorter write(s) on {table} before the long one: {shorter} s"
                )
            return time.monotonic() - opened
        time.sleep(0.003)
    pytest.fail(
        f"no write transaction on {table} stayed open {after_s} s within {within_s} s (shorter: {shorter})"
    )


def _task_lines(log: str, task_id: str) -> list[str]:
    return [line for line in log.splitlines() if task_id in line]


def _succeeded(world: World, worker: str, task_id: str) -> str | None:
    for line in _task_lines(world.log(worker), task_id):
        if "succeeded in" in line:
            return line
    return None


def _wait_for_bucket_end(last_s: float) -> float:
    """Start of the current tick bucket, once at most ``last_s`` of it remain (waits < TICK_S)."""
    left = TICK_S - time.time() % TICK_S
    if left > last_s:
        time.sleep(left - last_s + 0.2)
    return float(int(time.time() // TICK_S) * TICK_S)


def test_worker_kill_9_mid_watchtime_tick_then_restart_credits_the_bucket_once(world: World) -> None:
    first = world.start_worker("worker1", visibility_timeout=VISIBILITY_S)
    rss = RssSampler(first.pid, tree=True)
    _world(world, "seed_activity", N_ACTIVE, N_IDLE)
    # What beat's bare call queues: the tick stamped with its bucket. Sent in the bucket's last
    # 5 s, so the redelivery (10 s visibility timeout + restart) runs after the bucket has ended.
    bucket = _wait_for_bucket_end(5)
    task_id = world.send_task("watchtime.tasks.watchtime_tick", bucket_ts=bucket)
    open_for = _kill_while_writing(world, first, "watchtime_watchtick", after_s=0.0, within_s=30)
    killed_at = time.monotonic()
    peak = rss.stop()

    # Killed mid-credit: the task was received and never finished, and nothing of it committed.
    assert _task_lines(world.log("worker1"), task_id), "the task never reached the worker"
    assert _succeeded(world, "worker1", task_id) is None
    after_kill = _world(world, "watch_report", N_ACTIVE, N_IDLE)
    assert after_kill["ticks"] == [] and after_kill["total"] == {} and after_kill["monthly"] == {}

    second = world.start_worker("worker2", visibility_timeout=VISIBILITY_S)
    rss = RssSampler(second.pid, tree=True)
    wait_for(lambda: _succeeded(world, "worker2", task_id), VISIBILITY_S + 40, step=0.1)
    recovery = time.monotonic() - killed_at
    assert time.time() >= bucket + TICK_S, "the redelivery should run after its bucket ended"
    peak = max(peak, rss.stop())
    rep = _world(world, "watch_report", N_ACTIVE, N_IDLE)

    # A second run for the same bucket (another replica, a late beat) changes nothing.
    again = _world(world, "credit_again", bucket, 1)
    assert again["credited"] is False
    assert _world(world, "watch_report", N_ACTIVE, N_IDLE) == rep

    once = rep["total"].get("1", 0)
    over = sum(n for m, n in rep["total"].items() if int(m) > 1) + rep["idle_rows"]
    RESULTS.append(
        Row(
            f"worker kill -9 mid watchtime tick ({N_ACTIVE // 1000}k viewers), restart",
            N_ACTIVE,
            once,
            N_ACTIVE - once - sum(n for m, n in rep["total"].items() if int(m) > 1),
            over,
            recovery,
            peak,
        )
    )
    assert rep["ticks"] == [[bucket, N_ACTIVE, 1]], f"killed {open_for:.3f} s into the credit"
    assert rep["total"] == {"1": N_ACTIVE}
    assert rep["monthly"] == {"1": N_ACTIVE}
    assert rep["idle_rows"] == 0


def test_worker_kill_9_mid_rollover_then_restart_rolls_over_once(world: World) -> None:
    seeded = _world(world, "seed_rollover", N_RAFFLE, MINUTES, MORE)
    before = MINUTES * seeded["rate"] // 60
    due = (MINUTES + MORE) * seeded["rate"] // 60  # the final conversion happens at the freeze
    assert seeded["awarded"] == N_RAFFLE * before and due > before
    first = world.start_worker("worker1", visibility_timeout=VISIBILITY_S)
    rss = RssSampler(first.pid, tree=True)
    task_id = world.send_task("raffle.tasks.raffle_rollover")
    # The rollover's one transaction begins by locking the open period (SELECT … FOR UPDATE).
    open_for = _kill_while_writing(
        world, first, "raffle_raffleperiod", after_s=ROLLOVER_KILL_AFTER_S, within_s=60
    )
    killed_at = time.monotonic()
    peak = rss.stop()

    assert _succeeded(world, "worker1", task_id) is None
    after_kill = _world(world, "rollover_report")
    assert [p["status"] for p in after_kill["periods"]] == ["open"]  # the old period, still open
    assert after_kill["runs"] == []
    assert after_kill["watch_tickets"] == {str(before): N_RAFFLE}  # its conversion rolled back too

    second = world.start_worker("worker2", visibility_timeout=VISIBILITY_S)
    rss = RssSampler(second.pid, tree=True)
    done = wait_for(lambda: _succeeded(world, "worker2", task_id), VISIBILITY_S + 60, step=0.1)
    recovery = time.monotonic() - killed_at
    line = _succeeded(world, "worker2", task_id) or ""
    took = float(re.search(r"succeeded in ([0-9.]+)s", line).group(1))  # type: ignore[union-attr]
    assert line.endswith(": 1"), line  # this run did the rollover

    # The next scheduled run (beat, every 5 minutes) finds the month done.
    next_id = world.send_task("raffle.tasks.raffle_rollover")
    wait_for(lambda: _succeeded(world, "worker2", next_id), 60, step=0.1)
    assert (_succeeded(world, "worker2", next_id) or "").endswith(": 0")
    peak = max(peak, rss.stop())
    rep = _world(world, "rollover_report")

    old, new = rep["periods"]
    right = rep["watch_tickets"].get(str(due), 0)
    RESULTS.append(
        Row(
            f"worker kill -9 {open_for:.1f} s into a {took:.1f} s rollover "
            f"({N_RAFFLE // 1000}k viewers), restart",
            N_RAFFLE,
            right,
            sum(n for t, n in rep["watch_tickets"].items() if int(t) < due),
            sum(n for t, n in rep["watch_tickets"].items() if int(t) > due)
            + rep["duplicate_keys"]
            + rep["balance_mismatches"],
            recovery,
            peak,
        )
    )
    assert done and open_for < took, "the kill must land inside the rollover's transaction"
    assert (old["status"], old["entrants_count"]) == ("frozen", N_RAFFLE)
    assert rep["snapshot_ok"] == {str(old["id"]): True}
    assert (new["status"], new["month"], new["starts_at"][:10]) == ("open", rep["runs"][0], rep["runs"][0])
    assert len(rep["runs"]) == 1
    assert rep["duplicate_keys"] == 0
    assert rep["balance_mismatches"] == 0
    assert rep["watch_tickets"] == {str(due): N_RAFFLE}


# --- Postgres connections terminated under load --------------------------------------------------

LOAD_S, TERMINATE_EVERY_S = 25.0, 0.7
CHAT_PER_S, N_CHATTERS, N_SEEDED = 40, 2_000, 500
N_PUSHER_CMDS = N_WEBHOOK_CMDS = 12
N_GIFTS = 20
PAGES = (
    "/healthz",
    "/terms/",
    "/leaderboard/streamer/",
    "/raffle/{period}/",
    "/dashboard/",
    "/dashboard/raffle/",
)
OWNER = ("faults-owner", "faults-owner-password-1")  # world.OWNER


def _login(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=15)
    page = client.get("/dashboard/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, page.text[:500]
    answer = client.post(
        "/dashboard/login/",
        data={"username": OWNER[0], "password": OWNER[1], "csrfmiddlewaretoken": token.group(1)},
    )
    assert answer.status_code == 302, answer.text[:500]
    return client


def _command_webhook(mid: str, sender_id: int) -> bytes:
    return chat_webhook(mid, sender_id, f"w{sender_id}", "!tickets", when=datetime.now(UTC))


class _Load:
    """The traffic of the scenario, each kind in its own thread, until ``stop``."""

    def __init__(self, world: World, base: str, signer: WebhookSigner, period_id: int) -> None:
        self.world, self.base, self.signer = world, base, signer
        self.pages = [p.format(period=period_id) for p in PAGES]
        self.stop = threading.Event()
        self.http: list[tuple[str, str, float]] = []  # path, status (or the error), seconds
        self.webhook_failures = 0  # answers other than 200 (Kick retries those)
        self.webhooks_unsent: list[str] = []
        # Kick's traffic (LOAD_S of chat at CHAT_PER_S, the webhooks spread over LOAD_S) ends by itself;
        # pages and beat's tasks go on until ``stop``.
        self.kick_traffic = [
            threading.Thread(target=self._pusher, daemon=True),
            threading.Thread(target=self._webhooks, daemon=True),
        ]
        self.threads = [
            *self.kick_traffic,
            # Two dashboard users, logged in before the faults begin (a login cut by them is a 500).
            threading.Thread(target=self._browse, args=(_login(base),), daemon=True),
            threading.Thread(target=self._browse, args=(_login(base),), daemon=True),
            threading.Thread(target=self._tasks, daemon=True),
        ]

    def start(self) -> _Load:
        for t in self.threads:
            t.start()
        return self

    def kick_traffic_sent(self) -> bool:
        """Every chat line sent and every webhook answered 200 (or given up on, as Kick would)."""
        return not any(t.is_alive() for t in self.kick_traffic)

    def join(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(90)
        assert not any(t.is_alive() for t in self.threads), "a load thread hung"

    def _pusher(self) -> None:
        frames: list[dict[str, Any]] = []
        every = int(CHAT_PER_S * LOAD_S) // N_PUSHER_CMDS
        for i in range(int(CHAT_PER_S * LOAD_S)):
            if i % every == every // 2 and i // every < N_PUSHER_CMDS:
                c = i // every
                frames.append(chat_frame(f"pcmd-{c}", 700_000 + c, f"pasker{c}", "!tickets"))
            else:
                uid = 600_000 + i % N_CHATTERS
                frames.append(chat_frame(f"chat-{i}", uid, f"viewer{uid}", f"line {i}"))
        self.world.pusher.send_many(frames, per_second=CHAT_PER_S)

    def _deliver(self, client: httpx.Client, event_type: str, mid: str, body: bytes) -> None:
        """Like Kick: retried until answered 200 (within a minute)."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if self.signer.post(client, event_type, mid, body) == 200:
                    return
            except httpx.HTTPError:
                pass
            self.webhook_failures += 1
            time.sleep(0.5)
        self.webhooks_unsent.append(mid)

    def _webhooks(self) -> None:
        deliveries = [
            ("chat.message.sent", f"01JWCMD{c:019d}", _command_webhook(f"wcmd-{c}", 710_000 + c))
            for c in range(N_WEBHOOK_CMDS)
        ] + [gift_webhook(i) for i in range(N_GIFTS)]
        deliveries.sort(key=lambda d: d[1][-4:])  # interleave commands and gifts
        pause = LOAD_S / len(deliveries)
        with httpx.Client(base_url=self.base, timeout=15) as client:
            for event_type, mid, body in deliveries:
                self._deliver(client, event_type, mid, body)
                time.sleep(pause)

    def _browse(self, logged_in: httpx.Client) -> None:
        i = 0
        with contextlib.closing(logged_in) as client:
            while not self.stop.is_set():
                path = self.pages[i % len(self.pages)]
                i += 1
                start = time.monotonic()
                try:
                    status = str(client.get(path).status_code)
                except httpx.TimeoutException:
                    status = "timeout"
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                self.http.append((path, status, time.monotonic() - start))
                time.sleep(0.05)

    def _tasks(self) -> None:
        """What beat would send, faster: ticks (a bucket credits once) and ticket conversions."""
        n = 0
        while not self.stop.wait(1.0):
            self.world.send_task("watchtime.tasks.watchtime_tick")
            if n % 3 == 0:
                self.world.send_task("raffle.tasks.raffle_watchtime_convert")
            n += 1


def test_postgres_connections_cut_under_load_recover_with_nothing_half_written(pg_world: World) -> None:
    world = pg_world
    signer = WebhookSigner()
    seeded = _world(world, "seed_load", [600_000 + i for i in range(N_SEEDED)], 59)  # for conversions
    web, base = world.start_web(
        "web", KICK_WEBHOOK_PUBLIC_KEY=signer.pem, KICK_WEBHOOK_RATE_LIMIT_PER_MINUTE="100000"
    )
    worker = world.start_worker("worker")
    bot = world.start_bot("bot")
    wait_for(lambda: world.pusher.subscribed_connections() == 1, 60)
    samplers = [RssSampler(bot.pid), RssSampler(worker.pid, tree=True), RssSampler(web.pid)]
    before = _world(world, "load_report")
    with contextlib.closing(_login(base)) as client:  # every page answers before the faults
        assert {p: client.get(p.format(period=seeded["period_id"])).status_code for p in PAGES} == {
            p: 200 for p in PAGES
        }

    load = _Load(world, base, signer, seeded["period_id"]).start()
    terminator = PgTerminator(world.extra_env["DATABASE_URL"], every_s=TERMINATE_EVERY_S).start()
    # Connections are cut for as long as Kick's traffic comes in (about LOAD_S; retried webhooks longer).
    wait_for(load.kick_traffic_sent, LOAD_S + 120, step=0.2)
    terminator.stop()
    ended = time.monotonic()
    load.join()

    # Recovery: fresh traffic of every kind is served again without anyone restarting anything.
    world.pusher.send(chat_frame("probe-p", 720_000, "probe", "!tickets"))
    with httpx.Client(base_url=base, timeout=15) as client:
        load._deliver(client, "chat.message.sent", "01JWPROBE", _command_webhook("probe-w", 720_001))

    def served() -> bool:
        answered = {b.get("reply_to_message_id") for b in list(world.kick.fake.chat)}
        return {"probe-p", "probe-w"} <= answered and http_ok(f"{base}/healthz")

    wait_for(served, 90, step=0.2)
    recovery = time.monotonic() - ended
    commands = [f"pcmd-{c}" for c in range(N_PUSHER_CMDS)] + [f"wcmd-{c}" for c in range(N_WEBHOOK_CMDS)]

    def answered() -> bool:
        return set(commands) <= {b.get("reply_to_message_id") for b in list(world.kick.fake.chat)}

    def gifts_in() -> bool:  # a failed delivery is claimed again after 30 s idle
        keys = world.report()["gift_keys"]
        return all(any(k.endswith(f"{i:019d}") for k in keys) for i in range(N_GIFTS))

    with contextlib.suppress(TimeoutError):  # what is missing then is counted as lost below
        wait_for(answered, 90, step=0.5)
        wait_for(gifts_in, 90, step=1.0)
    rep, load_rep = world.report(), _world(world, "load_report")
    peak = max(s.stop() for s in samplers)

    replies = Counter(b.get("reply_to_message_id") for b in world.kick.fake.chat)
    lost = [c for c in commands if replies[c] == 0]
    lost += [str(i) for i in range(N_GIFTS) if not any(k.endswith(f"{i:019d}") for k in rep["gift_keys"])]
    doubled = sum(max(0, n - 1) for n in replies.values()) + len(rep["doubled_gift_keys"])
    statuses = Counter(status for _, status, _ in load.http)
    errors = sum(n for s, n in statuses.items() if not s.isdigit() or int(s) >= 500)
    RESULTS.append(
        Row(
            f"Postgres backends terminated every {TERMINATE_EVERY_S} s for {LOAD_S:.0f} s under load "
            f"({terminator.terminated} killed; {errors}/{len(load.http)} page requests 5xx)",
            len(commands) + N_GIFTS,
            len(commands) + N_GIFTS - len(lost),
            len(lost),
            doubled,
            recovery,
            peak,
        )
    )
    print(f"\nhttp: {dict(statuses)}; webhook retries: {load.webhook_failures}; {load_rep}")
    assert terminator.terminated >= LOAD_S / TERMINATE_EVERY_S, "the connections were not cut"
    assert all(p.poll() is None for p in (web, worker, bot)), "a process died"
    assert load.http, "no page was requested under load"
    assert statuses["timeout"] == 0 and max(t for _, _, t in load.http) < 15  # no hang
    assert set(statuses) <= {"200", "500", "503"}, statuses
    assert not load.webhooks_unsent
    assert (lost, doubled) == ([], 0)
    # Nothing half-written: every tick with all of its minutes, the ledger with its balances.
    assert load_rep["ticks"] >= 1
    credited = load_rep["tick_minutes"] - before["tick_minutes"]
    assert load_rep["total_minutes"] - before["total_minutes"] == credited
    assert load_rep["monthly_minutes"] - before["monthly_minutes"] == credited
    assert (load_rep["duplicate_keys"], load_rep["balance_mismatches"]) == (0, 0)
    assert set(load_rep["outbox"]) == {"sent"}, load_rep["outbox"]  # none left claimed or failed
