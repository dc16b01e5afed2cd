"""Referrals with photographs: a large email is not held in memory while its document is
opened, and is still kept exactly when it must wait for a password.

Partners paste photographs of injuries into forms, so a referral email can be tens of
megabytes. Once intake has parsed one (and recorded its digest), it releases the bytes if the
mailbox can read them again (Maildir, IMAP); it reads them again only to keep an email that
waits for a password, and then only if they are exactly what was received.
"""

from __future__ import annotations

import gc
import hashlib
import io
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import docx
import pytest

from mailbot.app import App, open_app
from mailbot.cases.casebook import CaseRecord
from mailbot.demo.sample_mail import compose, docx_attachment
from mailbot.dispatch.encrypt import encrypt_docx
from mailbot.ingest.maildir import MaildirMailbox
from mailbot.intake import stages
from mailbot.intake.prefetch import LARGE_EMAIL_BYTES
from mailbot.models import DocumentLimits, Folder, MailboxMessage, Outcome, ParsedEmail
from tests.conftest import NOW, FixedClock
from tests.integration.conftest import REFERRALS, folder_count
from tests.integration.held import form
from tests.photos import png

Run = Callable[[], dict[str, CaseRecord]]
HOMES = "tenancy@wolverhamptonhomes.org.uk"  # its agreed password is not this one
BCT = ("s.worker@birminghamchildrenstrust.co.uk", "BCT-Marac-7731")
SEPARATE_PASSWORD = "Photo-Referral-2026"


def photo_referral(sender: str, password: str, message_id: str) -> bytes:
    """A referral with a 5 MB photo pasted in, encrypted, as an email (over 6 MB)."""
    from mailbot.demo.formwriter import render_form

    document = docx.Document(io.BytesIO(render_form(form(seed=7, referrer_email=sender))))
    document.add_picture(io.BytesIO(png(5 * 1024 * 1024)))
    buffer = io.BytesIO()
    document.save(buffer)
    encrypted = encrypt_docx(buffer.getvalue(), password, spin_count=1000)
    raw = compose(
        sender=sender,
        to=REFERRALS,
        subject="MARAC referral (photos)",
        attachments=[docx_attachment("referral.docx", encrypted)],
        message_id=message_id,
        sent_at=NOW,
    )
    assert len(raw) > LARGE_EMAIL_BYTES
    return raw


def deliver(app: App, raw: bytes) -> None:
    MaildirMailbox(app.config.mail_dir, use_inotify=False).deliver(Folder.INBOX, raw)


def held_raw(app: App, message_id: str) -> bytes:
    with sqlite3.connect(app.config.database_path) as db:
        (raw,) = db.execute(
            "SELECT raw FROM held_messages h JOIN cases c"
            " ON c.reference = h.reference WHERE c.message_id = ?",
            (message_id,),
        ).fetchone()
    return bytes(raw)


@pytest.fixture
def one_worker_app(workspace: Path, clock: FixedClock) -> Iterator[App]:
    """The demo deployment with `service.workers = 1`: nothing is read ahead, so the mailbox
    is still in the middle of its listing while a message is processed."""
    config = workspace / "mailbot.toml"
    text = config.read_text()
    assert "# workers = 2" in text
    config.write_text(text.replace("# workers = 2", "workers = 1"))
    application = open_app(config, clock)
    yield application
    application.close()


@pytest.mark.parametrize("workers", [1, 2])
def test_a_photo_referral_is_not_in_memory_while_its_document_is_opened(
    workers: int, app: App, one_worker_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a referral with a 5 MB photo from an agency whose password is on file, and one
    worker (the mailbox's listing is suspended at that email while it is processed) or two
    WHEN the inbox is processed
    THEN while its document is opened, no unreleased email that large exists in memory and
    nothing holds the bytes read from the mailbox; and it is accepted and filed as usual."""
    sender, password = BCT
    deliver(app, photo_referral(sender, password, "<photos-1@birminghamchildrenstrust.co.uk>"))
    assert one_worker_app.config.mail_dir == app.config.mail_dir
    unreleased: list[int] = []
    read: list[bytes] = []  # the bytes as read from the Maildir (this list holds them too)
    holders: list[object] = []
    real_open, real_read = stages.open_referral, MaildirMailbox._read

    def reading(self: MaildirMailbox, path: Path, key: str) -> bytes | None:
        raw = real_read(self, path, key)
        read.extend([raw] if raw is not None else [])
        return raw

    def watching(
        email: ParsedEmail, passwords: Sequence[str], limits: DocumentLimits
    ) -> stages.OpenedForm | stages.Unopened:
        unreleased.extend(
            o.size for o in gc.get_objects() if isinstance(o, MailboxMessage) and not o.released
        )
        holders.extend(r for r in gc.get_referrers(read[0]) if r is not read)
        return real_open(email, passwords, limits)

    monkeypatch.setattr(MaildirMailbox, "_read", reading)
    monkeypatch.setattr(stages, "open_referral", watching)
    chosen = one_worker_app if workers == 1 else app
    chosen.runner().run_once()
    case = {c.message_id: c for c in chosen.casebook.cases()}[
        "<photos-1@birminghamchildrenstrust.co.uk>"
    ]
    assert case.decision.outcome is Outcome.ACCEPTED
    assert unreleased == []
    assert len(read) == 1
    assert holders == []  # nothing (a message, a generator's frame) holds the bytes
    assert folder_count(chosen, "Processed") == 1


def test_a_photo_referral_waiting_for_its_password_is_kept_exactly_and_then_opened(
    app: App, run: Run, send: Callable[..., str]
) -> None:
    """GIVEN a referral with a 5 MB photo, encrypted with a password not on file
    WHEN it is processed, and then its sender emails the password
    THEN it is first held with the exact bytes received (read again from the mailbox, as
    they were released while it was opened), and then accepted from them."""
    message_id = "<photos-2@wolverhamptonhomes.org.uk>"
    raw = photo_referral(HOMES, SEPARATE_PASSWORD, message_id)
    deliver(app, raw)
    case = run()[message_id]
    assert case.decision.reasons == ("cannot_decrypt",)
    assert held_raw(app, message_id) == raw
    send(
        HOMES,
        subject="Password for the referral",
        body=f"Hi,\n\nThe password is: {SEPARATE_PASSWORD}\n\nKind regards",
    )
    assert run()[message_id].decision.outcome is Outcome.ACCEPTED


def test_a_photo_referral_changed_in_the_mailbox_meanwhile_is_not_kept_from_the_change(
    app: App, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a photo referral whose password is not on file, and a mailbox that returns
    other bytes when it is read again (the file replaced while it was processed)
    WHEN it is processed
    THEN the other bytes are not kept: it is held as a processing error for an
    administrator, and stays where an administrator finds it."""
    message_id = "<photos-3@wolverhamptonhomes.org.uk>"
    deliver(app, photo_referral(HOMES, SEPARATE_PASSWORD, message_id))
    monkeypatch.setattr(MaildirMailbox, "read", lambda self, ref: b"From: someone else\n\nx")
    case = run()[message_id]
    assert case.decision.reasons == ("processing_error",)
    with sqlite3.connect(app.config.database_path) as db:
        assert db.execute("SELECT count(*) FROM held_messages").fetchone() == (0,)
    assert folder_count(app, "Exceptions") == 1


def test_a_mailbox_that_cannot_read_again_keeps_the_bytes(app: App, run: Run) -> None:
    """GIVEN a mailbox that cannot read a message again (as Exchange and Graph here)
    WHEN a photo referral waiting for a password is processed
    THEN its bytes are never released, and it is held with them exactly."""
    message_id = "<photos-4@wolverhamptonhomes.org.uk>"
    raw = photo_referral(HOMES, SEPARATE_PASSWORD, message_id)
    deliver(app, raw)

    class NoRereading:
        def __init__(self, inner: MaildirMailbox) -> None:
            self._inner = inner

        def __getattr__(self, name: str) -> object:
            if name == "read":
                raise AttributeError(name)
            return getattr(self._inner, name)

    inner = app.mailbox
    assert isinstance(inner, MaildirMailbox)
    app.intake.mailbox = NoRereading(inner)  # type: ignore[assignment]
    seen: list[MailboxMessage] = []
    real_fetch = inner.fetch_new

    def fetch() -> Iterator[MailboxMessage]:
        for message in real_fetch():
            seen.append(message)
            yield message

    inner.fetch_new = fetch  # type: ignore[method-assign]
    case = run()[message_id]
    assert case.decision.reasons == ("cannot_decrypt",)
    assert held_raw(app, message_id) == raw
    assert [m.released for m in seen] == [False]
    assert hashlib.sha256(seen[0].raw).digest() == hashlib.sha256(raw).digest()
