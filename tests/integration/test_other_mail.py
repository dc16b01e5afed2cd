"""Mail that is not a referral: recorded and listed for the team, never answered.

A stranger's "Lunch on Friday?" used to be returned with "please correct and resend", which
confuses the stranger and makes the mailbox a source of backscatter. A partner who forgot the
form, or anyone whose email speaks of a referral, is still told how to send it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mailbot.app import App, SystemClock
from mailbot.cli import main
from mailbot.models import Outcome
from tests.conftest import NOW
from tests.integration.conftest import Send, folder_count
from tests.integration.test_intake import POLICE, Run

STRANGER = "sam.jones@example.com"
LUNCH = "Lunch on Friday?"
LUNCH_BODY = "Are you free on Friday? The usual place at 12:30, my treat."


@pytest.fixture(autouse=True)
def _fixed_now(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI opens its own app with the system clock: fix it to the tests' day."""
    monkeypatch.setattr(SystemClock, "now", lambda self: NOW)


def _outbox(app: App) -> list[tuple[str, str]]:
    return [(m.kind, m.recipient) for m in app.ctx.dispatch.outbox.messages()]


def test_a_strangers_lunch_email_gets_no_reply_and_is_listed(
    app: App, send: Send, run: Run, workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN "Lunch on Friday?" from an address of no agency, with no attachment
    WHEN the inbox is processed
    THEN it is recorded as other mail and filed in Processed, nothing at all is put in the
    outbox or the Outbox folder (no reply, no team notice), its subject is not logged, and
    `mailbot queue other` lists it by sender domain, subject and received time."""
    lunch = send(STRANGER, subject=LUNCH, body=LUNCH_BODY)
    case = run()[lunch]
    assert case.decision.outcome is Outcome.OTHER
    assert case.decision.reasons == ("other_mail",)
    assert case.subject == LUNCH
    assert _outbox(app) == []
    assert folder_count(app, "Outbox") == 0
    assert folder_count(app, "Processed") == 1
    logged = capsys.readouterr()
    assert "Lunch" not in logged.out + logged.err
    assert "treat" not in logged.out + logged.err

    runner = CliRunner()
    config = ["--config", str(workspace / "mailbot.toml")]
    listing = runner.invoke(main, [*config, "queue", "other"])
    assert listing.exit_code == 0, listing.output
    header, row = listing.output.splitlines()
    assert header.split() == ["RECEIVED", "SENDER", "DOMAIN", "REFERENCE", "SUBJECT"]
    assert "example.com" in row
    assert case.reference in row
    assert row.endswith(LUNCH)
    received = case.received_at.astimezone(app.config.zone)
    assert received.strftime("%a %d %b %Y %H:%M") in row  # in the deployment's time zone
    assert STRANGER not in listing.output  # the domain only
    rows = json.loads(runner.invoke(main, [*config, "queue", "other", "--json"]).output)
    assert rows == [
        {
            "reference": case.reference,
            "received_at": case.received_at.isoformat(),
            "sender_domain": "example.com",
            "subject": LUNCH,
        }
    ]
    held = runner.invoke(main, [*config, "queue", "list"])
    assert held.output.strip() == "(none)"  # other mail is not waiting for a decision


def test_no_other_mail_is_said_in_one_line(app: App, workspace: Path) -> None:
    """GIVEN no email processed yet
    WHEN `mailbot queue other` is run
    THEN it says "(none)", as `queue list` does, and the JSON is an empty array."""
    runner = CliRunner()
    config = ["--config", str(workspace / "mailbot.toml")]
    assert runner.invoke(main, [*config, "queue", "other"]).output == "(none)\n"
    assert json.loads(runner.invoke(main, [*config, "queue", "other", "--json"]).output) == []


def test_a_partner_who_forgot_the_form_still_gets_the_advice(
    app: App, send: Send, run: Run
) -> None:
    """GIVEN an email with no attachment and no referral wording, from the police (a
    configured agency on a secure domain)
    WHEN the inbox is processed
    THEN it is returned as no_attachment and the sender gets the rejection with the advice."""
    forgot = send(POLICE, subject="As discussed", body="See attached.")
    case = run()[forgot]
    assert case.decision.outcome is Outcome.RETURNED
    assert case.decision.reasons == ("no_attachment",)
    assert case.subject is None  # a referral's subject may name the victim: not kept
    assert _outbox(app) == [("rejection", POLICE)]


def test_a_stranger_writing_of_a_marac_referral_gets_the_advice(
    app: App, send: Send, run: Run
) -> None:
    """GIVEN an email from an address of no agency with "MARAC referral" in the subject and no
    attachment, and another with "DASH risk assessment" only in the body
    WHEN the inbox is processed
    THEN both are returned as no_attachment and each sender gets the rejection, which says
    no referral form was attached."""
    subject = send(STRANGER, subject="MARAC referral", body="Hello")
    body = send("helper@gmail.com", subject="Hello", body="The DASH risk assessment is below.")
    cases = run()
    for message_id, sender in ((subject, STRANGER), (body, "helper@gmail.com")):
        assert cases[message_id].decision.outcome is Outcome.RETURNED
        assert cases[message_id].decision.reasons == ("no_attachment",)
        sent = app.ctx.dispatch.outbox.messages(cases[message_id].reference)
        assert [(m.kind, m.recipient) for m in sent] == [("rejection", sender)]
        assert b"No referral form was attached" in sent[0].raw


def test_a_strangers_email_with_an_attachment_is_still_a_referral_attempt(
    send: Send, run: Run
) -> None:
    """GIVEN an email from an address of no agency, with no referral wording but a PDF
    attached
    WHEN the inbox is processed
    THEN it is returned as not_word_document, as before: any file makes it a referral."""
    pdf = send(
        STRANGER,
        subject="Lunch on Friday?",
        body="Menu attached.",
        extra=[("menu.pdf", b"%PDF-1.7\n1 0 obj\n", "application/pdf")],
    )
    assert run()[pdf].decision.reasons == ("not_word_document",)
