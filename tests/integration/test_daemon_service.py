"""The daemon as systemd runs it: READY, STATUS and WATCHDOG on a real notify socket,
SIGHUP reloads, and SIGTERM in the middle of a backlog finishing its work and exiting 0."""

from __future__ import annotations

import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailbot.demo.formwriter import render_form
from mailbot.demo.sample_mail import compose, docx_attachment
from mailbot.demo.samples import sample_form
from mailbot.ingest.maildir import MaildirMailbox
from mailbot.models import Folder
from tests.conftest import ROOT

POLICE = "pc.adams@west-midlands.pnn.police.uk"
BACKLOG = 15


class Daemon:
    """`mailbot run` with this test as its systemd: notify socket, watchdog, log capture."""

    def __init__(self, workspace: Path, notify: Path) -> None:
        self.lines: list[str] = []
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "NOTIFY_SOCKET": str(notify),
            "WATCHDOG_USEC": "800000",
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mailbot", "--config", str(workspace / "mailbot.toml"), "run"],
            env=env,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)

    def wait_for_line(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            assert time.monotonic() < deadline, f"no {text!r} in {self.lines}"
            time.sleep(0.02)


@pytest.fixture
def notify(tmp_path: Path) -> Iterator[tuple[socket.socket, Path]]:
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(30)
    yield sock, path
    sock.close()


def _messages(sock: socket.socket, until: bytes, limit: int = 200) -> list[bytes]:
    seen = []
    for _ in range(limit):
        seen.append(sock.recv(4096))
        if until in seen[-1]:
            return seen
    raise AssertionError(f"no {until!r} in {seen}")


def _deliver(workspace: Path, count: int) -> None:
    inbox = MaildirMailbox(workspace / "var" / "mail", use_inotify=False)
    today = datetime.now(UTC).date()
    for n in range(count):
        form = sample_form(random.Random(900 + n), referral_date=today)
        inbox.deliver(
            Folder.INBOX,
            compose(
                sender=POLICE,
                to="marac_referrals@west-midlands.pnn.police.uk",
                subject="MARAC referral",
                message_id=f"<daemon-{n}@example.pnn.police.uk>",
                attachments=[docx_attachment("r.docx", render_form(form))],
                sent_at=datetime.now(UTC),
            ),
        )


def test_ready_status_watchdog_then_a_clean_stop(
    workspace: Path, notify: tuple[socket.socket, Path]
) -> None:
    """GIVEN the daemon started with a notify socket and WatchdogSec=0.8s
    WHEN it has opened the database and the mailbox, idles, then gets SIGTERM
    THEN it says READY=1 (as its own MAINPID), keeps sending WATCHDOG=1 and STATUS= while it
    waits for mail, says STOPPING=1 and exits 0."""
    sock, path = notify
    daemon = Daemon(workspace, path)
    ready = _messages(sock, b"READY=1")[-1].decode()
    assert f"MAINPID={daemon.process.pid}" in ready
    later = _messages(sock, b"WATCHDOG=1") + _messages(sock, b"WATCHDOG=1")
    assert any(m.startswith(b"STATUS=Waiting for mail") for m in later)
    daemon.process.send_signal(signal.SIGTERM)
    assert b"STOPPING=1" in _messages(sock, b"STOPPING=1")[-1]
    assert daemon.process.wait(timeout=30) == 0
    daemon.wait_for_line("service.stopped")


def test_a_mailbox_that_cannot_open_never_reports_ready(
    workspace: Path, notify: tuple[socket.socket, Path]
) -> None:
    """GIVEN a mailbox path that is a file, not a folder
    WHEN the daemon starts
    THEN it fails with a non-zero exit and never tells systemd it is ready."""
    sock, path = notify
    (workspace / "not-a-folder").write_text("x")
    config = workspace / "mailbot.toml"
    config.write_text(config.read_text().replace('path = "var/mail"', 'path = "not-a-folder"'))
    daemon = Daemon(workspace, path)
    assert daemon.process.wait(timeout=30) != 0
    sock.settimeout(0.5)
    with pytest.raises(TimeoutError):
        sock.recv(4096)


def test_sighup_applies_a_good_configuration_and_refuses_a_bad_one(
    workspace: Path, notify: tuple[socket.socket, Path]
) -> None:
    """GIVEN the daemon running
    WHEN the config file's log level is changed and SIGHUP sent, then a broken file and SIGHUP
    THEN the first reload is applied and reported (RELOADING=1 then READY=1); the second is
    refused with a log line naming the problem, and the daemon keeps running and stops cleanly."""
    sock, path = notify
    config = workspace / "mailbot.toml"
    daemon = Daemon(workspace, path)
    _messages(sock, b"READY=1")
    config.write_text(config.read_text().replace('log_level = "info"', 'log_level = "debug"'))
    daemon.process.send_signal(signal.SIGHUP)
    reload = _messages(sock, b"Configuration reloaded")
    assert any(m.startswith(b"RELOADING=1") for m in reload)
    daemon.wait_for_line("config.changed")
    assert any("kind=service.log_level" in line for line in daemon.lines)
    good = config.read_text()
    config.write_text(good.replace("dash_yes_minimum = 14", "dash_yes_minimum = 99"))
    daemon.process.send_signal(signal.SIGHUP)
    _messages(sock, b"Reload rejected")
    daemon.wait_for_line("config.reload_rejected")
    assert any("threshold.dash_yes_minimum" in line for line in daemon.lines)
    assert daemon.process.poll() is None
    daemon.process.send_signal(signal.SIGTERM)
    assert daemon.process.wait(timeout=30) == 0


def test_sigterm_in_a_backlog_finishes_the_current_message_and_send(
    workspace: Path, notify: tuple[socket.socket, Path]
) -> None:
    """GIVEN 15 referrals in the inbox and the daemon working through them
    WHEN SIGTERM arrives after the third decision
    THEN it exits 0 within the stop timeout, with nothing half-done: no message mid-processing,
    every decided email moved out of the inbox, every message marked sent written exactly
    once, and the rest still waiting in the inbox for the next start."""
    sock, path = notify
    _deliver(workspace, BACKLOG)
    daemon = Daemon(workspace, path)
    _messages(sock, b"READY=1")
    db = sqlite3.connect(workspace / "var" / "mailbot.sqlite3")
    deadline = time.monotonic() + 60
    while db.execute("SELECT COUNT(*) FROM cases").fetchone()[0] < 3:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    started = time.monotonic()
    daemon.process.send_signal(signal.SIGTERM)
    assert daemon.process.wait(timeout=90) == 0
    assert time.monotonic() - started < 30
    cases = db.execute("SELECT COUNT(*) FROM cases").fetchone()[0]
    assert cases < BACKLOG
    assert db.execute("SELECT COUNT(*) FROM messages WHERE state != 'done'").fetchone()[0] == 0
    assert db.execute("SELECT COUNT(*) FROM messages WHERE location != folder").fetchone()[0] == 0
    sent = db.execute("SELECT COUNT(*) FROM outbox WHERE state = 'sent'").fetchone()[0]
    db.close()
    mail = workspace / "var" / "mail"
    outbox = sum(1 for sub in ("new", "cur") for _ in (mail / "Outbox" / sub).iterdir())
    inbox = sum(1 for sub in ("new", "cur") for _ in (mail / "Inbox" / sub).iterdir())
    assert outbox == sent
    assert inbox == BACKLOG - cases


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _enable_web(workspace: Path, port: int) -> None:
    config = workspace / "mailbot.toml"
    text = config.read_text()
    assert "[web]\n" in text
    config.write_text(
        text.replace("enabled = false", "enabled = true", 1).replace(
            "port = 8080", f"port = {port}", 1
        )
    )


def test_the_daemon_serves_the_web_page_when_enabled(
    workspace: Path, notify: tuple[socket.socket, Path]
) -> None:
    """GIVEN `[web] enabled = true` on a free port
    WHEN the daemon has said READY=1
    THEN the exceptions-queue login page answers on that port, and SIGTERM stops both."""
    port = _free_port()
    _enable_web(workspace, port)
    sock, path = notify
    daemon = Daemon(workspace, path)
    _messages(sock, b"READY=1")
    url = f"http://127.0.0.1:{port}/login"
    with urllib.request.urlopen(url, timeout=10) as page:
        assert page.status == 200
        assert b"password" in page.read().lower()
    daemon.process.send_signal(signal.SIGTERM)
    assert daemon.process.wait(timeout=30) == 0


def test_a_web_page_that_cannot_listen_does_not_stop_referrals(
    workspace: Path, notify: tuple[socket.socket, Path]
) -> None:
    """GIVEN `[web] enabled = true` on a port another program holds
    WHEN the daemon starts and a referral arrives
    THEN it logs web.failed, says READY=1 and processes the referral."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        _enable_web(workspace, int(holder.getsockname()[1]))
        sock, path = notify
        daemon = Daemon(workspace, path)
        _messages(sock, b"READY=1")
        daemon.wait_for_line("web.failed")
        _deliver(workspace, 1)
        daemon.wait_for_line("message.decided")
        daemon.process.send_signal(signal.SIGTERM)
        assert daemon.process.wait(timeout=30) == 0
