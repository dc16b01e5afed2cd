"""The real daemon under process-level faults, counted in copies a real relay received.

Each test runs `python -m mailbot run` as its own process against an aiosmtpd relay on
127.0.0.1: two daemons started at once on one configuration; the daemon killed (SIGKILL) the
moment the relay has a message, before its 250 can be recorded; SIGTERM while a slow relay
sits on a message. Waits are bounded loops on what the daemon wrote, never on the clock.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from mailbot.cli import main
from mailbot.demo.formwriter import render_form
from mailbot.demo.sample_mail import compose, docx_attachment
from mailbot.demo.samples import sample_form
from mailbot.dispatch.send.base import DEADLINE_FACTOR
from mailbot.ingest.maildir import MaildirMailbox
from mailbot.models import Folder
from tests.conftest import ROOT
from tests.integration.relay import Relay, RunningRelay, running_relay
from tests.integration.test_send_faults import smtp_config

POLICE = "pc.adams@west-midlands.pnn.police.uk"
WAIT_SECONDS = 90  # bound of every wait below (a shared, noisy machine)
EXIT_LOCKED = 2


class Daemon:
    """`mailbot run` as a separate process, its stderr collected line by line."""

    def __init__(self, config: Path, *args: str) -> None:
        self.lines: list[str] = []
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        env.pop("NOTIFY_SOCKET", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mailbot", "--config", str(config), "run", *args],
            env=env,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)

    def output(self) -> list[str]:
        """Every stderr line, once the process has ended."""
        self._reader.join(timeout=WAIT_SECONDS)
        return self.lines

    def wait_for_line(self, text: str) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while not any(text in line for line in self.lines):
            assert self.process.poll() is None or any(text in x for x in self.lines), (
                f"exited {self.process.returncode} without {text!r}: {self.lines}"
            )
            assert time.monotonic() < deadline, f"no {text!r} in {self.lines}"
            time.sleep(0.02)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=WAIT_SECONDS)


@pytest.fixture
def relay() -> Iterator[RunningRelay]:
    with running_relay(Relay()) as running:
        yield running


def deliver(workspace: Path, count: int) -> list[str]:
    """`count` good referrals in the Inbox; their Message-IDs."""
    inbox = MaildirMailbox(workspace / "var" / "mail", use_inotify=False)
    today = datetime.now(UTC).date()
    ids = []
    for n in range(count):
        form = sample_form(random.Random(700 + n), referral_date=today)
        message_id = f"<faults-{n}@example.pnn.police.uk>"
        inbox.deliver(
            Folder.INBOX,
            compose(
                sender=POLICE,
                to="marac_referrals@west-midlands.pnn.police.uk",
                subject="MARAC referral",
                message_id=message_id,
                attachments=[docx_attachment("r.docx", render_form(form))],
                sent_at=datetime.now(UTC),
            ),
        )
        ids.append(message_id)
    return ids


def query(workspace: Path, sql: str) -> list[tuple[object, ...]]:
    """A read of the daemon's database, from outside (read-only)."""
    path = workspace / "var" / "mailbot.sqlite3"
    if not path.exists():
        return []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return list(db.execute(sql))
    except sqlite3.OperationalError:  # not made yet
        return []
    finally:
        db.close()


def wait_until(workspace: Path, sql: str, expected: object) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        rows = query(workspace, sql)
        if rows and rows[0][0] == expected:
            return
        assert time.monotonic() < deadline, f"{sql} never gave {expected}: {rows}"
        time.sleep(0.05)


def cli(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--config", str(config), *args])
    return result.exit_code, result.output


ALL_SENT = (
    "SELECT COUNT(*) = (SELECT COUNT(*) FROM outbox) AND COUNT(*) > 0 FROM outbox"
    " WHERE state = 'sent'"
)


def test_two_daemons_started_at_once_one_runs_and_the_other_says_who(
    workspace: Path, relay: RunningRelay
) -> None:
    """GIVEN two referrals waiting and two `mailbot run` started at the same moment on one
    configuration
    WHEN both come up
    THEN one runs, the other exits 2 with one line naming the first's pid; `run --once` is
    refused the same way while read-only commands still work; each referral is one case and
    the relay receives each outgoing message exactly once."""
    config = smtp_config(workspace, relay.port, timeout=10)
    referrals = deliver(workspace, 2)
    first, second = Daemon(config), Daemon(config)
    deadline = time.monotonic() + WAIT_SECONDS
    while first.process.poll() is None and second.process.poll() is None:
        assert time.monotonic() < deadline, "neither daemon was refused"
        time.sleep(0.02)
    refused, running = (first, second) if first.process.poll() is not None else (second, first)
    assert refused.process.wait(timeout=WAIT_SECONDS) == EXIT_LOCKED
    [line] = refused.output()
    assert line.startswith("mailbot: another mailbot is already running on")
    assert f"pid {running.process.pid}, `mailbot run`" in line
    wait_until(workspace, "SELECT COUNT(*) FROM cases", len(referrals))
    wait_until(workspace, ALL_SENT, 1)
    code, output = cli(config, "run", "--once")
    assert code == EXIT_LOCKED
    assert f"pid {running.process.pid}" in output
    assert output.count("\n") == 1
    for command in (["cases", "list", "--json"], ["outbox", "list"], ["queue", "list"]):
        code, output = cli(config, *command)
        assert code == 0, output
    code, output = cli(config, "status")
    assert code in (0, 1)
    assert f"running (pid {running.process.pid}" in output
    assert running.stop() == 0
    cases = query(workspace, "SELECT message_id FROM cases")
    assert sorted(str(c[0]) for c in cases) == sorted(referrals)
    sent = [str(r[0]) for r in query(workspace, "SELECT message_id FROM outbox")]
    assert relay.relay.by_message_id() == dict.fromkeys(sent, 1)


def test_a_daemon_killed_after_the_relay_took_a_message_resends_only_that_one(
    workspace: Path, relay: RunningRelay
) -> None:
    """GIVEN a referral whose decision enqueues several messages, and a daemon killed
    (SIGKILL) the moment the relay has the first, before the relay's 250 can be recorded
    WHEN the daemon is started again
    THEN that message goes once more with the same Message-ID (two copies: the window of
    kill -9), every other exactly once, and all end 'sent'."""
    config = smtp_config(workspace, relay.port, timeout=10)
    deliver(workspace, 1)
    victims: list[Daemon] = []

    def kill_the_daemon(_: bytes) -> None:
        if len(relay.relay.queued) == 1:
            victims[0].process.send_signal(signal.SIGKILL)
            victims[0].process.wait(timeout=WAIT_SECONDS)

    relay.relay.on_queued = kill_the_daemon
    victims.append(Daemon(config))
    assert victims[0].process.wait(timeout=WAIT_SECONDS) == -signal.SIGKILL
    [(claimed,)] = query(workspace, "SELECT COUNT(*) FROM outbox WHERE state = 'sending'")
    assert claimed == 1
    relay.relay.on_queued = None
    restarted = Daemon(config)
    wait_until(workspace, ALL_SENT, 1)
    assert restarted.stop() == 0
    rows = query(workspace, "SELECT message_id, doubts FROM outbox ORDER BY id")
    copies = relay.relay.by_message_id()
    assert sorted(copies.values()) == [1] * (len(rows) - 1) + [2]
    assert {str(mid): copies[str(mid)] for mid, _ in rows} == {
        str(mid): 1 + int(str(doubts)) for mid, doubts in rows
    }


def test_sigterm_while_a_slow_relay_sits_on_a_message_stops_within_the_deadline(
    workspace: Path, relay: RunningRelay
) -> None:
    """GIVEN a relay that takes every message and never answers, and the daemon sending to
    it with a 2 s reply timeout
    WHEN SIGTERM arrives while the first message is with the relay
    THEN the daemon gives up that send at its deadline, sends nothing more, and exits 0
    (within systemd's stop timeout); the relay holds exactly one copy, recorded as a
    doubt to resend once after the restart."""
    timeout = 2.0
    relay.relay.default = "slow"
    config = smtp_config(workspace, relay.port, timeout=timeout)
    deliver(workspace, 1)
    daemon = Daemon(config)
    deadline = time.monotonic() + WAIT_SECONDS
    while not relay.relay.queued:
        assert daemon.process.poll() is None, daemon.lines
        assert time.monotonic() < deadline, "the relay never got a message"
        time.sleep(0.02)
    daemon.process.send_signal(signal.SIGTERM)
    assert daemon.process.wait(timeout=WAIT_SECONDS) == 0
    assert relay.relay.copies() == 1
    rows = query(workspace, "SELECT state, doubts FROM outbox ORDER BY id")
    assert ("pending", 1) in rows
    assert len([r for r in rows if r[1] == 0 and r[0] == "pending"]) == len(rows) - 1
    assert timeout * DEADLINE_FACTOR < 90  # what the unit's TimeoutStopSec must cover
