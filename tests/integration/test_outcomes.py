"""Every reason, warning and criterion code, produced end to end through the daemon.

Each row is an email (built with the project's own form writer, or a hostile file), put
through a real Maildir, runner and database; the recorded decision must carry the code.
Then the hostile corpus goes through in one batch, and the logs are checked for personal data.
"""

from __future__ import annotations

import io
import json
import random
from collections.abc import Callable
from pathlib import Path

import docx
import pytest

from mailbot import logs
from mailbot.app import App
from mailbot.cases.casebook import CaseRecord
from mailbot.credentials import Secrets
from mailbot.demo.formwriter import render_form
from mailbot.demo.samples import sample_form, with_dash_yes, with_ticks, with_values
from mailbot.dispatch.encrypt import encrypt_docx
from mailbot.ingest.maildir import MaildirMailbox
from mailbot.ingest.mime.parse import parse_email
from mailbot.intake.stages import QUARANTINE
from mailbot.models import Folder, FormData, Outcome
from tests import hostile_active, hostile_corpus
from tests.conftest import TODAY
from tests.integration.conftest import Send, folder_count, sample

Run = Callable[[], dict[str, CaseRecord]]
POLICE = "pc.adams@west-midlands.pnn.police.uk"
HOSTILE = Path(__file__).resolve().parents[1] / "data" / "hostile"
WORDY = " ".join(["risk"] * 25)


def _form(seed: int = 1, **kw: object) -> FormData:
    return sample_form(random.Random(seed), referral_date=TODAY, **kw)  # type: ignore[arg-type]


def _letter() -> bytes:
    document = docx.Document()
    document.add_heading("Referral letter", 0)
    document.add_paragraph("Dear MARAC coordinator, please consider this family.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _below(form: FormData) -> FormData:
    return with_ticks(with_dash_yes(form, 6), reason_visible_high_risk=False)


# (name, document or None, expected outcome, a code that must be among the decision's codes)
CASES: list[tuple[str, Callable[[], bytes | None], Outcome, str]] = [
    ("wrong form", _letter, Outcome.RETURNED, "wrong_form"),
    ("no attachment", lambda: None, Outcome.RETURNED, "no_attachment"),
    ("legacy .doc", hostile_corpus.ole_doc_like, Outcome.RETURNED, "legacy_word_format"),
    ("macros", hostile_corpus.vba_project_part, Outcome.RETURNED, "macro_content"),
    ("active content", hostile_active.dde_field, Outcome.RETURNED, "active_content"),
    ("truncated", hostile_corpus.truncated_docx, Outcome.RETURNED, "unreadable_document"),
    (
        "missing field",
        lambda: render_form(with_values(_form(), victim_surname="")),
        Outcome.RETURNED,
        "missing_field:victim_surname",
    ),
    (
        "invalid field",
        lambda: render_form(with_values(_form(), victim_postcode="WV99")),
        Outcome.RETURNED,
        "invalid_field:victim_postcode",
    ),
    (
        "no reason",
        lambda: render_form(_below(_form(area="Dudley"))),
        Outcome.RETURNED,
        "no_reason_ticked",
    ),
    (
        "no reason, criterion found",
        lambda: render_form(with_ticks(_form(), reason_visible_high_risk=False)),
        Outcome.ACCEPTED,
        "reason_not_ticked",
    ),
    (
        "below threshold",
        lambda: render_form(_below(_form(area="Dudley"))),
        Outcome.RETURNED,
        "threshold_not_met",
    ),
    (
        "under 16",
        lambda: render_form(with_values(_form(), victim_dob="01/01/2012")),
        Outcome.RETURNED,
        "victim_under_16",
    ),
    (
        "chair review",
        lambda: render_form(_below(_form(area="Wolverhampton"))),
        Outcome.HELD,
        "chair_review",
    ),
    (
        "unknown password",
        lambda: encrypt_docx(render_form(_form()), "Nobody-Knows-1"),
        Outcome.HELD,
        "cannot_decrypt",
    ),
    (
        "score mismatch",
        lambda: render_form(with_values(_form(), dash_score="20")),
        Outcome.ACCEPTED,
        "dash_score_mismatch",
    ),
    (
        "young person",
        lambda: render_form(with_values(_form(), victim_dob="01/01/2009")),
        Outcome.ACCEPTED,
        "young_person",
    ),
    ("visible high risk", lambda: render_form(_form()), Outcome.ACCEPTED, "visible_high_risk"),
    (
        "professional judgement",
        lambda: render_form(
            with_values(
                with_ticks(_below(_form()), reason_professional_judgement=True), pj_rationale=WORDY
            )
        ),
        Outcome.ACCEPTED,
        "professional_judgement",
    ),
    (
        "escalation",
        lambda: render_form(
            with_values(
                with_ticks(_below(_form()), reason_escalation=True), police_callouts_12m="4"
            )
        ),
        Outcome.ACCEPTED,
        "escalation",
    ),
    (
        "declared repeat",
        lambda: render_form(
            with_values(
                with_ticks(_below(_form()), reason_repeat=True),
                referral_type="Repeat referral",
                previous_marac_date="01/06/2026",
                repeat_needs_discussion="Yes",
            )
        ),
        Outcome.ACCEPTED,
        "repeat",
    ),
    (
        "repeat for information",
        lambda: render_form(
            with_values(
                with_ticks(_below(_form()), reason_repeat=True),
                referral_type="Repeat referral",
                previous_marac_date="01/06/2026",
                repeat_needs_discussion="No",
            )
        ),
        Outcome.INFO_ONLY,
        "repeat",
    ),
    (
        "transfer",
        lambda: render_form(
            with_values(
                with_ticks(_below(_form()), reason_transfer=True),
                referral_type="Transfer in from another MARAC",
                transfer_from="Staffordshire",
            )
        ),
        Outcome.ACCEPTED,
        "transfer",
    ),
]


@pytest.mark.parametrize(("name", "build", "outcome", "code"), CASES, ids=[c[0] for c in CASES])
def test_each_code_end_to_end(
    send: Send, run: Run, name: str, build: Callable[[], bytes | None], outcome: Outcome, code: str
) -> None:
    """GIVEN an email built to produce one code
    WHEN the daemon processes it
    THEN its recorded decision has the expected outcome and carries the code."""
    message_id = send(POLICE, build())
    decision = run()[message_id].decision
    assert decision.outcome is outcome, name
    assert code in (*decision.reasons, *decision.warnings, *decision.criteria)


def _history(app: App, form: FormData, dates: list[str], **changes: str) -> None:
    person = {
        "victim_surname": form.value("victim_surname"),
        "victim_forenames": form.value("victim_forenames"),
        "victim_dob": "-".join(reversed(form.value("victim_dob").split("/"))),
    }
    person.update(changes)
    rows = [
        f"OLD-{n},Dudley,{day},{person['victim_surname']},{person['victim_forenames']},,"
        f"{person['victim_dob']},,,"
        for n, day in enumerate(dates)
    ]
    app.casebook.import_history(
        "reference,marac_area,marac_date,victim_surname,victim_forenames,victim_aliases,"
        "victim_dob,perp_surname,perp_forenames,perp_dob\n" + "\n".join(rows) + "\n"
    )


def test_history_gives_possible_repeat_and_desktop_review(app: App, send: Send, run: Run) -> None:
    """GIVEN imported history: a near match for one victim, three recent MARACs for another
    WHEN referrals for both arrive
    THEN the first is held as possible_repeat, the second accepted with desktop_review."""
    near, frequent = _form(seed=21, area="Dudley"), _form(seed=22, area="Dudley")
    _history(app, near, ["2026-08-01"], victim_forenames="Somebodyelse")
    _history(app, frequent, ["2026-06-01", "2026-08-01", "2026-10-01"])
    near_id, frequent_id = send(POLICE, render_form(near)), send(POLICE, render_form(frequent))
    cases = run()
    assert cases[near_id].decision.reasons == ("possible_repeat",)
    assert cases[near_id].decision.outcome is Outcome.HELD
    assert {"desktop_review", "repeat_detected"} <= set(cases[frequent_id].decision.warnings)


def test_the_hostile_corpus_gets_clear_outcomes_and_the_daemon_carries_on(
    app: App, send: Send, run: Run
) -> None:
    """GIVEN every file of the hostile corpus emailed, and then a good referral
    WHEN processed in one run
    THEN each hostile email has its expected code, the good one is accepted, the inbox is
    empty; documents with macros or other active content are quarantined in Exceptions,
    beside the emails held for a person."""
    # The encrypted hostile files use the corpus password: make it the police's, so they
    # are opened and reach the checks they are built to trip.
    app.ctx.running.swap(
        app.config,
        Secrets.model_validate(
            {"agencies": {"wmp": {"passwords": [hostile_corpus.CORPUS_PASSWORD]}}}
        ),
    )
    expected = json.loads((HOSTILE / "expected.json").read_text())
    inbox = MaildirMailbox(app.config.mail_dir, use_inotify=False)
    sent = {
        name: send(POLICE, (HOSTILE / name).read_bytes(), filename=name)
        for name in hostile_corpus.CORPUS
    }
    emails = {name: (HOSTILE / name).read_bytes() for name in hostile_corpus.EMAILS}
    for name, (_, code) in hostile_corpus.LARGE_EMAILS.items():
        emails[name], expected[name] = hostile_corpus.build_email(name), code
    for name, raw in emails.items():  # whole emails: delivered as they are
        inbox.deliver(Folder.INBOX, raw)
        sent[name] = parse_email(raw, app.config.limits).message_id
    good = send(POLICE, render_form(_form()))
    cases = run()
    for name, code in expected.items():
        decision = cases[sent[name]].decision
        assert code in (*decision.reasons, *decision.warnings, *decision.criteria), name
    assert cases[good].decision.outcome is Outcome.ACCEPTED
    assert folder_count(app, "Inbox") == 0
    # Exceptions holds the quarantined documents and the emails held for a person.
    held = {"cannot_decrypt", "multiple_forms", "too_many_attachments"}
    kept = sum(1 for code in expected.values() if code in QUARANTINE or code in held)
    assert folder_count(app, "Exceptions") == kept


def test_no_personal_data_reaches_the_logs(send: Send, run: Run) -> None:
    """GIVEN the sample referrals and generated ones, processed with logging at debug
    WHEN the log output is searched
    THEN no name, date of birth, address, postcode or phone number from any form is there."""
    stream = io.StringIO()
    logs.configure("json", "debug", stream=stream)
    try:
        for name in (
            "01-accepted-controls.docx",
            "04-returned-missing-fields.docx",
            "06-accepted-professional-judgement.docx",
        ):
            send(POLICE, sample(name))
        send(POLICE, render_form(_form(seed=40)))
        cases = run()
    finally:
        logs.reset()
    output = stream.getvalue()
    assert "message.decided" in output
    personal = (
        "victim_surname",
        "victim_forenames",
        "victim_dob",
        "victim_address",
        "victim_postcode",
        "victim_safe_phone",
        "perp_surname",
        "perp_forenames",
        "perp_dob",
        "perp_address",
        "referrer_name",
        "referrer_phone",
    )
    checked = 0
    for case in cases.values():
        assert case.form is not None
        for field in personal:
            for part in case.form.value(field).splitlines():
                if len(part.strip()) >= 4:
                    assert part.strip() not in output, field
                    checked += 1
    assert checked > 30
