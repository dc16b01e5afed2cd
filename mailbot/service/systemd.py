"""Talking to systemd: readiness, status lines and the watchdog (the sd_notify protocol).

Under `Type=notify` systemd counts mailbot as started only once it says READY=1, which it does
after the database and the mailbox are open: a mailbox that cannot be opened then fails
`systemctl start` loudly instead of showing a healthy service that does nothing. With
`WatchdogSec=` systemd kills and restarts a loop that stopped making progress (a hung server
connection, a deadlock): the loop proves it is alive by sending WATCHDOG=1 between messages
and before each wait, never from a separate thread, which would keep a hung loop looking alive.
STATUS= lines say in `systemctl status` what the daemon is doing.

The protocol is one datagram of newline-separated KEY=VALUE lines sent to the unix socket
named by $NOTIFY_SOCKET ("@" starts a Linux abstract-namespace name), documented in
sd_notify(3): small enough to implement here rather than add a dependency. Outside systemd
(no $NOTIFY_SOCKET) every call does nothing, so the same code runs in a terminal and in tests.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping

# Send WATCHDOG=1 at least this often within the interval systemd gives (sd_watchdog_enabled(3)
# recommends half; a quarter leaves room for one slow message between two ticks).
WATCHDOG_FRACTION = 0.25


class Notifier:
    """Sends sd_notify messages to systemd, or nothing when not run by systemd."""

    def __init__(self, address: str | None) -> None:
        self.address = _socket_address(address) if address else None
        self._socket: socket.socket | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        env = os.environ if environ is None else environ
        return cls(env.get("NOTIFY_SOCKET"))

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def notify(self, *lines: str) -> bool:
        """Send KEY=VALUE lines in one datagram; False if not sent (no systemd, or it failed).

        A failure is not an error worth stopping for: systemd notices a silent service by
        itself (the start times out, the watchdog fires)."""
        if self.address is None:
            return False
        try:
            if self._socket is None:
                kind = socket.SOCK_DGRAM | socket.SOCK_CLOEXEC
                self._socket = socket.socket(socket.AF_UNIX, kind)
            self._socket.sendto("\n".join(lines).encode("utf-8"), self.address)
        except OSError:
            return False
        return True

    def ready(self, status: str) -> bool:
        return self.notify("READY=1", f"STATUS={_one_line(status)}", f"MAINPID={os.getpid()}")

    def status(self, text: str) -> bool:
        return self.notify(f"STATUS={_one_line(text)}")

    def reloading(self) -> bool:
        # MONOTONIC_USEC lets systemd >= 253 match this to the reload it asked for.
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        return self.notify(
            "RELOADING=1", f"MONOTONIC_USEC={usec}", "STATUS=Reloading the configuration"
        )

    def stopping(self, status: str) -> bool:
        return self.notify("STOPPING=1", f"STATUS={_one_line(status)}")

    def close(self) -> None:
        sock, self._socket = self._socket, None
        if sock is not None:
            sock.close()


class Watchdog:
    """Sends WATCHDOG=1 often enough for systemd's `WatchdogSec=`, and no more often."""

    def __init__(self, notifier: Notifier, interval: float | None) -> None:
        self.notifier = notifier
        self.interval = interval  # seconds, or None when systemd set no watchdog
        self._last = float("-inf")

    @classmethod
    def from_environ(cls, notifier: Notifier, environ: Mapping[str, str] | None = None) -> Watchdog:
        """The watchdog systemd asked for ($WATCHDOG_USEC, for this process: $WATCHDOG_PID)."""
        env = os.environ if environ is None else environ
        usec, pid = env.get("WATCHDOG_USEC", ""), env.get("WATCHDOG_PID", "")
        if not usec.isdigit() or int(usec) == 0 or (pid and pid != str(os.getpid())):
            return cls(notifier, None)
        return cls(notifier, int(usec) / 1_000_000)

    def beat(self) -> bool:
        """Tell systemd the loop is alive, if it is time to; True when a ping was sent."""
        if self.interval is None:
            return False
        now = time.monotonic()
        if now - self._last < self.interval * WATCHDOG_FRACTION:
            return False
        self._last = now
        return self.notifier.notify("WATCHDOG=1")


def _socket_address(value: str) -> str:
    """$NOTIFY_SOCKET as `socket.sendto` takes it: '@name' is the abstract name '\\0name'."""
    return "\0" + value[1:] if value.startswith("@") else value


def _one_line(text: str) -> str:
    return " ".join(text.split())
