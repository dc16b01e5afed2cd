"""End-to-end fixtures: the demo deployment on a real Maildir and a real SQLite file."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import pytest

from mailbot.app import App, open_app
from mailbot.cases.casebook import CaseRecord
from mailbot.demo.sample_mail import compose, docx_attachment
from mailbot.ingest.maildir import MaildirMailbox
from mailbot.models import Folder
from tests.conftest import NOW, FixedClock

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "forms"
REFERRALS = "marac_referrals@west-midlands.pnn.police.uk"


class Send(Protocol):
    def __call__(
        self,
        sender: str,
        doc: bytes | None = ...,
        *,
        subject: str = ...,
        body: str = ...,
        filename: str = ...,
        extra: list[tuple[str, bytes, str]] | None = ...,
    ) -> str: ...


@pytest.fixture
def app(workspace: Path, clock: FixedClock) -> Iterator[App]:
    application = open_app(workspace / "mailbot.toml", clock)
    yield application
    application.close()


@pytest.fixture
def send(app: App) -> Send:
    """Deliver a referral email into the Inbox; returns its Message-ID."""
    counter = itertools.count(1)
    mailbox = MaildirMailbox(app.config.mail_dir, use_inotify=False)

    def _send(
        sender: str,
        doc: bytes | None = None,
        *,
        subject: str = "MARAC referral",
        body: str = "Please find attached a MARAC referral.",
        filename: str = "MARAC referral.docx",
        extra: list[tuple[str, bytes, str]] | None = None,
    ) -> str:
        message_id = f"<test-{next(counter)}@{sender.rpartition('@')[2]}>"
        attachments = [docx_attachment(filename, doc)] if doc is not None else []
        attachments += extra or []
        raw = compose(
            sender=sender,
            to=REFERRALS,
            subject=subject,
            body=body,
            attachments=attachments,
            message_id=message_id,
            sent_at=NOW,
        )
        mailbox.deliver(Folder.INBOX, raw)
        return message_id

    return _send


@pytest.fixture
def run(app: App) -> Callable[[], dict[str, CaseRecord]]:
    """Process the inbox once; return the cases by Message-ID."""

    def _run() -> dict[str, CaseRecord]:
        app.runner().run_once()
        return {c.message_id: c for c in app.casebook.cases()}

    return _run


def folder_count(app: App, folder: str) -> int:
    root = app.config.mail_dir / folder
    return sum(1 for sub in ("new", "cur") for _ in (root / sub).iterdir())


def sample(name: str) -> bytes:
    for sub in ("samples", "encrypted"):
        path = SAMPLES / sub / name
        if path.exists():
            return path.read_bytes()
    raise FileNotFoundError(name)
