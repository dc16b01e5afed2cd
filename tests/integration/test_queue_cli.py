"""`mailbot queue`: the same actions from a terminal, audited under the OS user (or --actor).

The password for a locked document is typed at a hidden prompt: there is no option that
would put it in the shell history.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from mailbot.app import App, SystemClock
from mailbot.cli import main
from mailbot.models import Outcome
from tests.conftest import NOW
from tests.integration.conftest import Send
from tests.integration.held import (
    GMAIL,
    LOCKED_PASSWORD,
    Run,
    audit_actions,
    chair_review,
    locked,
    possible_repeat,
    raw_messages,
    two_forms,
)


@pytest.fixture(autouse=True)
def _fixed_now(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI opens its own app with the system clock: fix it to the tests' day."""
    monkeypatch.setattr(SystemClock, "now", lambda self: NOW)


def _cli(workspace: Path, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(
        main, ["--config", str(workspace / "mailbot.toml"), *args], input=input
    )


def test_list_and_show_the_queue(workspace: Path, app: App, send: Send, run: Run) -> None:
    """GIVEN a locked case and a possible repeat
    WHEN the queue is listed (all, filtered, JSON) and the repeat shown
    THEN each appears where it should and `show` sets the earlier case beside this one."""
    closed = locked(send, run)
    near, earlier = possible_repeat(app, send, run)
    listing = _cli(workspace, "queue", "list")
    assert listing.exit_code == 0, listing.output
    assert closed.reference in listing.output
    assert near.reference in listing.output
    only = json.loads(
        _cli(workspace, "queue", "list", "--json", "--reason", "possible_repeat").output
    )
    assert [c["reference"] for c in only] == [near.reference]
    shown = _cli(workspace, "queue", "show", near.reference)
    assert shown.exit_code == 0, shown.output
    assert f"Earlier case {earlier}" in shown.output
    assert "* Forename(s):" in shown.output
    assert "Somebodyelse" in shown.output
    assert (
        "Already tried: The 1 password agreed with Wolverhampton Homes"
        in _cli(workspace, "queue", "show", closed.reference).output
    )


def test_retry_reads_the_password_from_a_hidden_prompt(
    workspace: Path, app: App, send: Send, run: Run
) -> None:
    """GIVEN the locked sample
    WHEN `queue retry` is given the password on argv (refused) and then at the prompt
    THEN the case is accepted, audited under the OS user, and the password is not echoed."""
    case = locked(send, run)
    assert _cli(workspace, "queue", "retry", case.reference, "--password", "x").exit_code == 2
    wrong = _cli(workspace, "queue", "retry", case.reference, input="nope\n")
    assert wrong.exit_code == 1
    assert "does not open the document" in wrong.output
    result = _cli(workspace, "queue", "retry", case.reference, input=LOCKED_PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert f"{case.reference}: accepted at the Wolverhampton MARAC" in result.output
    assert LOCKED_PASSWORD not in result.output
    me = getpass.getuser()
    assert (me, "password_supplied", "by=administrator") in audit_actions(app, case.reference)


def test_accept_return_link_new_person_and_discard(
    workspace: Path, app: App, send: Send, run: Run
) -> None:
    """GIVEN one held case for each action
    WHEN each action is run from the CLI with --actor
    THEN each case gets its outcome and the audit names the actor."""
    chair = chair_review(send, run)
    to_return = chair_review(send, run, referrer_email=GMAIL, incident_date="30/10/2026")
    near, earlier = possible_repeat(app, send, run)
    other, _ = possible_repeat(app, send, run, seed=44)
    two = two_forms(send, run)
    runs = [
        ("accept", chair.reference, "--criterion", "professional_judgement"),
        (
            "return",
            to_return.reference,
            "--reason",
            "threshold_not_met",
            "--note",
            "Please repeat the DASH with the victim.",
            "--yes",
        ),
        ("link", near.reference, earlier),
        ("new-person", other.reference),
        ("discard", two.reference, "--reason", "test", "--yes"),
    ]
    for command, *args in runs:
        result = _cli(workspace, "queue", command, *args, "--actor", "k.smith")
        assert result.exit_code == 0, (command, result.output)
    outcomes = {
        r: app.casebook.get(r).decision.outcome  # type: ignore[union-attr]
        for r in (
            chair.reference,
            to_return.reference,
            near.reference,
            other.reference,
            two.reference,
        )
    }
    assert list(outcomes.values()) == [
        Outcome.ACCEPTED,
        Outcome.RETURNED,
        Outcome.ACCEPTED,
        Outcome.ACCEPTED,
        Outcome.RETURNED,
    ]
    for reference in outcomes:
        assert "k.smith" in {a for a, _, _ in audit_actions(app, reference)}
    replies = raw_messages(app, to_return.reference, "rejection")
    assert "repeat the DASH" not in replies[GMAIL]
    refused = _cli(workspace, "queue", "accept", chair.reference, "--criterion", "repeat")
    assert refused.exit_code == 1
    assert "is accepted, not held" in refused.output


def test_the_note_warning_asks_before_sending(
    workspace: Path, app: App, send: Send, run: Run
) -> None:
    """GIVEN a held case whose referrer address is not secure
    WHEN returned with a note without --yes, and the administrator answers no
    THEN they were told where the note goes and where it is left out, and nothing happened."""
    case = chair_review(send, run, referrer_email=GMAIL)
    result = _cli(
        workspace,
        "queue",
        "return",
        case.reference,
        "--reason",
        "threshold_not_met",
        "--note",
        "Advice.",
        input="n\n",
    )
    assert result.exit_code == 1
    assert f"left out of the reply to: {GMAIL}" in result.output
    assert app.casebook.get(case.reference).decision.outcome is Outcome.HELD  # type: ignore[union-attr]


def test_accounts_are_made_with_a_hidden_password_prompt(workspace: Path, app: App) -> None:
    """GIVEN a fresh deployment
    WHEN IT adds an account (password typed twice), lists and disables it
    THEN the account can log in until disabled, and the password is never printed."""
    from mailbot.web.users import Users

    made = _cli(workspace, "users", "add", "alice", input="a long password 1\n" * 2)
    assert made.exit_code == 0, made.output
    assert "a long password 1" not in made.output
    assert Users(app.store).verify("alice", "a long password 1")
    assert "alice" in _cli(workspace, "users", "list").output
    short = _cli(workspace, "users", "add", "bob", input="short\nshort\n")
    assert short.exit_code == 1
    assert "at least 12 characters" in short.output
    assert _cli(workspace, "users", "disable", "alice").exit_code == 0
    assert "disabled" in _cli(workspace, "users", "list").output
    assert not Users(app.store).verify("alice", "a long password 1")
