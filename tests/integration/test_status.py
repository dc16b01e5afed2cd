"""`mailbot status` as monitoring uses it: the facts, and an exit code that means something."""

from __future__ import annotations

import json
import os
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from mailbot.app import open_app
from mailbot.cli import main
from mailbot.config.mail import ImapMailboxSettings
from mailbot.demo.formwriter import render_form
from mailbot.demo.sample_mail import compose, docx_attachment
from mailbot.demo.samples import sample_form
from mailbot.ingest.maildir import MaildirMailbox
from mailbot.meetings.calendar import Calendar
from mailbot.meetings.listing import Listings
from mailbot.models import Folder
from mailbot.service.health import LAST_POLL_KEY, STARTED_KEY, Limits, check_health

POLICE = "pc.adams@west-midlands.pnn.police.uk"
ATTENTION = 1


def _status(workspace: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        main, ["--config", str(workspace / "mailbot.toml"), "status", *args]
    )
    return result.exit_code, result.output


def _deliver(workspace: Path, n: int) -> Path:
    app = open_app(workspace / "mailbot.toml", with_mailbox=False)
    form = sample_form(random.Random(n), referral_date=datetime.now(UTC).date())
    raw = compose(
        sender=POLICE,
        to="marac_referrals@west-midlands.pnn.police.uk",
        subject="MARAC referral",
        message_id=f"<status-{n}@example.pnn.police.uk>",
        sent_at=datetime.now(UTC),
        attachments=[docx_attachment("r.docx", render_form(form))],
    )
    ref = MaildirMailbox(app.config.mail_dir, use_inotify=False).deliver(Folder.INBOX, raw)
    app.close()
    return app.config.mail_dir / "Inbox" / "new" / ref


def _run_once(workspace: Path) -> None:
    result = CliRunner().invoke(
        main, ["--config", str(workspace / "mailbot.toml"), "run", "--once"]
    )
    assert result.exit_code == 0, result.output


def test_a_fresh_install_is_not_started_yet_which_is_no_problem(workspace: Path) -> None:
    """GIVEN a fresh installation: no state directory, then one made by another command
    (as after the demo or `users add`), the daemon never started
    WHEN status is asked
    THEN it says "not started yet" and exits 0, creates nothing, and does not call a poll
    that never was due missing, nor agendas overdue."""
    code, output = _status(workspace)
    assert code == 0, output
    assert output.startswith("mailbot: not started yet (state directory ")
    assert len(output.splitlines()) == 1
    assert not (workspace / "var").exists()
    code, output = _status(workspace, "--json")
    assert (code, json.loads(output)["started"]) == (0, False)
    open_app(workspace / "mailbot.toml", with_mailbox=False).close()  # the state exists now
    code, output = _status(workspace)
    assert code == 0, output
    assert "mailbot: OK (not started yet)" in output
    assert "last mailbox poll   none yet: not started yet" in output
    assert "never completed" not in output
    assert "overdue" not in output


def test_a_daemon_that_started_and_never_polled_needs_attention_after_a_while(
    workspace: Path,
) -> None:
    """GIVEN a daemon whose start is recorded but that never completed a mailbox poll
    WHEN status is asked a minute after the start, then twenty minutes after
    THEN the first is information (exit 0), the second a problem (exit 1)."""
    app = open_app(workspace / "mailbot.toml", with_mailbox=False)
    app.store.state_set(STARTED_KEY, (datetime.now(UTC) - timedelta(minutes=1)).isoformat())
    code, output = _status(workspace)
    assert code == 0, output
    assert "last mailbox poll   none yet: started 6" in output  # "60 s" or "61 s"
    app.store.state_set(STARTED_KEY, (datetime.now(UTC) - timedelta(minutes=20)).isoformat())
    app.close()
    code, output = _status(workspace)
    assert code == ATTENTION
    assert "the daemon started 20 minute(s) ago and has not completed a mailbox poll" in output


def test_an_agenda_is_overdue_only_with_cases_listed_and_the_daemon_running(
    workspace: Path,
) -> None:
    """GIVEN one case listed at a meeting, the other meetings empty
    WHEN health is checked the day after that meeting's agenda date, with the daemon's last
    poll before the agenda was due, then after it
    THEN no empty meeting's agenda is ever overdue, and the listed one only once the daemon
    ran past its due time without sending it."""
    _deliver(workspace, 3)
    _run_once(workspace)
    app = open_app(workspace / "mailbot.toml", with_mailbox=False)
    config = app.config
    today = datetime.now(config.zone).date()
    loads = Listings(app.store, Calendar(config), list(config.areas)).upcoming(today, 42)
    [listed] = [m for m in loads if m.discussion + m.information]
    agenda_day = listed.meeting.agenda_date
    due = datetime.combine(agenda_day, config.agenda_send_time, tzinfo=config.zone)
    later = due + timedelta(days=1)
    assert later.date() < listed.meeting.date  # the meeting is still to come
    app.store.state_set(LAST_POLL_KEY, (due - timedelta(hours=1)).isoformat())
    before = check_health(config, app.store, later, Limits(poll_minutes=60 * 24 * 7))
    app.store.state_set(LAST_POLL_KEY, (due + timedelta(hours=1)).isoformat())
    after = check_health(config, app.store, later, Limits(poll_minutes=60 * 24 * 7))
    app.close()
    assert before.overdue_agendas == 0
    assert after.overdue_agendas == 1


def test_after_a_poll_all_is_well_and_the_facts_are_there(workspace: Path) -> None:
    """GIVEN the daemon has just processed the inbox
    WHEN status is asked, as text and as JSON
    THEN it exits 0 and shows the last poll, an empty backlog, held items, the outbox and the
    next agenda."""
    _deliver(workspace, 1)
    _run_once(workspace)
    code, output = _status(workspace)
    assert code == 0, output
    for label in (
        "last mailbox poll",
        "inbox backlog       0 waiting",
        "held items",
        "outbox              0 pending, 0 failed",
        "next agenda due",
    ):
        assert label in output
    code, output = _status(workspace, "--json")
    facts = json.loads(output)
    assert code == 0
    assert facts["ok"] is True
    assert facts["backlog"] == 0
    assert facts["problems"] == []
    assert datetime.fromisoformat(facts["last_poll"]) > datetime.now(UTC) - timedelta(minutes=1)
    assert set(facts) >= {
        "held",
        "outbox_pending",
        "outbox_failed",
        "next_agenda",
        "overdue_agendas",
        "oldest_waiting",
    }


def test_a_stale_poll_an_old_backlog_and_a_failed_send_need_attention(workspace: Path) -> None:
    """GIVEN a last poll an hour ago, an email waiting two hours and a failed outgoing message
    WHEN status is asked
    THEN each is named as a problem and the exit code is 1."""
    _run_once(workspace)
    app = open_app(workspace / "mailbot.toml", with_mailbox=False)
    app.store.state_set(LAST_POLL_KEY, (datetime.now(UTC) - timedelta(hours=1)).isoformat())
    with app.store.transaction() as conn:
        conn.execute(
            "INSERT INTO outbox (idem_key, kind, recipient, message_id, raw, state,"
            " next_attempt_at, created_at) VALUES ('k', 'rejection', 'a@b.example',"
            " '<m@x>', x'00', 'failed', '2026-01-01', '2026-01-01')"
        )
    app.close()
    waiting = _deliver(workspace, 2)
    two_hours_ago = time.time() - 7200
    os.utime(waiting, (two_hours_ago, two_hours_ago))
    code, output = _status(workspace)
    assert code == ATTENTION
    assert "no successful mailbox poll for 60 minute(s)" in output
    assert "1 outgoing message(s) failed" in output
    assert "1 message(s) waiting in the inbox, the oldest for 2 hour(s)" in output
    code, _ = _status(workspace, "--max-poll-age", "120", "--max-backlog-age", "180")
    assert code == ATTENTION  # the failed message still needs a person


def test_a_server_mailbox_reports_its_backlog_as_unknown(workspace: Path) -> None:
    """GIVEN an IMAP mailbox (the backlog is on the server, not in local folders)
    WHEN health is checked
    THEN the backlog is unknown rather than a guess, and not a problem by itself."""
    app = open_app(workspace / "mailbot.toml", with_mailbox=False)
    imap = ImapMailboxSettings(
        kind="imap", address="m@example.org", host="imap.example.org", username="m"
    )
    now = datetime.now(UTC)
    app.store.state_set(LAST_POLL_KEY, now.isoformat())
    health = check_health(app.config.model_copy(update={"mailbox": imap}), app.store, now)
    app.close()
    assert health.backlog is None
    assert health.ok
