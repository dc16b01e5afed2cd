"""One mailbot daemon per state directory: an flock that a second one finds held.

Two daemons on one configuration (a second `mailbot run` by hand, a unit started twice,
`run --once` from cron beside the service) would both read the Inbox and both send the
outbox: emails decided twice, messages sent twice. So `run` and `run --once` hold an
exclusive `flock` on `<state_dir>/mailbot.lock` for as long as they run. The kernel lets go of
it when the process ends, however it ends (kill -9 and power cuts included), so there is never
a stale lock for a person to delete. The holder writes who it is into the file (pid, command,
start time), which a refused process quotes in its one-line error.

The team's commands (queue, outbox, history import, users) are short transactions that run
beside the daemon, as the web page does inside it, and take no lock; read-only commands never
do. `holder()` tells a command whether a daemon is there to send what it queued, by asking
for the lock shared for an instant; a daemon starting in that instant waits for it
(`acquire` tries for a second before it refuses).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from mailbot.errors import MailbotError

LOCK_NAME = "mailbot.lock"
ACQUIRE_SECONDS = 1.0
_RETRY_SECONDS = 0.05


@dataclass(frozen=True)
class Holder:
    """Who holds the lock, as it wrote itself into the lock file."""

    pid: int | None
    command: str
    since: str
    host: str

    def describe(self) -> str:
        parts = [
            f"pid {self.pid}" if self.pid else "",
            f"`{self.command}`" if self.command else "",
            f"since {self.since}" if self.since else "",
            f"on {self.host}" if self.host and self.host != socket.gethostname() else "",
        ]
        return ", ".join(p for p in parts if p) or "details not written yet"


class InstanceLocked(MailbotError):
    """Another mailbot daemon runs on this state directory."""

    def __init__(self, state_dir: Path, holder: Holder | None) -> None:
        who = holder.describe() if holder is not None else "details unknown"
        super().__init__(
            f"another mailbot is already running on {state_dir} ({who}): stop it first"
            " (systemctl stop mailbot), or leave the work to it"
        )
        self.holder = holder


class InstanceLock:
    """The exclusive lock on a state directory, held from `acquire` to `release`."""

    def __init__(self, state_dir: Path, command: str) -> None:
        self.state_dir = state_dir
        self.path = state_dir / LOCK_NAME
        self.command = command
        self._fd: int | None = None

    def acquire(self, wait: float = ACQUIRE_SECONDS) -> InstanceLock:
        """Take the lock, or raise InstanceLocked naming who holds it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise InstanceLocked(self.state_dir, read_holder(self.path)) from None
                time.sleep(_RETRY_SECONDS)
        self._fd = fd
        since = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        record = json.dumps(
            {
                "pid": os.getpid(),
                "command": self.command,
                "since": since,
                "host": socket.gethostname(),
            }
        )
        os.ftruncate(fd, 0)
        os.pwrite(fd, record.encode() + b"\n", 0)
        return self

    def release(self) -> None:
        """Let go (also what the process's end does). Safe to call more than once."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        # Nobody holds it now: a reader finds no stale name (a read-only or full disk may
        # refuse, and the flock goes with the descriptor all the same).
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None


def read_holder(path: Path) -> Holder | None:
    """What the holder of the lock file at `path` wrote about itself."""
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "null")
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    pid = data.get("pid")
    return Holder(
        pid=pid if isinstance(pid, int) else None,
        command=str(data.get("command", "")),
        since=str(data.get("since", "")),
        host=str(data.get("host", "")),
    )


def holder(state_dir: Path) -> Holder | None:
    """The daemon running on `state_dir`, or None. Takes the lock shared for an instant (a
    daemon starting just then waits for it); creates nothing."""
    path = state_dir / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return read_holder(path) or Holder(None, "", "", "")
    finally:
        os.close(fd)  # closing lets go of a shared lock taken just above
    return None
