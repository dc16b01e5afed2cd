"""Sending under the faults an operator meets, counted in copies a real relay received.

Each test runs mailbot's outbox against an aiosmtpd relay on 127.0.0.1 whose behaviour the
test sets (slow, 4xx, 5xx, hanging up) and a real SQLite file that the test makes locked,
read-only (the immutable attribute, which binds root too) or full (a small tmpfs), just after
the relay accepted a message. The promise under test: a fault never multiplies copies. Where
the result can be written there is exactly one copy; where the relay took a message and
never answered, one resend at most, with the same Message-ID, and then a person decides;
and `status` says which. Passes are driven by hand with a fixed clock moved on between them,
so nothing here depends on how fast the machine is.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from mailbot.app import App, open_app
from mailbot.dispatch.compose import Planned
from mailbot.dispatch.outbox import OutboxMessage
from mailbot.service.health import check_health
from tests.conftest import FixedClock
from tests.integration.relay import Relay, RunningRelay, running_relay
from tests.integration.smtp_server import free_port

IDVA = "idva@havenwolverhampton.cjsm.net"
POLICE = "pc.adams@west-midlands.pnn.police.uk"
TEAM = "marac_team@west-midlands.pnn.police.uk"
CLIENT_TIMEOUT = 1.0  # seconds the sender waits for each reply
PASSES = 6  # bounded: each test's loop of passes


@pytest.fixture
def relay() -> Iterator[RunningRelay]:
    with running_relay(Relay()) as running:
        yield running


def smtp_config(workspace: Path, port: int, timeout: float = CLIENT_TIMEOUT) -> Path:
    """The example configuration, sending through 127.0.0.1:`port` with `timeout`."""
    path = workspace / "mailbot.toml"
    text = path.read_text()
    sender = text.index("[sender]")
    head, tail = text[:sender], text[sender:]
    tail = (
        tail.replace('kind = "maildir"', 'kind = "smtp"', 1)
        .replace('host = "localhost"', 'host = "127.0.0.1"', 1)
        .replace("port = 587", f"port = {port}", 1)
        .replace("starttls = true", "starttls = false", 1)
    )
    tail = tail.replace("timeout_seconds = 30.0", f"timeout_seconds = {timeout}", 1)
    path.write_text(head + tail)
    return path


def open_smtp_app(workspace: Path, port: int) -> App:
    return open_app(smtp_config(workspace, port), FixedClock())


def enqueue(app: App, *recipients: str) -> list[int]:
    """One IDVA alert per recipient, as a decision would enqueue it; their outbox ids."""
    outbox = app.ctx.dispatch.outbox
    ids = []
    with app.store.transaction() as conn:
        for n, recipient in enumerate(recipients, start=1):
            planned = Planned(
                kind="idva_alert",
                recipient=recipient,
                subject=f"MARAC-2026-0000{n}: new case",
                body="A case was listed; see the secure portal.",
            )
            outbox.enqueue(conn, planned, f"MARAC-2026-0000{n}", app.ctx.clock.now())
            ids.append(int(conn.execute("SELECT MAX(id) FROM outbox").fetchone()[0]))
    return ids


def send_pass(app: App, minutes: float = 0) -> int:
    """Move the clock on by `minutes`, then one sending pass; the number sent."""
    clock = app.ctx.clock
    assert isinstance(clock, FixedClock)
    clock.current += timedelta(minutes=minutes)
    return app.dispatcher().deliver_due(clock.now())


def row(app: App, row_id: int) -> OutboxMessage:
    found = app.ctx.dispatch.outbox.get(row_id)
    assert found is not None
    return found


def message_id(app: App, row_id: int) -> str:
    return row(app, row_id).message_id


def problems(app: App, minutes: float = 0) -> str:
    clock = app.ctx.clock
    assert isinstance(clock, FixedClock)
    health = check_health(app.config, app.store, clock.now() + timedelta(minutes=minutes))
    return "\n".join(health.problems)


def test_a_relay_that_answers_after_the_timeout_gets_one_resend_at_most(
    workspace: Path, relay: RunningRelay
) -> None:
    """GIVEN a relay that queues each IDVA alert but answers only after the client gave up
    WHEN the daemon's passes go on for hours
    THEN the relay holds exactly two copies with the same Message-ID (one resend), the alert
    is 'unknown', not failed nor resent again, the team is told, and status says so."""
    relay.relay.behave(IDVA, then="slow")
    app = open_smtp_app(workspace, relay.port)
    [alert] = enqueue(app, IDVA)
    for _ in range(PASSES):
        send_pass(app, minutes=30)
    assert relay.relay.copies(message_id(app, alert)) == 2
    assert (row(app, alert).state, row(app, alert).doubts) == ("unknown", 2)
    [notice] = app.ctx.dispatch.outbox.messages(state="sent")
    assert (notice.kind, notice.recipient) == ("team_notice", TEAM)
    assert relay.relay.copies(notice.message_id) == 1
    assert "1 outgoing message(s) may not have arrived" in problems(app)
    app.close()


def test_a_relay_that_hangs_up_after_the_message_gets_one_resend_at_most(
    workspace: Path, relay: RunningRelay
) -> None:
    """GIVEN a relay that queues the message and hangs up without answering, twice, and
    would accept the third
    WHEN the passes go on
    THEN it holds two copies (same Message-ID): the second doubt waits for a person."""
    relay.relay.behave(IDVA, "drop", "drop", then="accept")
    app = open_smtp_app(workspace, relay.port)
    [alert] = enqueue(app, IDVA)
    for _ in range(PASSES):
        send_pass(app, minutes=30)
    assert relay.relay.copies(message_id(app, alert)) == 2
    assert row(app, alert).state == "unknown"
    app.close()


@pytest.mark.parametrize("fault", ["defer", "drop_early"])
def test_a_relay_that_refuses_for_now_gets_exactly_one_copy(
    workspace: Path, relay: RunningRelay, fault: str
) -> None:
    """GIVEN a relay that answers 451 to the whole message (or hangs up before it), twice
    WHEN the passes go on
    THEN the message is retried and the relay holds exactly one copy, marked sent, with
    every attempt counted."""
    relay.relay.behave(IDVA, fault, fault, then="accept")
    app = open_smtp_app(workspace, relay.port)
    [alert] = enqueue(app, IDVA)
    for _ in range(PASSES):
        send_pass(app, minutes=5)
    assert relay.relay.copies() == 1
    assert relay.relay.copies(message_id(app, alert)) == 1
    assert (row(app, alert).state, row(app, alert).attempts) == ("sent", 3)
    assert "outgoing" not in problems(app)
    app.close()


def test_a_relay_that_refuses_for_good_gets_no_copy_and_the_team_is_told(
    workspace: Path, relay: RunningRelay
) -> None:
    """GIVEN a relay that answers 550 for the IDVA service
    WHEN the passes go on
    THEN the alert is failed after one attempt, never retried, the team is told, and the
    failure stays in status until a person acts."""
    relay.relay.behave(IDVA, then="refuse")
    app = open_smtp_app(workspace, relay.port)
    [alert] = enqueue(app, IDVA)
    for _ in range(PASSES):
        send_pass(app, minutes=30)
    assert relay.relay.copies(message_id(app, alert)) == 0
    assert (row(app, alert).state, row(app, alert).attempts) == ("failed", 1)
    assert "550" in str(row(app, alert).last_error)
    assert relay.relay.copies() == 1  # the notice to the team
    assert "1 outgoing message(s) failed" in problems(app)
    app.close()


def test_an_hour_long_outage_fails_nothing(workspace: Path) -> None:
    """GIVEN a relay that is down for an hour and ten minutes, with two alerts waiting
    WHEN the daemon passes every few minutes, then the relay returns
    THEN nothing is failed, the team is told once that mail is waiting (and status says
    so meanwhile), and each alert arrives exactly once."""
    port = free_port()
    app = open_smtp_app(workspace, port)
    alerts = enqueue(app, IDVA, POLICE)
    for _ in range(14):
        send_pass(app, minutes=5)
    assert {row(app, a).state for a in alerts} == {"pending"}
    assert "the oldest unsent message has waited 70 minute(s)" in problems(app)
    with running_relay(Relay(), port) as relay:
        for _ in range(PASSES):
            send_pass(app, minutes=30)
        assert {row(app, a).state for a in alerts} == {"sent"}
        for alert in alerts:
            assert relay.relay.copies(message_id(app, alert)) == 1
        assert app.ctx.dispatch is not None
        notices = [r for r in app.ctx.dispatch.outbox.messages() if r.kind == "team_notice"]
        assert len(notices) == 1
        assert relay.relay.copies(notices[0].message_id) == 1
    assert "unsent" not in problems(app)
    app.close()


# -- the relay said 250, then the database refused the mark ---------------------------------

Fault = Callable[[App], tuple[Callable[[], None], Callable[[], None]]]


def _locked(app: App) -> tuple[Callable[[], None], Callable[[], None]]:
    """Another process's transaction holds the write lock (as a long import would)."""
    app.store.conn.execute("PRAGMA busy_timeout=50")
    holder: list[sqlite3.Connection] = []

    def start() -> None:
        conn = sqlite3.connect(app.store.path, isolation_level=None, check_same_thread=False)
        conn.execute("BEGIN IMMEDIATE")
        holder.append(conn)

    def end() -> None:
        for conn in holder:
            conn.execute("ROLLBACK")
            conn.close()

    return start, end


def _read_only(app: App) -> tuple[Callable[[], None], Callable[[], None]]:
    """The database file and its journal made immutable: no process, root included, may
    write them."""
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed: cannot make the database read-only for root")
    files = [app.store.path, app.store.path.with_name(app.store.path.name + "-wal")]
    probe = app.store.path.parent / "probe"
    probe.write_text("")
    if subprocess.run(["chattr", "+i", str(probe)], capture_output=True).returncode != 0:
        pytest.skip("this file system has no immutable attribute (chattr +i refused)")
    subprocess.run(["chattr", "-i", str(probe)], check=True)

    def start() -> None:
        subprocess.run(["chattr", "+i", *map(str, files)], check=True)

    def end() -> None:
        subprocess.run(["chattr", "-i", *map(str, files)], check=True)

    return start, end


def _full(app: App) -> tuple[Callable[[], None], Callable[[], None]]:
    """The state directory's disk (a small tmpfs) filled to the last byte."""
    ballast = app.config.service.state_dir / "ballast"

    def start() -> None:
        fd = os.open(ballast, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            for size in (1 << 20, 1 << 12, 1):
                try:
                    while True:
                        os.write(fd, b"\0" * size)
                except OSError:
                    continue
        finally:
            os.close(fd)

    def end() -> None:
        ballast.unlink()

    return start, end


@pytest.fixture
def tmpfs_state(workspace: Path) -> Iterator[Path]:
    """A 32 MB tmpfs as the state directory, or a skip saying why there is none."""
    state = workspace / "var"
    state.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=32m,mode=0700", "tmpfs", str(state)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs to fill (needs root): {result.stderr.strip()}")
    try:
        yield state
    finally:
        subprocess.run(["umount", "-l", str(state)], check=False)


@pytest.mark.parametrize("name", ["locked", "read_only", "full"])
def test_a_sent_mark_that_cannot_be_written_stops_sending_and_sends_no_copy(
    workspace: Path, relay: RunningRelay, name: str, request: pytest.FixtureRequest
) -> None:
    """GIVEN two alerts waiting, and a database that becomes locked, read-only or full just
    after the relay accepted the first
    WHEN the daemon's passes go on while the fault lasts, then after it is cleared
    THEN the first alert is never sent again (one copy), nothing else is sent while the
    result cannot be written, status names the database and the unrecorded send, and once
    the database is writable the result is recorded and the second alert goes, once."""
    if name == "full":
        request.getfixturevalue("tmpfs_state")
    app = open_smtp_app(workspace, relay.port)
    fault: Fault = {"locked": _locked, "read_only": _read_only, "full": _full}[name]
    start, end = fault(app)
    first, second = enqueue(app, IDVA, POLICE)
    queued = {"n": 0}

    def break_the_database(_: bytes) -> None:
        queued["n"] += 1
        if queued["n"] == 1:
            start()

    relay.relay.on_queued = break_the_database
    try:
        for _ in range(PASSES):
            send_pass(app, minutes=5)
        assert relay.relay.copies(message_id(app, first)) == 1
        assert relay.relay.copies(message_id(app, second)) == 0
        assert row(app, first).state == "sending"
        found = problems(app)
        assert "the database cannot be written" in found
        assert "1 outgoing message(s) were handed to the mail server" in found
        assert "not yet recorded" in str(app.send_state.blocked)
    finally:
        end()
    for _ in range(PASSES):
        send_pass(app, minutes=5)
    assert relay.relay.copies(message_id(app, first)) == 1
    assert relay.relay.copies(message_id(app, second)) == 1
    assert (row(app, first).state, row(app, second).state) == ("sent", "sent")
    assert (row(app, first).attempts, row(app, first).doubts) == (1, 0)
    assert "database" not in problems(app)
    app.close()


def test_a_claim_that_cannot_be_written_sends_nothing(workspace: Path, relay: RunningRelay) -> None:
    """GIVEN an alert waiting and the database locked by another process before any send
    WHEN the passes go on while the lock is held, then after
    THEN nothing reaches the relay while it is held (no claim, no send), then one copy."""
    app = open_smtp_app(workspace, relay.port)
    [alert] = enqueue(app, IDVA)
    start, end = _locked(app)
    start()
    try:
        for _ in range(3):
            assert send_pass(app, minutes=10) == 0
        assert relay.relay.attempts == 0
        assert row(app, alert).attempts == 0
    finally:
        end()
    send_pass(app, minutes=10)
    assert relay.relay.copies(message_id(app, alert)) == 1
    app.close()


def test_a_clock_that_jumped_to_2099_and_back_leaves_nothing_waiting(
    workspace: Path, relay: RunningRelay
) -> None:
    """GIVEN a relay that defers once, while the clock reads 2099, so the retry is written
    for 2099
    WHEN the clock comes back to now and a new process takes over
    THEN the alert is due at once (not in 2099) and the relay gets exactly one copy; and a
    last poll recorded in 2099 is named by status."""
    relay.relay.behave(IDVA, "defer", then="accept")
    app = open_smtp_app(workspace, relay.port)
    [alert] = enqueue(app, IDVA)
    clock = app.ctx.clock
    assert isinstance(clock, FixedClock)
    back = clock.current
    clock.current = back.replace(year=2099)
    send_pass(app)
    assert str(row(app, alert).next_attempt_at).startswith("2099")
    app.store.state_set("last_poll", clock.current.isoformat())
    app.close()
    restarted = open_smtp_app(workspace, relay.port)
    assert isinstance(restarted.ctx.clock, FixedClock)
    restarted.ctx.clock.current = back
    send_pass(restarted)
    assert row(restarted, alert).state == "sent"
    assert relay.relay.copies(message_id(restarted, alert)) == 1
    assert "in the future: the clock jumped back" in problems(restarted)
    restarted.close()


def test_a_wall_clock_jump_forward_does_not_hurry_retries(
    workspace: Path, relay: RunningRelay
) -> None:
    """GIVEN a relay that defers every message, and a process whose monotonic clock does
    not move while the wall clock jumps forward by years
    WHEN passes run
    THEN the deferred alert is not tried again on each pass (its delay is measured on the
    monotonic clock): one attempt, not one per pass."""
    relay.relay.behave(IDVA, then="defer")
    app = open_smtp_app(workspace, relay.port)
    app.ctx.clock.monotonic = lambda: 1000.0  # type: ignore[attr-defined]
    [alert] = enqueue(app, IDVA)
    send_pass(app)
    for years in range(1, 4):
        send_pass(app, minutes=years * 365 * 24 * 60)
    assert row(app, alert).attempts == 1
    assert row(app, alert).state == "pending"
    app.close()
