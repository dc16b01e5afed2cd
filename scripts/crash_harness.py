"""Kill the mailbot daemon with SIGKILL at random points, restart it, and prove nothing is lost.

    .venv/bin/python scripts/crash_harness.py --kills 15 --emails 40 --seed 1     # CI, < 1 min
    .venv/bin/python scripts/crash_harness.py --kills 1000 --emails 400 --seed 6  # by hand

A lost referral is a victim nobody discusses, and `kill -9` (an OOM kill, a power cut, a
watchdog abort) is what the daemon cannot clean up after: only the order of its commits and
renames can make it safe. So this runs the real daemon (`python -m mailbot --config F run`) on
a Maildir, feeds the emails in over the cycles (a few per restart, so a thousand kills land in
real work: parsing, key derivation, the decision's transaction, the move, the send), and kills
it either during start-up or at a random moment after it said READY=1 (the harness is its
$NOTIFY_SOCKET, as systemd would be). After the last kill it starts it once more, waits for
the work to settle, stops it with SIGTERM (which must exit 0) and checks the result against an
uninterrupted run of the same emails (`crash_checks`). Exit status 0 only if every check held.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

from crash_checks import Report, verify  # noqa: E402
from crash_mail import Email, build_emails  # noqa: E402

from mailbot.ingest.maildir import MaildirMailbox  # noqa: E402
from mailbot.models import Folder  # noqa: E402

BEFORE_READY_SHARE = 0.1  # kills during start-up (opening the database, reconciling)
READY_TIMEOUT = 60.0
SETTLE_TIMEOUT = 600.0


@dataclass
class Summary:
    kills: int
    kills_before_ready: int
    emails: int
    seed: int
    seconds: float
    cases: int
    outgoing: int
    window_duplicates: int
    let_finish: int  # cycles that let an email killed twice finish before killing again
    stale_locations: int
    misfiled: int  # emails whose file is not in the folder their (re-)decision says
    failures: list[str]

    @property
    def ok(self) -> bool:
        return not self.failures


def workspace(path: Path) -> Path:
    """The example deployment in `path`, with its own state directory and mail."""
    path.mkdir(parents=True)
    shutil.copy(ROOT / "config" / "example.toml", path / "mailbot.toml")
    secrets = path / "example-secrets.toml"
    shutil.copy(ROOT / "config" / "example-secrets.toml", secrets)
    secrets.chmod(0o600)
    return path


def deliver(path: Path, emails: list[Email]) -> None:
    inbox = MaildirMailbox(path / "var" / "mail", use_inotify=False)
    for email in emails:
        inbox.deliver(Folder.INBOX, email.raw)


class Daemon:
    """`mailbot run` in a workspace, with the harness as its systemd notify socket."""

    def __init__(self, path: Path, notify: socket.socket, name: str) -> None:
        self.notify = notify
        env = {**os.environ, "NOTIFY_SOCKET": name, "PYTHONPATH": str(ROOT)}
        env.pop("WATCHDOG_USEC", None)
        with (path / "daemon.log").open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "mailbot", "--config", str(path / "mailbot.toml"), "run"],
                env=env,
                stdout=log,
                stderr=log,
                cwd=ROOT,
            )

    def wait_ready(self) -> bool:
        """True once READY=1 came from this process (False if it died first)."""
        deadline = time.monotonic() + READY_TIMEOUT
        marker = f"MAINPID={self.process.pid}".encode()
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                message = self.notify.recv(4096)
            except TimeoutError:
                continue
            if b"READY=1" in message and marker in message:
                return True
        return False

    def kill(self) -> int | None:
        """SIGKILL; the exit status if it had already exited by itself, else None."""
        early = self.process.poll()
        if early is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        return early


def _drain(notify: socket.socket) -> None:
    notify.setblocking(False)
    try:
        while True:
            notify.recv(4096)
    except BlockingIOError:
        pass
    finally:
        notify.settimeout(0.1)


def _settled(path: Path) -> bool:
    inbox = path / "var" / "mail" / "Inbox"
    if any(any((inbox / sub).iterdir()) for sub in ("new", "cur")):
        return False
    db = sqlite3.connect(path / "var" / "mailbot.sqlite3")
    try:
        busy: int = db.execute(
            "SELECT (SELECT COUNT(*) FROM outbox WHERE state = 'pending')"
            " + (SELECT COUNT(*) FROM messages WHERE state != 'done'"
            "    OR (location != folder AND location != 'Inbox'))"
        ).fetchone()[0]
    except sqlite3.OperationalError:  # tables not created yet
        return False
    finally:
        db.close()
    return busy == 0


def twice_killed(path: Path) -> list[str]:
    """Emails whose processing was interrupted twice: a third kill would hold them as poison."""
    if not (path / "var" / "mailbot.sqlite3").exists():
        return []
    db = sqlite3.connect(path / "var" / "mailbot.sqlite3")
    try:
        return [
            key
            for (key,) in db.execute(
                "SELECT message_key FROM messages WHERE state = 'processing' AND attempts >= 2"
            )
        ]
    except sqlite3.OperationalError:
        return []
    finally:
        db.close()


def finished(path: Path, keys: list[str]) -> bool:
    db = sqlite3.connect(path / "var" / "mailbot.sqlite3")
    try:
        marks = ",".join("?" * len(keys))
        return not db.execute(
            f"SELECT 1 FROM messages WHERE state = 'processing'"  # noqa: S608
            f" AND message_key IN ({marks})",
            keys,
        ).fetchone()
    finally:
        db.close()


def batches(emails: list[Email], cycles: int) -> list[list[Email]]:
    """Emails spread over the kill cycles, in order (some cycles get none when few)."""
    size = len(emails) / max(cycles, 1)
    return [emails[round(i * size) : round((i + 1) * size)] for i in range(cycles)]


def run(
    kills: int, count: int, seed: int, root: Path, max_delay: float, *, echo: bool = False
) -> Summary:
    started = time.monotonic()
    rng = random.Random(seed)  # noqa: S311 (kill times, reproducible)
    emails = build_emails(count, seed, date.today())
    if echo:
        print(f"{len(emails)} emails built in {time.monotonic() - started:.0f} s", flush=True)
    crashed, reference = workspace(root / "crashed"), workspace(root / "reference")
    deliver(reference, emails)
    with (reference / "daemon.log").open("ab") as log:  # on the other core meanwhile
        uninterrupted = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mailbot",
                "--config",
                str(reference / "mailbot.toml"),
                "run",
                "--once",
            ],
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=log,
            stderr=log,
            cwd=ROOT,
        )
    failures: list[str] = []
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    name = f"@mailbot-crash-harness-{os.getpid()}-{seed}"
    notify.bind("\0" + name[1:])
    early_kills = let_finish = 0
    for cycle, batch in enumerate(batches(emails, kills)):
        deliver(crashed, batch)
        _drain(notify)
        protect = twice_killed(crashed)
        daemon = Daemon(crashed, notify, name)
        if not protect and rng.random() < BEFORE_READY_SHARE:
            early_kills += 1
            time.sleep(rng.uniform(0.0, 1.0))
        elif not daemon.wait_ready():
            failures.append(f"cycle {cycle}: no READY=1 (exit {daemon.process.poll()})")
        else:
            if protect:
                let_finish += 1
                deadline = time.monotonic() + SETTLE_TIMEOUT
                while not finished(crashed, protect) and time.monotonic() < deadline:
                    time.sleep(0.02)
            time.sleep(rng.uniform(0.0, max_delay))
        status = daemon.kill()
        if status is not None:
            failures.append(f"cycle {cycle}: the daemon exited by itself with {status}")
        if echo and cycle % 50 == 49:
            print(f"{cycle + 1} kills, {time.monotonic() - started:.0f} s", flush=True)
    if echo:
        print(f"{kills} kills done in {time.monotonic() - started:.0f} s", flush=True)
    _drain(notify)
    final = Daemon(crashed, notify, name)
    if not final.wait_ready():
        failures.append("the last start never became ready")
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while time.monotonic() < deadline and not _settled(crashed):
        time.sleep(0.2)
    final.process.send_signal(signal.SIGTERM)
    try:
        if final.process.wait(timeout=90) != 0:
            failures.append(f"SIGTERM: exit status {final.process.returncode}, not 0")
    except subprocess.TimeoutExpired:
        final.kill()
        failures.append("SIGTERM: the daemon did not stop within 90 s")
    notify.close()
    if uninterrupted.wait() != 0:
        failures.append("the uninterrupted reference run failed")
    report: Report = verify(crashed, reference, emails)
    return Summary(
        kills=kills,
        kills_before_ready=early_kills,
        emails=len(emails),
        seed=seed,
        seconds=round(time.monotonic() - started, 1),
        cases=report.cases,
        outgoing=report.outgoing,
        window_duplicates=report.window_duplicates,
        let_finish=let_finish,
        stale_locations=report.stale_locations,
        misfiled=len(report.misfiled),
        failures=failures + report.failures + report.misfiled,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--kills", type=int, default=15, help="SIGKILLs (restarts) to do")
    parser.add_argument("--emails", type=int, default=40, help="emails to feed in")
    parser.add_argument("--seed", type=int, default=1, help="replays a run exactly")
    parser.add_argument(
        "--max-delay",
        type=float,
        default=1.0,
        help="longest wait after READY=1 before a kill (seconds)",
    )
    parser.add_argument("--workdir", type=Path, help="keep the workspaces here (must not exist)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    temporary = None if args.workdir else tempfile.TemporaryDirectory(prefix="mailbot-crash-")
    root = args.workdir or Path(temporary.name if temporary else ".")
    try:
        summary = run(args.kills, args.emails, args.seed, root, args.max_delay, echo=not args.json)
    finally:
        if temporary is not None:
            temporary.cleanup()
    if args.json:
        print(json.dumps({**asdict(summary), "ok": summary.ok}, indent=2))
    else:
        for key, value in asdict(summary).items():
            print(f"{key:>22}: {value}")
        print("OK" if summary.ok else "FAILED")
    return 0 if summary.ok else 1


if __name__ == "__main__":
    sys.exit(main())
