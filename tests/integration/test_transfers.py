"""Outgoing transfers through the `mailbot transfer out` command, and flag expiry.

The details of a move (a new address above all) are typed at a prompt or read from a file:
the command has no option that could carry them, so they never reach shell history.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from mailbot.app import App, SystemClock, open_app
from mailbot.cases.casebook import CaseRecord
from mailbot.cli import distribution, main
from mailbot.demo.formwriter import render_form
from mailbot.demo.samples import sample_form, with_values
from mailbot.meetings.agendas import Agendas
from mailbot.meetings.flags import FlagExpiry
from tests.conftest import NOW, FixedClock
from tests.integration.conftest import Send
from tests.integration.papers import (
    MEETING,
    POLICE,
    TEAM,
    Run,
    body,
    docx_lines,
    list_cases,
    parse,
    rows,
)
from tests.pii import leaks, personal_values

NEW_HOME = "14 Fresh Start Close, Earlsdon, Coventry CV5 6AB"


@pytest.fixture(autouse=True)
def _commands_run_on_the_test_day(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI opens mailbot with the system clock: pin it to the tests' Monday."""
    monkeypatch.setattr(SystemClock, "now", lambda self: NOW)


@pytest.fixture
def cases(app: App, send: Send, run: Run) -> dict[str, CaseRecord]:
    return list_cases(app, send, run)


def _cli(workspace: Path, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(
        main, ["--config", str(workspace / "mailbot.toml"), *args], input=stdin
    )
    return result.exit_code, result.output


def test_the_command_takes_no_details_from_its_arguments() -> None:
    """GIVEN `mailbot transfer out`
    WHEN its parameters are listed
    THEN only the reference, the destination, a details file and --yes exist."""
    names = {p.name for p in distribution.transfer_out.params}
    assert names == {"reference", "to", "details_file", "yes"}


def test_a_transfer_typed_at_the_prompt_goes_securely_and_on_the_agenda(
    workspace: Path, app: App, cases: dict[str, CaseRecord]
) -> None:
    """GIVEN a listed Wolverhampton case
    WHEN an administrator transfers it to Coventry, typing the details at the prompts
    THEN the team address (which runs the Coventry MARAC) gets the details by the secure
    route, the move is audited, and the next Wolverhampton agenda lists it last without the
    new address."""
    reference = cases["new"].reference
    code, output = _cli(
        workspace,
        "transfer",
        "out",
        reference,
        "--to",
        "coventry",
        stdin=f"{NEW_HOME}\nher two children\nHe has family in Coventry\ny\n",
    )
    assert code == 0, output
    assert "listed on the Wolverhampton agenda of 2026-11-11" in output
    [email] = rows(app, "transfer")
    assert email.recipient == TEAM
    assert app.config.is_secure_address(TEAM)
    assert parse(email)["X-Mailbot-Kind"] == "transfer"
    text = body(email)
    for words in (
        NEW_HOME,
        "her two children",
        "He has family in Coventry",
        cases["new"].form.value("victim_surname"),  # type: ignore[union-attr]
    ):
        assert words in text
    assert any(a.action == "transfer_out" for a in app.store.audit_log(reference))
    document = Agendas(app.ctx).preview("Wolverhampton", MEETING)
    assert document is not None
    lines = docx_lines(document)
    transfers = lines.index("Outgoing MARAC transfers")
    assert any(reference in line and "transfer out" in line for line in lines[transfers:])
    assert "Coventry MARAC" in lines[transfers:]
    assert NEW_HOME not in "\n".join(lines)


def test_a_transfer_from_a_details_file(
    workspace: Path, app: App, cases: dict[str, CaseRecord], tmp_path: Path
) -> None:
    """GIVEN the details in a TOML file, and a file with a misspelt key
    WHEN the command runs with --details-file to a secure MARAC address
    THEN the good file is used (and the command says to delete it); the bad one is refused
    naming the misspelt key and the right one, and nothing is recorded for it."""
    bad = tmp_path / "bad.toml"
    bad.write_text('new_adress = "somewhere"\n')
    code, output = _cli(
        workspace,
        "transfer",
        "out",
        cases["new"].reference,
        "--to",
        "marac@staffordshire.pnn.police.uk",
        "--details-file",
        str(bad),
        "--yes",
    )
    assert code != 0
    assert f"{bad} line 1: unknown key new_adress; did you mean new_address?" in output
    assert "somewhere" not in output
    assert "somewhere" not in output
    assert rows(app, "transfer") == []
    good = tmp_path / "details.toml"
    good.write_text(
        f'new_address = "{NEW_HOME}"\nmoved_with = "no one"\n'
        'concerns = """Perpetrator\'s brother lives nearby."""\n'
    )
    code, output = _cli(
        workspace,
        "transfer",
        "out",
        cases["new"].reference,
        "--to",
        "marac@staffordshire.pnn.police.uk",
        "--details-file",
        str(good),
        "--yes",
    )
    assert code == 0, output
    assert "delete it now" in output
    [email] = rows(app, "transfer")
    assert email.recipient == "marac@staffordshire.pnn.police.uk"
    assert "brother lives nearby" in body(email)


@pytest.mark.parametrize(
    ("to", "why"),
    [
        ("marac@staffordshire.gov.uk", "not on a secure route"),
        ("Wolverhampton", "already a Wolverhampton case"),
        ("Narnia", "neither a West Midlands area nor an email address"),
    ],
)
def test_a_transfer_is_refused_before_any_detail_is_asked(
    workspace: Path, app: App, cases: dict[str, CaseRecord], to: str, why: str
) -> None:
    """GIVEN a destination that is not secure, the case's own area, or nonsense
    WHEN the command runs
    THEN it is refused before prompting for details, and nothing is recorded or queued."""
    code, output = _cli(
        workspace,
        "transfer",
        "out",
        cases["new"].reference,
        "--to",
        to,
        stdin=f"{NEW_HOME}\n\n\ny\n",
    )
    assert code != 0
    assert why in output
    assert "New address" not in output
    assert rows(app, "transfer") == []


def test_flag_expiry_is_sent_once_by_route_a_year_after_the_last_marac(
    workspace: Path, app: App, cases: dict[str, CaseRecord], run: Run, clock: FixedClock
) -> None:
    """GIVEN cases heard at the Wolverhampton MARAC of 11 November 2026
    WHEN the daemon runs on 10 November 2027, on 11 November 2027, again, and after a restart
    THEN on the 11th each address on the list gets one notice per case: the case reference
    alone to the password-route agency, the victim's name too by the secure route; never
    again."""
    clock.current = datetime(2027, 11, 10, 9, 0, tzinfo=UTC)
    run()
    assert rows(app, "flag_expiry") == []
    clock.current += timedelta(days=1)
    run()
    run()
    notices = rows(app, "flag_expiry")
    assert len(notices) == 3 * 6
    values = set().union(*(personal_values(c.form) for c in cases.values() if c.form))
    for row in notices:
        case = next(c for c in cases.values() if c.reference == row.reference)
        assert case.form is not None
        assert parse(row)["X-Mailbot-Kind"] == "flag_expiry"
        assert case.reference in parse(row)["Subject"]
        name = case.form.value("victim_surname")
        if app.config.is_secure_address(str(row.recipient)):
            assert name in body(row)
        else:
            assert leaks(row.raw, values) == []
    app.close()
    again = open_app(workspace / "mailbot.toml", FixedClock(clock.current + timedelta(days=30)))
    again.runner().run_once()
    assert len(rows(again, "flag_expiry")) == 3 * 6
    again.close()


def test_a_later_marac_of_the_same_victim_keeps_the_flag(
    app: App, send: Send, run: Run, clock: FixedClock
) -> None:
    """GIVEN a victim heard on 11 November 2026 and referred again (a repeat) in March 2027
    WHEN the daemon runs on 11 November 2027
    THEN no flag-expiry notice is sent for the first case: its victim's last MARAC is later."""
    first_form = sample_form(random.Random(401), area="Wolverhampton", referrer_email=POLICE)
    first_id = send(POLICE, render_form(first_form))
    first = run()[first_id]
    assert first.meeting_date == MEETING
    clock.current = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
    again_form = with_values(
        sample_form(
            random.Random(402),
            area="Wolverhampton",
            referrer_email=POLICE,
            referral_date=clock.current.date(),
        ),
        **{k: first_form.value(k) for k in ("victim_surname", "victim_forenames", "victim_dob")},
    )
    again_id = send(POLICE, render_form(again_form))
    second = run()[again_id]
    assert second.decision.repeat_of == first.reference
    clock.current = datetime(2027, 11, 12, 9, 0, tzinfo=UTC)
    assert [c.reference for c in FlagExpiry(app.ctx).due(clock.current.date())] == []
    run()
    assert rows(app, "flag_expiry") == []
