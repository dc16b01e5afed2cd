"""A defect the crash harness found, pinned down: a kill between a message's move and the
record of that move, and a later re-filing of the same message.

Intake records "moved to <folder>" after renaming the file; a kill in between leaves the
ledger saying the message is still in the Inbox. Before the fix, `intake.reconcile` only
finished moves of rows already out of the Inbox, so when the password for such a held
referral arrived later and its case was accepted, the re-filing (Exceptions -> Processed)
never happened: the case was right, the email stayed in Exceptions. Now a row still saying
'Inbox' is first confirmed where its decision filed it (`filed`), then re-filed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailbot.app import open_app
from mailbot.demo.sample_mail import compose, docx_attachment
from mailbot.ingest.maildir import MaildirMailbox
from mailbot.models import Folder, Outcome
from mailbot.service.health import check_health
from mailbot.store import Store
from tests.conftest import NOW, FixedClock
from tests.integration.conftest import folder_count, sample

HOMES = "tenancy@wolverhamptonhomes.org.uk"


class Crash(BaseException):
    """The process dying: not an Exception, so nothing in mailbot catches it."""


def _email(n: int, document: bytes | None, **kw: str) -> bytes:
    return compose(
        sender=HOMES,
        to="marac_referrals@west-midlands.pnn.police.uk",
        subject=kw.get("subject", "MARAC referral"),
        body=kw.get("body", "Referral attached."),
        attachments=[docx_attachment("r.docx", document)] if document else [],
        message_id=f"<stale-{n}@wolverhamptonhomes.org.uk>",
        sent_at=NOW,
    )


def test_a_held_email_killed_before_its_move_was_recorded_is_refiled_when_opened(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a referral held for its password, and the process killed after the email was
    renamed into Exceptions but before that was recorded
    WHEN the daemon restarts and the password email arrives
    THEN the case is accepted and its email is moved to Processed."""
    app = open_app(workspace / "mailbot.toml", FixedClock())
    inbox = MaildirMailbox(app.config.mail_dir, use_inotify=False)
    inbox.deliver(Folder.INBOX, _email(1, sample("08-encrypted-unknown-password.docx")))

    def die(*_: object) -> None:
        raise Crash

    monkeypatch.setattr(Store, "ledger_moved", die)
    with pytest.raises(Crash):
        app.runner().run_once()
    monkeypatch.undo()
    app.close()
    restarted = open_app(workspace / "mailbot.toml", FixedClock())
    inbox.deliver(Folder.INBOX, _email(2, None, subject="password", body="Sparrow-Lane-77"))
    restarted.runner().run_once()
    [case] = restarted.casebook.cases()
    assert case.decision.outcome is Outcome.ACCEPTED
    assert folder_count(restarted, "Exceptions") == 0
    restarted.close()


def test_a_filed_email_removed_by_hand_is_recorded_missing_and_the_daemon_carries_on(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a referral filed in Exceptions by a run killed before it recorded the move, and
    the email then deleted from Exceptions by hand
    WHEN the daemon restarts and another referral arrives
    THEN the first is recorded as missing (once, not on every pass) and the second is
    processed as usual."""
    app = open_app(workspace / "mailbot.toml", FixedClock())
    inbox = MaildirMailbox(app.config.mail_dir, use_inotify=False)
    inbox.deliver(Folder.INBOX, _email(1, sample("08-encrypted-unknown-password.docx")))

    def die(*_: object) -> None:
        raise Crash

    monkeypatch.setattr(Store, "ledger_moved", die)
    with pytest.raises(Crash):
        app.runner().run_once()
    monkeypatch.undo()
    app.close()
    for path in (app.config.mail_dir / "Exceptions" / "cur").iterdir():
        path.unlink()
    restarted = open_app(workspace / "mailbot.toml", FixedClock())
    inbox.deliver(Folder.INBOX, _email(3, sample("01-accepted-controls.docx")))
    assert restarted.runner().run_once() == 1
    assert restarted.runner().run_once() == 0
    [row] = restarted.store.db.query(
        "SELECT location FROM messages WHERE message_key = ?",
        ["<stale-1@wolverhamptonhomes.org.uk>"],
    )
    assert row["location"] == "Missing"
    assert restarted.store.pending_moves() == []
    assert folder_count(restarted, "Processed") == 1
    health = check_health(restarted.config, restarted.store, datetime.now(UTC))
    assert health.missing_emails == 1
    assert any("no longer found in the mailbox" in p for p in health.problems)
    restarted.close()
