"""Documents that make Word fetch on opening, through the daemon: refused and quarantined.

A referral whose picture, field or imported part makes Word reach a web server or a file
share as it opens would hand the share the reader's Windows credentials the moment a
coordinator opened it from Processed. Through a real Maildir, runner and database: each is
returned as `active_content` (the referrer told what to take out) and filed in Exceptions,
like a macro, while forms with ordinary links are accepted.
"""

from __future__ import annotations

import email
from collections.abc import Callable
from email import policy

from mailbot.app import App
from mailbot.cases.casebook import CaseRecord
from mailbot.models import Outcome
from tests import hostile_active
from tests.integration.conftest import Send, folder_count

POLICE = "pc.adams@west-midlands.pnn.police.uk"
FETCHING = (
    hostile_active.linked_image_unc,
    hostile_active.includepicture_split,
    hostile_active.computed_field_name,
    hostile_active.altchunk_rtf_includepicture,
    hostile_active.altchunk_html_unc_image,
    hostile_active.altchunk_mht_field,
)
CONTROLS = (hostile_active.external_hyperlinks, hostile_active.altchunk_html_links_only)


def _reply_texts(app: App, reference: str) -> list[str]:
    texts = []
    for row in app.ctx.dispatch.outbox.messages(reference):
        message = email.message_from_bytes(row.raw, policy=policy.default)
        body = message.get_body(preferencelist=("plain",))
        texts.append(" ".join(body.get_content().split()) if body is not None else "")
    return texts


def test_documents_that_fetch_on_opening_are_refused_and_quarantined(
    app: App, send: Send, run: Callable[[], dict[str, CaseRecord]]
) -> None:
    """GIVEN emails whose forms link a picture on a share, include one by a field (split over
    runs, or named by another field), or import RTF, HTML or MHT that does, and two forms
    with only ordinary links
    WHEN the daemon processes the inbox
    THEN each fetching form is returned as active_content, its referrer told in plain English
    what to take out, and its email filed in Exceptions; the forms with links are accepted
    and filed in Processed."""
    refused = [send(POLICE, build(), filename=f"{build.__name__}.docx") for build in FETCHING]
    accepted = [send(POLICE, build(), filename=f"{build.__name__}.docx") for build in CONTROLS]
    cases = run()
    for message_id in refused:
        case = cases[message_id]
        assert case.decision.outcome is Outcome.RETURNED
        assert case.decision.reasons == ("active_content",)
        assert any(
            "linked from another computer" in text for text in _reply_texts(app, case.reference)
        )
    for message_id in accepted:
        assert cases[message_id].decision.outcome is Outcome.ACCEPTED
    assert folder_count(app, "Exceptions") == len(FETCHING)
    assert folder_count(app, "Processed") == len(CONTROLS)
    assert folder_count(app, "Inbox") == 0
