"""Wrapped forms and the attachment limit through the daemon: each class, end to end.

The emails of `tests/hostile_wrapped.py` (encoded forwards, Outlook items, S/MIME, past 50
attachments, long preambles), delivered whole into a real Maildir and processed by the
runner with a real database: a form found inside is accepted, a limit or a wrapper that
cannot be opened gives its clear code, held ones wait in Exceptions for an administrator,
and nothing is left in the Inbox.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mailbot.app import App
from mailbot.cases.casebook import CaseRecord
from mailbot.ingest.maildir import MaildirMailbox
from mailbot.ingest.mime.parse import parse_email
from mailbot.models import Folder, Outcome
from tests import hostile_wrapped as wrapped
from tests.integration.conftest import folder_count

Run = Callable[[], dict[str, CaseRecord]]
HELD = {"too_many_attachments"}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", sorted(wrapped.CLASSES))
def test_wrapped_class_through_the_daemon(app: App, run: Run, kind: str) -> None:
    """GIVEN every email of one class (forms inside encoded forwards, Outlook items or S/MIME;
    past the attachment limit; behind long preambles) delivered to the Inbox
    WHEN the daemon processes them in one run
    THEN a form inside is accepted, the others get their code (held for too many
    attachments, returned otherwise), and the Inbox is empty."""
    inbox = MaildirMailbox(app.config.mail_dir, use_inotify=False)
    sent: dict[str, str] = {}
    for name in wrapped.CLASSES[kind]:
        raw = wrapped.build(name)
        inbox.deliver(Folder.INBOX, raw)
        sent[name] = parse_email(raw, app.config.limits).message_id
    cases = run()
    for name, (_, expected) in wrapped.CLASSES[kind].items():
        decision = cases[sent[name]].decision
        if expected == wrapped.FORM:
            assert decision.outcome is Outcome.ACCEPTED, (name, decision)
        elif expected in HELD:
            assert decision.outcome is Outcome.HELD, name
            assert decision.reasons == (expected,), name
        else:
            assert decision.outcome is Outcome.RETURNED, name
            assert expected in decision.reasons, name
    assert folder_count(app, "Inbox") == 0
    held = sum(1 for _, code in wrapped.CLASSES[kind].values() if code in HELD)
    assert folder_count(app, "Exceptions") == held


def test_too_many_attachments_is_acknowledged_not_rejected(app: App, run: Run) -> None:
    """GIVEN an email with the form as its 51st file
    WHEN the daemon processes it
    THEN the referrer gets an acknowledgement saying an administrator will find the form,
    not a rejection ('no Word document'), and the email waits in Exceptions."""
    raw = wrapped.fifty_one_form_last("daemon-51")
    MaildirMailbox(app.config.mail_dir, use_inotify=False).deliver(Folder.INBOX, raw)
    case = run()[parse_email(raw, app.config.limits).message_id]
    assert app.ctx.dispatch is not None
    messages = app.ctx.dispatch.outbox.messages(case.reference)
    assert [m.kind for m in messages] == ["acknowledgement"]
    text = b" ".join(messages[0].raw.split()).decode("utf-8", "replace")
    assert "an administrator will find the referral form" in text
    assert folder_count(app, "Exceptions") == 1
