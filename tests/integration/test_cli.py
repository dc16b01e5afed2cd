"""The `mailbot` command as the team and IT use it: JSON views, case display, import, demo."""

from __future__ import annotations

import json
import random
import threading
import time
from datetime import date
from pathlib import Path

import docx
import pytest
from click.testing import CliRunner

from mailbot.app import open_app
from mailbot.cli import main
from mailbot.demo.formwriter import render_form
from mailbot.demo.sample_mail import compose, docx_attachment
from mailbot.demo.samples import sample_form
from mailbot.ingest.maildir import MaildirMailbox
from mailbot.models import Folder
from tests.conftest import NOW, TODAY, FixedClock
from tests.integration.conftest import sample

POLICE = "pc.adams@west-midlands.pnn.police.uk"
WEDNESDAY = 2
FIELDS = {
    "reference",
    "message_id",
    "received_at",
    "sender",
    "agency",
    "outcome",
    "reasons",
    "warnings",
    "criteria",
    "area",
    "meeting_date",
    "repeat_of",
    "case",
    "joined",
}


def _deliver(workspace: Path, doc: bytes | None, n: int, sender: str = POLICE) -> str:
    config = open_app(workspace / "mailbot.toml", with_mailbox=False).config
    message_id = f"<cli-{n}@example.pnn.police.uk>"
    raw = compose(
        sender=sender,
        to="marac_referrals@west-midlands.pnn.police.uk",
        subject="MARAC referral",
        message_id=message_id,
        sent_at=NOW,
        attachments=[docx_attachment("r.docx", doc)] if doc else [],
    )
    MaildirMailbox(config.mail_dir, use_inotify=False).deliver(Folder.INBOX, raw)
    return message_id


def _cli(workspace: Path, *args: str) -> str:
    result = CliRunner().invoke(
        main, ["--config", str(workspace / "mailbot.toml"), *args], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_run_once_then_list_cases_and_the_queue_as_json(workspace: Path) -> None:
    """GIVEN an accepted, a returned and a held referral in the inbox
    WHEN `run --once` runs and the cases and queue are listed as JSON
    THEN every email has one object with the documented fields, and the queue holds one."""
    accepted = _deliver(workspace, sample("01-accepted-controls.docx"), 1)
    returned = _deliver(workspace, None, 2)
    held = _deliver(
        workspace,
        sample("08-encrypted-unknown-password.docx"),
        3,
        sender="tenancy@wolverhamptonhomes.org.uk",
    )
    _cli(workspace, "run", "--once")
    cases = json.loads(_cli(workspace, "cases", "list", "--json"))
    assert [set(c) for c in cases] == [FIELDS] * 3
    by_id = {c["message_id"]: c for c in cases}
    assert by_id[accepted]["outcome"] == "accepted"
    assert by_id[accepted]["agency"] == "West Midlands Police"
    assert by_id[accepted]["area"] == "Wolverhampton"
    listed = date.fromisoformat(by_id[accepted]["meeting_date"])
    assert listed.weekday() == WEDNESDAY  # Wolverhampton meets weekly on Wednesdays
    assert by_id[returned]["meeting_date"] is None
    assert by_id[returned]["reasons"] == ["no_attachment"]
    queue = json.loads(_cli(workspace, "queue", "list", "--json"))
    assert [q["message_id"] for q in queue] == [held]
    assert queue[0]["reasons"] == ["cannot_decrypt"]


def test_cases_show_explains_a_returned_referral(workspace: Path) -> None:
    """GIVEN a referral returned for missing fields
    WHEN shown
    THEN each problem is described by the field's label."""
    _deliver(workspace, sample("04-returned-missing-fields.docx"), 1)
    _cli(workspace, "run", "--once")
    reference = json.loads(_cli(workspace, "cases", "list", "--json"))[0]["reference"]
    text = _cli(workspace, "cases", "show", reference)
    assert "returned" in text
    assert "'Victim date of birth' is empty" in text
    assert "'Victim postcode' is empty" in text


def test_history_import_reports_bad_lines_and_imports_nothing(
    workspace: Path, tmp_path: Path
) -> None:
    """GIVEN a history CSV with a bad date on line 3
    WHEN imported
    THEN the command fails naming row 3 and nothing was imported."""
    csv = tmp_path / "history.csv"
    csv.write_text(
        "reference,marac_area,marac_date,victim_surname,victim_forenames,victim_aliases,"
        "victim_dob,perp_surname,perp_forenames,perp_dob\n"
        "A-1,Dudley,2026-05-01,Smith,Jo,,1990-01-01,,,\n"
        "A-2,Dudley,May 2026,Smith,Al,,1990-01-01,,,\n"
    )
    result = CliRunner().invoke(
        main, ["--config", str(workspace / "mailbot.toml"), "history", "import", str(csv)]
    )
    assert result.exit_code == 1
    assert "row 3, column C (marac_date): is not a date" in result.output
    assert "nothing was imported" in result.output
    app = open_app(workspace / "mailbot.toml", with_mailbox=False)
    assert app.store.conn.execute("SELECT COUNT(*) FROM people").fetchone()[0] == 0


def test_form_blank_writes_the_official_form(tmp_path: Path) -> None:
    """GIVEN `mailbot form blank`
    WHEN run
    THEN the file is the v3.1 form, recognised by its properties."""
    out = tmp_path / "blank.docx"
    result = CliRunner().invoke(main, ["form", "blank", str(out)])
    assert result.exit_code == 0
    properties = docx.Document(str(out)).core_properties
    assert (properties.title, properties.subject) == (
        "West Midlands MARAC Referral Form",
        "WM-MARAC-RF v3.1",
    )


def test_demo_processes_its_sample_referrals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a fresh machine state, and the demo started from a directory (a checkout)
    WHEN `mailbot demo` runs without --workspace
    THEN it makes its workspace in the user's cache and says where, leaves the directory it
    ran from untouched, prints a table in which accepted, returned and password-opened cases
    appear, and leaves an empty inbox."""
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    workspace = tmp_path / "cache" / "mailbot-demo"
    runner = CliRunner(env={"XDG_CACHE_HOME": str(tmp_path / "cache")})
    monkeypatch.chdir(checkout)
    result = runner.invoke(main, ["demo"], catch_exceptions=False)
    assert not any(checkout.iterdir())
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == (
        f"Demo workspace (made afresh; --workspace DIR to choose): {workspace}/"
    )
    assert f"Workspace: {workspace}/ (state in var/" in result.output
    assert (workspace / "var" / "mailbot.sqlite3").exists()
    for expected in (
        "accepted",
        "returned",
        "insecure_transport",
        "repeat_detected",
        "duplicate",
        "no_attachment",
        "professional_judgement",
        "already_listed",
    ):
        assert expected in result.output
    inbox = workspace / "var" / "mail" / "Inbox"
    assert not any((inbox / "new").iterdir())
    assert not any((inbox / "cur").iterdir())


def test_the_daemon_notices_new_mail_and_stops_cleanly(workspace: Path) -> None:
    """GIVEN the daemon running
    WHEN a referral arrives
    THEN it is decided without a restart, and a stop request ends the loop."""
    app = open_app(workspace / "mailbot.toml", FixedClock())
    runner = app.runner()
    thread = threading.Thread(target=runner.run_forever, daemon=True)
    thread.start()
    form = sample_form(random.Random(5), referral_date=TODAY)
    message_id = _deliver(workspace, render_form(form), 1)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not app.casebook.cases():
        time.sleep(0.05)
    runner.stop.set()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert [c.message_id for c in app.casebook.cases()] == [message_id]
    app.close()
