"""Agendas end to end: what they hold, when they go, to whom, by which route, and once.

Referrals are processed by the daemon on Monday 2 November 2026 and listed at the
Wolverhampton MARAC of Wednesday 11 November, whose agenda is due on Wednesday 4 November.
Every encrypted agenda is opened with the recipient agency's password and read.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from mailbot import formdef
from mailbot.actions import list_at
from mailbot.app import App, open_app
from mailbot.cli import main
from mailbot.demo.formwriter import render_form
from mailbot.dispatch.outbox import Outbox, OutboxMessage
from mailbot.ingest.document.sniff import classify
from mailbot.meetings.transfers import TransferDetails, Transfers
from mailbot.models import DocKind
from tests.conftest import FixedClock
from tests.integration.conftest import Send
from tests.integration.papers import (
    AGENDA_DUE,
    HOMES,
    MEETING,
    POLICE,
    TEAM,
    Run,
    attachments,
    body,
    decrypt_docx,
    docx_header,
    docx_lines,
    list_cases,
    parse,
    password_for,
    rows,
    wolverhampton_form,
)
from tests.pii import leaks, personal_values

WOLVERHAMPTON_LIST = {
    TEAM,
    "sv-idva@havenwolverhampton.cjsm.net",
    "idva@havenwolverhampton.cjsm.net",
    HOMES,
    "rwt.marac@nhs.net",
    "marac@justice.gov.uk.cjsm.net",
}


def _agendas(app: App, day: date = MEETING) -> list[OutboxMessage]:
    return [
        r
        for r in rows(app, "agenda")
        if f"{day:%B}" in parse(r)["Subject"] and f" {day.day} " in parse(r)["Subject"]
    ]


def _document(app: App, row: OutboxMessage) -> bytes:
    """The agenda a recipient gets, opened with its agency's password where encrypted."""
    [(name, data)] = attachments(row)
    assert name.endswith(".docx")
    recipient = row.recipient
    if app.config.is_secure_address(recipient):
        assert classify(data) is DocKind.DOCX  # attached as it is
        return data
    assert classify(data) is DocKind.ENCRYPTED
    return decrypt_docx(data, password_for(app, recipient))


def test_the_agenda_goes_on_its_date_to_everyone_by_route(
    app: App, send: Send, run: Run, clock: FixedClock
) -> None:
    """GIVEN a new case, a repeat, an information-only repeat and an outgoing transfer
    WHEN the daemon runs before and then at 16:00 on the agenda date
    THEN the agenda goes once to each of the six addresses on the Wolverhampton list (the
    password-route one encrypted with its agency's password), and every copy holds the cases
    in order (discussion, information only, transfers last) without the risk narrative,
    under a header with the protective marking, the meeting name and a page number."""
    cases = list_cases(app, send, run)
    moved_id = send(POLICE, render_form(wolverhampton_form(204)))
    moved = run()[moved_id]
    list_at(app.ctx, moved.reference, date(2026, 11, 4), actor="admin")  # heard earlier
    details = TransferDetails(
        new_address="99 Unheard Road, Coventry CV9 9ZZ",
        moved_with="Nobody",
        concerns="Unseen concern",
    )
    Transfers(app.ctx).record(moved.reference, "Coventry", details, "admin", clock.now())
    clock.current = AGENDA_DUE - timedelta(minutes=1)
    run()
    assert _agendas(app) == []
    clock.current = AGENDA_DUE
    run()
    run()
    sent = _agendas(app)
    assert {str(r.recipient) for r in sent} == WOLVERHAMPTON_LIST
    assert len(sent) == len(WOLVERHAMPTON_LIST)
    order = [cases["new"].reference, cases["repeat"].reference, cases["info"].reference]
    for row in sent:
        assert parse(row)["X-Mailbot-Kind"] == "agenda"
        document = _document(app, row)
        lines = docx_lines(document)
        text = "\n".join(lines)
        headings = [
            lines.index(h)
            for h in ("Cases for discussion", "For information only", "Outgoing MARAC transfers")
        ]
        assert headings == sorted(headings)
        places = [
            next(i for i, line in enumerate(lines) if ref in line and "(" in line)
            for ref in (*order, moved.reference)
        ]
        assert places == sorted(places)
        assert (
            headings[0] < places[0] < places[1] < headings[1] < places[2] < headings[2] < places[3]
        )
        for case in (cases["new"], cases["repeat"], cases["info"]):
            form = case.form
            assert form is not None
            for field in (
                "victim_surname",
                "victim_dob",
                "victim_postcode",
                "perp_surname",
                "perp_dob",
                "victim_aware",
            ):
                assert form.value(field) in text
            for child in form.children:
                assert child.name in text
            service = app.ctx.dispatch.planner.idva_service(case)
            assert service is not None
            assert f"{service.name} - Referred to IDVA" in text
            assert form.value("risk_summary")
            assert form.value("risk_summary") not in text
            for comment in form.dash_comments.values():
                assert comment not in text
        assert "Yes, previous MARAC 06/05/2026" in text  # the imported hearing
        assert "Yes, previous MARAC 01/06/2026" in text  # the information-only form's date
        assert not any(q in text for q in formdef.DASH_QUESTIONS)
        assert "99 Unheard Road" not in text
        assert "Unseen concern" not in text
        header = docx_header(document)
        assert "OFFICIAL-SENSITIVE" in header
        assert "Wolverhampton MARAC, Wednesday 11 November 2026 10:00" in header
        assert " PAGE " in header
        assert " NUMPAGES " in header
    [encrypted] = [r for r in sent if r.recipient == HOMES]
    assert "enter the password when asked" in body(encrypted)
    assert password_for(app, HOMES) not in encrypted.raw.decode()
    row = app.store.conn.execute(
        "SELECT agenda_sent_at FROM meetings WHERE area = 'Wolverhampton' AND date = '2026-11-11'"
    ).fetchone()
    assert row[0] == AGENDA_DUE.isoformat()


def test_nothing_personal_reaches_a_non_secure_address(
    app: App, send: Send, run: Run, clock: FixedClock
) -> None:
    """GIVEN listed cases in Wolverhampton and an address with no route on its list
    WHEN the agenda goes
    THEN no message to a non-secure address holds any personal value outside an encrypted
    attachment, the address with no route gets nothing and the team is told."""
    area = app.config.areas["Wolverhampton"]
    stranger = "marac@unknown-charity.org.uk"
    moved = app.config.model_copy(
        update={
            "areas": {
                **app.config.areas,
                "Wolverhampton": area.model_copy(
                    update={"distribution": (*area.distribution, stranger)}
                ),
            }
        }
    )
    app.ctx.running.swap(moved, app.secrets)
    cases = list_cases(app, send, run)
    clock.current = AGENDA_DUE
    run()
    values = set().union(*(personal_values(c.form) for c in cases.values() if c.form))
    insecure = [r for r in rows(app) if not moved.is_secure_address(str(r.recipient))]
    assert {r.kind for r in insecure} >= {"agenda"}
    for r in insecure:
        assert leaks(r.raw, values) == [], (r.kind, r.recipient)
    assert not [r for r in rows(app) if r.recipient == stranger]
    notices = [r for r in rows(app, "team_notice") if stranger in body(r)]
    assert len(notices) == 1


def test_a_missed_agenda_goes_once_after_a_restart(
    workspace: Path, app: App, send: Send, run: Run
) -> None:
    """GIVEN cases listed on 11 November and the daemon down through the agenda date
    WHEN mailbot is reopened from its files on 6 November, twice
    THEN the agenda goes out on the first pass after the restart, and only then."""
    list_cases(app, send, run)
    app.close()
    for _ in range(2):
        again = open_app(
            workspace / "mailbot.toml",
            FixedClock(datetime.fromisoformat("2026-11-06T10:00:00+00:00")),
        )
        again.runner().run_once()
        again.runner().run_once()
        assert len(_agendas(again)) == len(WOLVERHAMPTON_LIST)
        again.close()


def test_a_crash_while_enqueueing_sends_nothing_and_leaves_the_meeting_open(
    app: App, send: Send, run: Run, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN the agenda due
    WHEN the process dies while the third copy is being put in the outbox
    THEN no copy is queued and the meeting is still open; the next pass sends each once."""
    list_cases(app, send, run)
    clock.current = AGENDA_DUE
    real = Outbox.enqueue
    calls = {"n": 0}

    class Crash(BaseException):
        pass

    def dying(self: Outbox, *args: object, **kw: object) -> bool:
        calls["n"] += 1
        if calls["n"] == 3:
            raise Crash
        return real(self, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(Outbox, "enqueue", dying)
    with pytest.raises(Crash):
        run()
    monkeypatch.setattr(Outbox, "enqueue", real)
    assert _agendas(app) == []
    assert (
        app.store.conn.execute(
            "SELECT COUNT(*) FROM meetings WHERE agenda_sent_at IS NOT NULL"
        ).fetchone()[0]
        == 0
    )
    run()
    run()
    assert len(_agendas(app)) == len(WOLVERHAMPTON_LIST)


def test_cases_listed_later_go_as_numbered_addenda(
    app: App, send: Send, run: Run, clock: FixedClock
) -> None:
    """GIVEN the 11 November agenda already sent
    WHEN two more cases are listed at that meeting (emergency listings), one after the other
    THEN each goes as its own addendum, numbered 1 then 2, holding only that case."""
    list_cases(app, send, run)
    clock.current = AGENDA_DUE
    run()
    late = []
    for seed in (301, 302):
        clock.current += timedelta(hours=20)
        message_id = send(POLICE, render_form(wolverhampton_form(seed)))
        case = run()[message_id]
        assert case.meeting_date == date(2026, 11, 18)  # the 11th is closed to listings
        list_at(app.ctx, case.reference, MEETING, actor="admin", addendum=True)
        run()
        late.append(case.reference)
    sent = _agendas(app)
    assert len(sent) == 3 * len(WOLVERHAMPTON_LIST)
    for number, reference in enumerate(late, 1):
        issue = [r for r in sent if f"addendum {number}" in parse(r)["Subject"]]
        assert {str(r.recipient) for r in issue} == WOLVERHAMPTON_LIST
        for row in issue:
            document = _document(app, row)
            text = "\n".join(docx_lines(document))
            assert f"Addendum {number} to the MARAC agenda" in text
            assert reference in text
            assert all(other not in text for other in late if other != reference)
            assert f"Addendum {number}" in docx_header(document)


def test_preview_writes_the_agenda_without_sending(
    workspace: Path, app: App, send: Send, run: Run, tmp_path: Path
) -> None:
    """GIVEN cases listed on 11 November
    WHEN `mailbot agenda preview Wolverhampton 2026-11-11 OUT.docx` runs
    THEN OUT.docx is the agenda with every case, and nothing is queued to send."""
    cases = list_cases(app, send, run)
    out = tmp_path / "preview.docx"
    result = CliRunner().invoke(
        main,
        [
            "--config",
            str(workspace / "mailbot.toml"),
            "agenda",
            "preview",
            "wolverhampton",
            "2026-11-11",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    text = "\n".join(docx_lines(out.read_bytes()))
    assert all(c.reference in text for c in cases.values())
    assert rows(app, "agenda") == []
    refused = CliRunner().invoke(
        main,
        [
            "--config",
            str(workspace / "mailbot.toml"),
            "agenda",
            "preview",
            "Wolverhampton",
            "2026-11-12",
            str(out),
        ],
    )
    assert refused.exit_code != 0
    assert "no meeting on 2026-11-12" in refused.output
