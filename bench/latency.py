"""Arrival-to-decision latency of the running daemon: p50 and p95 over N messages.

Issue 5 asks how soon a referral is decided after it lands in the mailbox (targets: p95
under 2 s on the embedded Maildir, under 5 s on IMAP with IDLE). This starts the real daemon
(`mailbot run`) as a subprocess, delivers referral emails one at a time at a steady interval
(into the Maildir, or by IMAP APPEND to a private Dovecot), and compares each delivery time
with the decision time the daemon recorded. It is a benchmark, not a test: run it by hand.

    .venv/bin/python bench/latency.py --backend maildir imap --messages 100
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mailbot.demo.formwriter import render_form  # noqa: E402
from mailbot.demo.sample_mail import compose, docx_attachment  # noqa: E402
from mailbot.demo.samples import sample_form  # noqa: E402
from mailbot.ingest.maildir import MaildirMailbox  # noqa: E402
from mailbot.models import Folder  # noqa: E402

POLICE = "pc.bench@west-midlands.pnn.police.uk"


def _emails(count: int) -> list[tuple[str, bytes]]:
    out = []
    for n in range(count):
        form = sample_form(random.Random(n), referrer_email=POLICE)  # noqa: S311
        message_id = f"<latency-{n}@west-midlands.pnn.police.uk>"
        raw = compose(
            sender=POLICE,
            to="marac_referrals@west-midlands.pnn.police.uk",
            subject="MARAC referral",
            message_id=message_id,
            sent_at=datetime.now().astimezone(),
            attachments=[docx_attachment("referral.docx", render_form(form))],
        )
        out.append((message_id, raw))
    return out


def _workspace(backend: str, dovecot: object | None) -> Path:
    work = Path(tempfile.mkdtemp(prefix=f"mailbot-latency-{backend}-"))
    shutil.copy(ROOT / "config" / "example.toml", work / "mailbot.toml")
    secrets = work / "example-secrets.toml"
    shutil.copy(ROOT / "config" / "example-secrets.toml", secrets)
    if dovecot is not None:
        from tests.integration.dovecot import PASSWORD, USER

        text = (work / "mailbot.toml").read_text()
        head, _, tail = text.partition("[mailbox]")
        _, _, rest = tail.partition("\n[")
        block = (
            f'[mailbox]\nkind = "imap"\naddress = "marac_referrals@example.org"\n'
            f'host = "127.0.0.1"\nport = {dovecot.port}\n'  # type: ignore[attr-defined]
            f'username = "{USER}"\nca_file = "{dovecot.ca_file}"\n'  # type: ignore[attr-defined]
            f"idle_seconds = 60\n\n["
        )
        (work / "mailbot.toml").write_text(head + block + rest)
        secrets.write_text(
            secrets.read_text().replace(
                "[credentials]", f'[credentials]\nimap_password = "{PASSWORD}"'
            )
        )
    secrets.chmod(0o600)
    return work


def _decided(database: Path) -> dict[str, datetime]:
    if not database.exists():
        return {}
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10) as conn:
        rows = conn.execute("SELECT message_id, decided_at FROM cases").fetchall()
    return {m: datetime.fromisoformat(d) for m, d in rows}


def measure(backend: str, count: int, interval: float) -> list[float]:
    emails = _emails(count)
    dovecot_cm = None
    dovecot = None
    if backend == "imap":
        from tests.integration.dovecot import running_dovecot

        dovecot_cm = running_dovecot()
        dovecot = dovecot_cm.__enter__()
    try:
        work = _workspace(backend, dovecot)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        log = work / "daemon.log"  # a file, not a pipe: an unread pipe would stall the daemon
        with log.open("w") as sink:
            daemon = subprocess.Popen(
                [sys.executable, "-m", "mailbot", "--config", str(work / "mailbot.toml"), "run"],
                env=env,
                stderr=sink,
            )
        while "service.started" not in log.read_text():
            if daemon.poll() is not None:
                raise RuntimeError(f"the daemon exited:\n{log.read_text()[-2000:]}")
            time.sleep(0.05)
        delivered: dict[str, datetime] = {}
        inbox = MaildirMailbox(work / "var" / "mail", use_inotify=False)
        for message_id, raw in emails:
            if dovecot is not None:
                dovecot.append(raw)
            else:
                inbox.deliver(Folder.INBOX, raw)
            delivered[message_id] = datetime.now().astimezone()
            time.sleep(interval)
        deadline = time.monotonic() + 120
        decided = _decided(work / "var" / "mailbot.sqlite3")
        while len(decided) < count and time.monotonic() < deadline:
            time.sleep(0.2)
            decided = _decided(work / "var" / "mailbot.sqlite3")
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=60)
        return [(decided[m] - delivered[m]).total_seconds() for m in delivered if m in decided]
    finally:
        if dovecot_cm is not None:
            dovecot_cm.__exit__(None, None, None)


def _quantile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--backend", nargs="+", choices=["maildir", "imap"], default=["maildir", "imap"]
    )
    parser.add_argument("--messages", type=int, default=100)
    parser.add_argument(
        "--interval",
        type=float,
        default=0.3,
        help="seconds between deliveries (steady arrivals, not a backlog)",
    )
    args = parser.parse_args()
    print("| backend | messages | decided | p50 (s) | p95 (s) | max (s) |")
    print("|---|---|---|---|---|---|")
    for backend in args.backend:
        latencies = measure(backend, args.messages, args.interval)
        print(
            f"| {backend} | {args.messages} | {len(latencies)} |"
            f" {_quantile(latencies, 0.50):.3f} | {_quantile(latencies, 0.95):.3f} |"
            f" {max(latencies):.3f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
