"""The sd_notify protocol against a real unix datagram socket, as systemd listens on one."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailbot.service.systemd import Notifier, Watchdog


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    """A datagram socket bound to a path, as systemd's notify socket is."""
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(2)
    yield sock, str(path)
    sock.close()


def test_ready_status_and_stopping_reach_the_socket(listener: tuple[socket.socket, str]) -> None:
    """GIVEN $NOTIFY_SOCKET naming a socket path
    WHEN the notifier says ready, a status and stopping
    THEN each arrives as one datagram of KEY=VALUE lines, with this process as MAINPID."""
    sock, path = listener
    notifier = Notifier.from_environ({"NOTIFY_SOCKET": path})
    assert notifier.ready("Started")
    assert sock.recv(4096).decode().split("\n") == [
        "READY=1",
        "STATUS=Started",
        f"MAINPID={os.getpid()}",
    ]
    assert notifier.status("Waiting\nfor   mail")
    assert sock.recv(4096) == b"STATUS=Waiting for mail"  # one line, whatever it was given
    assert notifier.stopping("Stopping")
    assert sock.recv(4096) == b"STOPPING=1\nSTATUS=Stopping"
    assert notifier.reloading()
    lines = sock.recv(4096).decode().split("\n")
    assert lines[0] == "RELOADING=1"
    assert lines[1].startswith("MONOTONIC_USEC=")
    notifier.close()


def test_an_abstract_socket_name_is_used_as_systemd_means_it() -> None:
    """GIVEN $NOTIFY_SOCKET starting with '@' (Linux abstract namespace)
    WHEN a message is sent
    THEN it reaches the socket bound to that abstract name."""
    name = f"mailbot-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(2)
    try:
        assert Notifier(f"@{name}").notify("WATCHDOG=1")
        assert sock.recv(4096) == b"WATCHDOG=1"
    finally:
        sock.close()


def test_outside_systemd_nothing_is_sent() -> None:
    """GIVEN no $NOTIFY_SOCKET (a terminal, the tests)
    WHEN anything is notified
    THEN nothing happens and nothing fails."""
    notifier = Notifier.from_environ({})
    assert not notifier.enabled
    assert not notifier.ready("x")
    assert not Watchdog.from_environ(notifier, {}).beat()


def test_a_vanished_socket_does_not_stop_the_daemon(tmp_path: Path) -> None:
    """GIVEN $NOTIFY_SOCKET naming a socket that is not there
    WHEN notifying
    THEN the call reports failure instead of raising."""
    assert not Notifier(str(tmp_path / "gone")).status("x")


def test_the_watchdog_pings_at_a_quarter_of_the_interval(
    listener: tuple[socket.socket, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN systemd's WatchdogSec=4s for this process
    WHEN the loop beats many times within a second, then after a second
    THEN WATCHDOG=1 is sent once, then once more: often enough, never a flood."""
    sock, path = listener
    now = [100.0]
    monkeypatch.setattr("mailbot.service.systemd.time.monotonic", lambda: now[0])
    env = {"WATCHDOG_USEC": "4000000", "WATCHDOG_PID": str(os.getpid())}
    watchdog = Watchdog.from_environ(Notifier(path), env)
    assert watchdog.interval == 4.0
    assert [watchdog.beat() for _ in range(50)].count(True) == 1
    now[0] += 1.0
    assert watchdog.beat()
    assert [sock.recv(64) for _ in range(2)] == [b"WATCHDOG=1", b"WATCHDOG=1"]


@pytest.mark.parametrize(
    "env",
    [
        {"WATCHDOG_USEC": "0"},
        {"WATCHDOG_USEC": "junk"},
        {"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"},  # meant for another process
    ],
)
def test_no_watchdog_unless_systemd_asked_this_process(env: dict[str, str]) -> None:
    """GIVEN watchdog variables that are off, malformed or for another process
    WHEN the watchdog is built
    THEN it is disabled."""
    assert Watchdog.from_environ(Notifier(None), env).interval is None
