"""A backlog drained with worker processes keeps intake's guarantees.

Workers only open documents; the main process decides, commits and files one message at a
time in arrival order. These tests run the real runner (and the real daemon) with two workers
on a real Maildir and database, and check the order, the one-case-per-email rule, and that a
daemon killed with SIGKILL leaves no worker processes behind.
"""

from __future__ import annotations

import gc
import io
import os
import random
import signal
import subprocess
import sys
import time
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path

import docx
import docx.package
import pytest

from mailbot.app import App, open_app
from mailbot.demo.formwriter import render_form
from mailbot.demo.sample_mail import compose, docx_attachment
from mailbot.demo.samples import sample_form
from mailbot.dispatch.encrypt import encrypt_docx
from mailbot.ingest.maildir import MaildirMailbox
from mailbot.intake import stages
from mailbot.intake.prefetch import LARGE_EMAIL_BYTES, Prepared
from mailbot.intake.process import Intake
from mailbot.models import DocumentLimits, Folder, MailboxMessage, Outcome
from tests.conftest import NOW, TODAY, FixedClock
from tests.integration.conftest import REFERRALS, folder_count
from tests.photos import png

SENDERS = (
    ("s.worker@birminghamchildrenstrust.co.uk", "BCT-Marac-7731"),
    ("k.smith@coventryhaven.co.uk", "Haven-CV-6620"),
    ("outreach@blackcountrywomensaid.co.uk", "BCWA-Refer-1187"),  # the previous one
    ("tenancy@wolverhamptonhomes.org.uk", "Not-The-Agreed-One"),
)  # held


def _email(n: int, spin_count: int = 1000) -> bytes:
    sender, password = SENDERS[n % len(SENDERS)]
    form = sample_form(random.Random(n), referral_date=TODAY, referrer_email=sender)
    document = encrypt_docx(render_form(form), password, spin_count=spin_count)
    return compose(
        sender=sender,
        to=REFERRALS,
        subject="MARAC referral",
        attachments=[docx_attachment("r.docx", document)],
        message_id=f"<backlog-{n}@example.org>",
        sent_at=NOW,
    )


@pytest.fixture
def two_workers(workspace: Path) -> Path:
    config = workspace / "mailbot.toml"
    text = config.read_text()
    assert "# workers = 2" in text
    config.write_text(text.replace("# workers = 2", "workers = 2"))
    return workspace


@pytest.fixture
def backlog_app(two_workers: Path) -> Iterator[App]:
    app = open_app(two_workers / "mailbot.toml", FixedClock())
    yield app
    app.close()


def opened_by_workers(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The Message-IDs whose opening a worker's result gave, filled in as the runner runs."""
    from_workers: list[str] = []
    real = Prepared.opened

    def counting(
        self: Prepared, passwords: Sequence[str], limits: DocumentLimits
    ) -> stages.OpenedForm | stages.Unopened | None:
        result = real(self, passwords, limits)
        if result is not None:
            from_workers.append(self.email.message_id)
        return result

    monkeypatch.setattr(Prepared, "opened", counting)
    return from_workers


def test_a_backlog_is_decided_once_each_in_arrival_order(
    backlog_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN twelve encrypted referrals from four agencies waiting, and two workers
    WHEN the inbox is processed once
    THEN the workers' openings are used (the main process opens only what no worker has
    begun: at first, while they start), every email has exactly one case, the references
    follow the arrival order, and each outcome is the one opening in-process gives."""
    inbox = MaildirMailbox(backlog_app.config.mail_dir, use_inotify=False)
    for n in range(12):  # Word's spin count: the main process is no quicker than a worker
        inbox.deliver(Folder.INBOX, _email(n, spin_count=100_000))
    from_workers = opened_by_workers(monkeypatch)
    assert backlog_app.runner().run_once() == 12
    cases = sorted(backlog_app.casebook.cases(), key=lambda c: c.reference)
    assert [c.message_id for c in cases] == [f"<backlog-{n}@example.org>" for n in range(12)]
    assert len(from_workers) >= 3  # the main process opens what no worker has begun
    outcomes = [c.decision.outcome for c in cases]
    assert outcomes == [Outcome.HELD if n % 4 == 3 else Outcome.ACCEPTED for n in range(12)]
    assert folder_count(backlog_app, "Inbox") == 0
    assert folder_count(backlog_app, "Processed") + folder_count(backlog_app, "Exceptions") == 12


def _photo_email(n: int) -> bytes:
    """A referral with a 5 MB photo pasted in: larger than what is opened ahead."""
    sender, password = SENDERS[0]
    form = sample_form(random.Random(n), referral_date=TODAY, referrer_email=sender)
    document = docx.Document(io.BytesIO(render_form(form)))
    document.add_picture(io.BytesIO(png(5 * 1024 * 1024, seed=n)))
    buffer = io.BytesIO()
    document.save(buffer)
    encrypted = encrypt_docx(buffer.getvalue(), password, spin_count=1000)
    return compose(
        sender=sender,
        to=REFERRALS,
        subject="MARAC referral (photos)",
        attachments=[docx_attachment("r.docx", encrypted)],
        message_id=f"<backlog-{n}@example.org>",
        sent_at=NOW,
    )


def test_photo_referrals_are_let_go_of_once_processed_and_opened_in_the_main_process(
    backlog_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a backlog mixing ordinary referrals and referrals with 5 MB photos, two workers
    WHEN the inbox is processed once
    THEN every one is decided in arrival order; no photo referral is sent to a worker (it
    would be copied); and once an email is processed nothing holds it any more, neither
    while the next is read from the mailbox nor while the next is processed (memory holds
    the email being processed and the bounded look-ahead, never the ones done)."""
    inbox = MaildirMailbox(backlog_app.config.mail_dir, use_inotify=False)
    photos = {n: _photo_email(n) for n in (1, 2, 4)}
    assert all(len(raw) > LARGE_EMAIL_BYTES for raw in photos.values())
    large = set(photos)
    for n in range(6):
        inbox.deliver(Folder.INBOX, photos[n] if n in large else _email(n * 4))
    read: list[weakref.ref[MailboxMessage]] = []
    done = 0
    held_when_reading: list[int] = []
    held_when_processing: list[int] = []

    def still_held(refs: list[weakref.ref[MailboxMessage]]) -> int:
        return sum(1 for ref in refs if ref() is not None)

    real_fetch, real_process = MaildirMailbox.fetch_new, Intake.process

    def watched_fetch(self: MaildirMailbox) -> Iterator[MailboxMessage]:
        for message in real_fetch(self):
            read.append(weakref.ref(message))
            yield message
            del message
            held_when_reading.append(still_held(read[:done]))

    def watched_process(
        self: Intake, message: MailboxMessage, prepared: Prepared | None = None
    ) -> None:
        nonlocal done
        held_when_processing.append(still_held(read[:done]))
        real_process(self, message, prepared)
        done += 1

    from_workers = opened_by_workers(monkeypatch)
    monkeypatch.setattr(MaildirMailbox, "fetch_new", watched_fetch)
    monkeypatch.setattr(Intake, "process", watched_process)
    assert backlog_app.runner().run_once() == 6
    cases = sorted(backlog_app.casebook.cases(), key=lambda c: c.reference)
    expected = [f"<backlog-{n if n in large else n * 4}@example.org>" for n in range(6)]
    assert [c.message_id for c in cases] == expected
    assert all(c.decision.outcome is Outcome.ACCEPTED for c in cases)
    assert not {f"<backlog-{n}@example.org>" for n in large} & set(from_workers)
    assert from_workers  # the ordinary ones still go to the workers
    assert held_when_processing == [0] * 6
    assert len(held_when_reading) == 6
    assert held_when_reading == [0] * 6


def test_a_photo_referrals_documents_are_freed_before_the_next_email(backlog_app: App) -> None:
    """GIVEN a referral with a 5 MB photo waiting, and the automatic cycle collector off (so
    nothing is freed by luck of timing)
    WHEN the inbox is processed
    THEN no python-docx package of it is left in memory afterwards: its objects refer to each
    other, and the runner collects them at once after a large email."""
    inbox = MaildirMailbox(backlog_app.config.mail_dir, use_inotify=False)
    inbox.deliver(Folder.INBOX, _photo_email(1))
    gc.collect()
    gc.disable()
    try:
        assert backlog_app.runner().run_once() == 1
        left = [o for o in gc.get_objects() if isinstance(o, docx.package.Package)]
    finally:
        gc.enable()
    assert [c.decision.outcome for c in backlog_app.casebook.cases()] == [Outcome.ACCEPTED]
    assert left == []


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found |= {int(p) for p in task.read_text().split()}
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is dead, only not yet reaped


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_kill_9_during_a_backlog_leaves_no_workers_and_loses_nothing(two_workers: Path) -> None:
    """GIVEN the daemon draining a backlog with two worker processes
    WHEN it is killed with SIGKILL and run again
    THEN its workers end with it, and every email ends with exactly one case."""
    app = open_app(two_workers / "mailbot.toml", with_mailbox=False)
    inbox = MaildirMailbox(app.config.mail_dir, use_inotify=False)
    for n in range(16):
        inbox.deliver(Folder.INBOX, _email(n, spin_count=100_000))
    command = [sys.executable, "-m", "mailbot", "--config", str(two_workers / "mailbot.toml")]
    env = {**os.environ, "PYTHONPATH": str(Path.cwd())}
    daemon = subprocess.Popen([*command, "run"], env=env, stderr=subprocess.DEVNULL)
    workers: set[int] = set()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(workers) < 2:
        workers = {
            p
            for p in _children(daemon.pid)
            if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()
        }
        time.sleep(0.05)
    assert len(workers) == 2
    daemon.send_signal(signal.SIGKILL)
    daemon.wait(timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in workers):
        time.sleep(0.05)
    assert not any(_alive(p) for p in workers)
    subprocess.run(
        [*command, "run", "--once"], env=env, check=True, stderr=subprocess.DEVNULL, timeout=300
    )
    cases = app.casebook.cases()
    assert sorted(c.message_id for c in cases) == sorted(
        f"<backlog-{n}@example.org>" for n in range(16)
    )
    assert folder_count(app, "Inbox") == 0
    app.close()
