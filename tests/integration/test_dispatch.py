"""Dispatch end to end: the right messages, to the right people, by the right route, once.

The demo deployment on a real Maildir; messages go out through the embedded Outbox Maildir
or through a real SMTP server (aiosmtpd) on loopback.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import msoffcrypto
import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner

from mailbot.actions import list_at
from mailbot.app import App, open_app
from mailbot.cases.casebook import CaseRecord
from mailbot.cases.lifecycle import list_case
from mailbot.cli import main
from mailbot.demo.formwriter import render_form
from mailbot.demo.samples import sample_form, with_values
from mailbot.dispatch.encrypt import encrypt_docx
from mailbot.models import DashAnswer, FormData, Outcome
from tests.conftest import NOW, TODAY, FixedClock
from tests.integration.conftest import Send, sample
from tests.integration.smtp_server import (
    HOST,
    REFUSED,
    ServerFactory,
    free_port,
    running_servers,
    scripted,
)
from tests.pii import leaks, personal_values

Run = Callable[[], dict[str, CaseRecord]]
POLICE = "pc.adams@west-midlands.pnn.police.uk"
BCT = "s.worker@birminghamchildrenstrust.co.uk"
HOMES = "tenancy@wolverhamptonhomes.org.uk"
GMAIL = "helper@gmail.com"


def _form(seed: int = 1, **kw: Any) -> FormData:
    """A good referral whose referrer address is the police sender used below."""
    kw.setdefault("referrer_email", POLICE)
    return sample_form(random.Random(seed), referral_date=TODAY, **kw)


def _outbox(app: App, reference: str) -> list[tuple[str, str]]:
    assert app.ctx.dispatch is not None
    return sorted((m.kind, m.recipient) for m in app.ctx.dispatch.outbox.messages(reference))


def _raw(app: App, reference: str, kind: str) -> bytes:
    """The first message of `kind` about the case (replies go to the sender first)."""
    assert app.ctx.dispatch is not None
    rows = [m for m in app.ctx.dispatch.outbox.messages(reference) if m.kind == kind]
    return rows[0].raw


def test_an_accepted_case_is_confirmed_listed_and_alerted(app: App, send: Send, run: Run) -> None:
    """GIVEN a good referral for Wolverhampton
    WHEN processed on Monday 2 November 2026
    THEN it is listed at the first Wednesday whose agenda has not gone (11 November), the
    sender and the form's referrer get a threaded confirmation and the IDVA is alerted."""
    form = with_values(
        _form(area="Wolverhampton"), referrer_email="pc.lee@west-midlands.pnn.police.uk"
    )
    message_id = send(POLICE, render_form(form))
    case = run()[message_id]
    assert str(case.meeting_date) == "2026-11-11"
    assert _outbox(app, case.reference) == [
        ("confirmation", "pc.adams@west-midlands.pnn.police.uk"),
        ("confirmation", "pc.lee@west-midlands.pnn.police.uk"),
        ("idva_alert", "idva@havenwolverhampton.cjsm.net"),
    ]
    reply = message_from_bytes(_raw(app, case.reference, "confirmation"), policy=policy.default)
    assert reply["In-Reply-To"] == message_id
    assert message_id in reply["References"]
    assert reply["X-Mailbot-Case"] == case.reference
    assert reply["X-Mailbot-Kind"] == "confirmation"
    assert case.reference in reply["Subject"]
    body = reply.get_body().get_content()  # type: ignore[union-attr]
    for words in (
        "Wolverhampton MARAC",
        "Wednesday 11 November 2026",
        "10:00",
        "Microsoft Teams",
        "book a time slot",
        "no referrer present are\nnot heard",
    ):
        assert words in body
    alert = _raw(app, case.reference, "idva_alert").decode()
    assert form.value("victim_surname") in alert
    assert form.value("victim_postcode") in alert


def test_sexual_violence_cases_in_wolverhampton_go_to_the_sv_idva(
    app: App, send: Send, run: Run
) -> None:
    """GIVEN a Wolverhampton referral with DASH question 16 answered Yes
    WHEN accepted
    THEN the alert goes to the sexual-violence IDVA, not the general one."""
    form = _form(seed=3, area="Wolverhampton")
    form = form.model_copy(update={"dash": {**form.dash, 16: DashAnswer.YES}})
    case = run_one(send, run, POLICE, render_form(form))
    assert ("idva_alert", "sv-idva@havenwolverhampton.cjsm.net") in _outbox(app, case.reference)
    assert ("idva_alert", "idva@havenwolverhampton.cjsm.net") not in _outbox(app, case.reference)


def run_one(send: Send, run: Run, sender: str, doc: bytes | None, **kw: Any) -> CaseRecord:
    message_id = send(sender, doc, **kw)
    return run()[message_id]


def test_each_outcome_sends_exactly_its_messages(app: App, send: Send, run: Run) -> None:
    """GIVEN a returned, a held (no password), a held (other reason) and a duplicate referral
    WHEN processed
    THEN each sends exactly the reply its outcome implies, and no IDVA alert."""
    returned = run_one(send, run, POLICE, render_form(with_values(_form(), victim_dob="")))
    locked = run_one(send, run, HOMES, sample("08-encrypted-unknown-password.docx"))
    two = run_one(
        send,
        run,
        POLICE,
        render_form(_form(seed=4)),
        extra=[("b.docx", render_form(_form(seed=5)), "application/octet-stream")],
    )
    doc = render_form(_form(seed=6))
    first = run_one(send, run, POLICE, doc)
    again = run_one(send, run, POLICE, doc)
    assert _outbox(app, returned.reference) == [("rejection", POLICE)]
    assert _outbox(app, locked.reference) == [("password_request", HOMES)]
    assert _outbox(app, two.reference) == [("acknowledgement", POLICE)]
    assert _outbox(app, again.reference) == [("duplicate_notice", POLICE)]
    assert first.reference in _raw(app, again.reference, "duplicate_notice").decode()
    rejection = _raw(app, returned.reference, "rejection").decode()
    assert "'Victim date of birth' is empty" in rejection
    assert "Rule:" in rejection
    assert "separate email" in _raw(app, locked.reference, "password_request").decode()


def test_a_held_referral_opened_later_is_then_confirmed(app: App, send: Send, run: Run) -> None:
    """GIVEN a referral waiting for its password
    WHEN the password arrives by separate email
    THEN the confirmation and IDVA alert follow the earlier password request."""
    held = run_one(send, run, HOMES, sample("08-encrypted-unknown-password.docx"))
    send(HOMES, subject="password", body="Sparrow-Lane-77")
    run()
    kinds = [k for k, _ in _outbox(app, held.reference)]
    assert kinds == ["confirmation", "idva_alert", "password_request"]


def test_warnings_are_told_in_words(app: App, send: Send, run: Run) -> None:
    """GIVEN an unencrypted referral from gmail with a mis-added DASH score
    WHEN accepted
    THEN the confirmation explains both warnings in words."""
    case = run_one(send, run, GMAIL, render_form(with_values(_form(seed=8), dash_score="23")))
    text = _raw(app, case.reference, "confirmation").decode()
    assert "password-protect the document" in text
    assert "DASH score written on the form differs" in text


def _corpus() -> list[tuple[str, bytes, FormData | None]]:
    """Referrals of every kind, from senders on non-secure domains."""
    items: list[tuple[str, bytes, FormData | None]] = []
    for seed in range(6):
        form = _form(seed=100 + seed, referrer_email=GMAIL)
        items.append((GMAIL, render_form(form), form))
        items.append((BCT, encrypt_docx(render_form(form), "BCT-Marac-7731"), form))
    broken = with_values(
        _form(seed=120, referrer_email=GMAIL), victim_postcode="nowhere", victim_dob=""
    )
    items.append((GMAIL, render_form(broken), broken))
    return items


def test_nothing_personal_reaches_a_non_secure_address(app: App, send: Send, run: Run) -> None:
    """GIVEN referrals of every outcome from non-secure senders, and an IDVA service moved to
    a non-secure address with an agreed password
    WHEN everything is processed
    THEN no message to a non-secure address holds any personal value of any referral outside
    an encrypted attachment, and the IDVA gets the details encrypted with its password."""
    config = app.config
    bswa = next(s for s in config.idva_services if s.id == "bswa")
    moved = config.model_copy(
        update={
            "idva_services": tuple(
                s.model_copy(update={"address": "idva@birminghamchildrenstrust.co.uk"})
                if s is bswa
                else s
                for s in config.idva_services
            )
        }
    )
    app.ctx.running.swap(moved, app.secrets)
    planner = app.ctx.dispatch.planner
    object.__setattr__(planner, "config", moved)
    corpus = _corpus()
    for sender, doc, _ in corpus:
        send(sender, doc)
    cases = run()
    values = set().union(*(personal_values(f) for _, _, f in corpus if f))
    values |= set().union(*(personal_values(c.form) for c in cases.values() if c.form))
    assert len(values) > 100
    rows = app.ctx.dispatch.outbox.messages()
    insecure = [r for r in rows if not moved.is_secure_address(r.recipient)]
    assert {r.kind for r in insecure} >= {"confirmation", "rejection", "idva_alert"}
    for row in insecure:
        assert leaks(row.raw, values) == [], (row.kind, row.recipient)
    alert = next(r for r in insecure if r.kind == "idva_alert")
    message = message_from_bytes(alert.raw, policy=policy.default)
    [attachment] = list(message.iter_attachments())
    opened = _decrypt(attachment.get_content(), "BCT-Marac-7731")
    case = cases_by_reference(cases)[str(alert.reference)]
    assert case.form is not None
    assert case.form.value("victim_surname").encode() in opened


def cases_by_reference(cases: dict[str, CaseRecord]) -> dict[str, CaseRecord]:
    return {c.reference: c for c in cases.values()}


def _decrypt(data: bytes, password: str) -> bytes:
    import io
    import zipfile

    office = msoffcrypto.OfficeFile(io.BytesIO(data))
    office.load_key(password=password)
    out = io.BytesIO()
    office.decrypt(out)
    with zipfile.ZipFile(out) as package:
        return package.read("word/document.xml")


@pytest.fixture
def smtp() -> Iterator[ServerFactory]:
    with running_servers() as start:
        yield start


def _smtp_app(workspace: Path, port: int) -> App:
    path = workspace / "mailbot.toml"
    text = re.sub(
        r'\[sender\]\n(.*?)kind = "maildir"',
        r'[sender]\n\1kind = "smtp"',
        path.read_text(),
        count=1,
        flags=re.S,
    )
    text = (
        text.replace("port = 587", f"port = {port}")
        .replace('host = "localhost"', 'host = "127.0.0.1"')
        .replace("starttls = true", "starttls = false")
    )
    path.write_text(text)
    return open_app(path, FixedClock())


def test_messages_go_out_by_smtp_exactly_once(
    workspace: Path, send: Send, smtp: ServerFactory
) -> None:
    """GIVEN mailbot sending through a real SMTP server
    WHEN a referral is accepted and the daemon runs twice
    THEN the server receives each outbox message once, with its own Message-ID intact."""
    server = smtp(scripted())
    app = _smtp_app(workspace, server.port)
    send(POLICE, render_form(_form()))
    app.runner().run_once()
    app.runner().run_once()
    assert app.ctx.dispatch is not None
    rows = app.ctx.dispatch.outbox.messages()
    assert {r.state for r in rows} == {"sent"}
    assert len(rows) == 2
    received = {_message_id(r.content): r.rcpt_tos for r in server.handler.received}
    assert len(server.handler.received) == len(rows)
    assert received == {r.message_id: [r.recipient] for r in rows}
    app.close()


def _message_id(raw: bytes) -> str:
    return str(message_from_bytes(raw, policy=policy.default)["Message-ID"])


def test_a_refused_recipient_is_failed_and_the_team_told(
    workspace: Path, send: Send, smtp: ServerFactory
) -> None:
    """GIVEN an SMTP server that permanently refuses the referrer's address
    WHEN the reply is sent
    THEN it is marked failed with the reason, the team gets a notice, the alert still goes."""
    server = smtp(scripted(refuse={POLICE: REFUSED}))
    app = _smtp_app(workspace, server.port)
    send(POLICE, render_form(_form()))
    app.runner().run_once()
    app.runner().run_once()
    assert app.ctx.dispatch is not None
    rows = {r.kind: r for r in app.ctx.dispatch.outbox.messages()}
    assert rows["confirmation"].state == "failed"
    assert "550" in str(rows["confirmation"].last_error)
    assert rows["idva_alert"].state == "sent"
    assert rows["team_notice"].state == "sent"
    assert rows["team_notice"].recipient == "marac_team@west-midlands.pnn.police.uk"
    app.close()


def test_an_smtp_outage_retries_later_without_losing_anything(workspace: Path, send: Send) -> None:
    """GIVEN the SMTP server is down when a case is decided
    WHEN it comes back and the retry time has passed
    THEN every message is delivered once."""
    port = free_port()
    app = _smtp_app(workspace, port)
    send(POLICE, render_form(_form()))
    app.runner().run_once()
    assert app.ctx.dispatch.outbox.counts() == {"pending": 2}
    handler = scripted()
    controller = Controller(handler, hostname=HOST, port=port)
    controller.start()
    try:
        clock = app.ctx.clock
        assert isinstance(clock, FixedClock)
        clock.current += timedelta(hours=1)
        app.runner().run_once()
        assert app.ctx.dispatch.outbox.counts() == {"sent": 2}
        assert len(handler.received) == 2
    finally:
        controller.stop()
        app.close()


def test_a_full_meeting_pushes_the_case_to_the_next(
    workspace: Path, send: Send, run: Run, app: App
) -> None:
    """GIVEN the 11 November Wolverhampton meeting already holding its capacity
    WHEN another case is accepted
    THEN it is listed at the following Wednesday."""
    capacity = app.config.areas["Wolverhampton"].meetings.capacity
    with app.store.transaction() as conn:
        for n in range(capacity):
            conn.execute(
                "INSERT INTO cases (reference, message_key, message_id, received_at,"
                " decided_at, sender, outcome, reasons, warnings, criteria, area,"
                " meeting_date, case_ref) VALUES (?, ?, ?, ?, ?, '', 'accepted', '[]',"
                " '[]', '[]', 'Wolverhampton', '2026-11-11', ?)",
                (f"X-{n}", f"k{n}", f"m{n}", NOW.isoformat(), NOW.isoformat(), f"X-{n}"),
            )
            list_case(conn, f"X-{n}", "Wolverhampton", date(2026, 11, 11), NOW)
    case = run_one(send, run, POLICE, render_form(_form(area="Wolverhampton")))
    assert str(case.meeting_date) == "2026-11-18"


def test_an_information_only_case_takes_no_discussion_slot(send: Send, run: Run, app: App) -> None:
    """GIVEN the 11 November Wolverhampton meeting one place short of its capacity, plus
    information-only cases listed there
    WHEN another case is accepted
    THEN it still takes the last place: information-only cases do not count."""
    capacity = app.config.areas["Wolverhampton"].meetings.capacity
    with app.store.transaction() as conn:
        for n in range(capacity + 3):
            outcome = "accepted" if n < capacity - 1 else "info_only"
            conn.execute(
                "INSERT INTO cases (reference, message_key, message_id, received_at,"
                " decided_at, sender, outcome, reasons, warnings, criteria, area,"
                " meeting_date, case_ref) VALUES (?, ?, ?, ?, ?, '', ?, '[]', '[]',"
                " '[]', 'Wolverhampton', '2026-11-11', ?)",
                (f"X-{n}", f"k{n}", f"m{n}", NOW.isoformat(), NOW.isoformat(), outcome, f"X-{n}"),
            )
            list_case(conn, f"X-{n}", "Wolverhampton", date(2026, 11, 11), NOW)
    case = run_one(send, run, POLICE, render_form(_form(area="Wolverhampton")))
    assert str(case.meeting_date) == "2026-11-11"
    load = next(
        m
        for m in app.ctx.listings.upcoming(TODAY, 14, "Wolverhampton")
        if m.meeting.date == date(2026, 11, 11)
    )
    assert (load.discussion, load.information) == (capacity, 4)


def test_emergency_listing_tells_the_referrer_and_the_idva(
    workspace: Path, app: App, send: Send, run: Run
) -> None:
    """GIVEN an accepted case listed on 11 November
    WHEN an administrator lists it at the 4 November meeting (past its cut-off)
    THEN the case moves, the referrer and IDVA are told the new date, and it is audited."""
    case = run_one(send, run, POLICE, render_form(_form(area="Wolverhampton")))
    # The command line's clock is the real one, for which 4 November 2026 is past: the
    # emergency listing itself is made with the fixed clock, the refusals by the command.
    list_at(app.ctx, case.reference, date(2026, 11, 4), "admin")
    assert app.casebook.get(case.reference).meeting_date.isoformat() == "2026-11-04"  # type: ignore[union-attr]
    kinds = [k for k, _ in _outbox(app, case.reference)]
    assert kinds.count("confirmation") == 2
    assert kinds.count("idva_alert") == 2
    assert any(a.action == "listed_at" for a in app.store.audit_log(case.reference))
    refused = CliRunner().invoke(
        main,
        [
            "--config",
            str(workspace / "mailbot.toml"),
            "cases",
            "list-at",
            case.reference,
            "2026-11-05",
        ],
    )
    assert refused.exit_code != 0
    assert "no meeting on 2026-11-05" in refused.output
    assert Outcome.ACCEPTED is case.decision.outcome
