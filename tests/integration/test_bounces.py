"""A delivery failure notice for mail mailbot sent: the message failed, the team told, once.

Real outbox on a real database: an IDVA alert is sent (through the Outbox Maildir), then a
Postfix notice for it (tests/data/bounces) is recorded as intake will record it, inside one
transaction. A notice landing while a copy is being resent must not be undone by that
send's result.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mailbot.app import App
from mailbot.demo.formwriter import render_form
from mailbot.demo.sample_mail import compose, docx_attachment
from mailbot.dispatch.bounces import Bounce, read_bounce, record_bounce
from mailbot.dispatch.compose import Planned
from mailbot.dispatch.deliver import Dispatcher
from mailbot.dispatch.outbox import OutboxMessage
from mailbot.ingest.maildir import MaildirMailbox
from mailbot.logs import get_logger
from mailbot.models import Folder
from mailbot.service.health import check_health
from tests.conftest import DATA, NOW
from tests.integration.held import POLICE, form

IDVA = "idva@havenwolverhampton.cjsm.net"
THEIRS = "<5f1d2c3b4a5968778695a4b3c2d1e0f9@west-midlands.pnn.police.uk>"  # in the fixtures


def _alert(app: App) -> OutboxMessage:
    with app.store.transaction() as conn:
        app.ctx.dispatch.outbox.enqueue(
            conn,
            Planned(
                kind="idva_alert",
                recipient=IDVA,
                subject="MARAC-2026-00042: new case",
                body="A case was listed.",
            ),
            "MARAC-2026-00042",
            app.ctx.clock.now(),
        )
    [row] = app.ctx.dispatch.outbox.messages()
    return row


def _notice(name: str, message_id: str) -> Bounce:
    raw = (DATA / "bounces" / f"{name}.eml").read_bytes()
    bounce = read_bounce(
        raw.replace(THEIRS.encode(), message_id.encode()).replace(
            b"<99887766554433221100ffeeddccbbaa@west-midlands.pnn.police.uk>", message_id.encode()
        )
    )
    assert bounce is not None
    return bounce


def _record(app: App, bounce: Bounce) -> tuple[tuple[int, ...], tuple[int, ...]]:
    with app.store.transaction() as conn:
        done = record_bounce(
            conn, app.ctx.dispatch.outbox, app.ctx.dispatch.planner, bounce, app.ctx.clock.now()
        )
    return done.matched, done.failed


def test_a_bounced_alert_is_failed_and_the_team_told_once(app: App) -> None:
    """GIVEN an IDVA alert sent, and a Postfix notice (550 5.1.1) for it
    WHEN the notice is recorded, and the same notice again
    THEN the alert is failed with the codes, audited, the team gets one notice (not two),
    and status counts the failure."""
    alert = _alert(app)
    app.runner().run_once()
    bounce = _notice("postfix-550", str(alert.message_id))
    assert _record(app, bounce) == ((alert.id,), (alert.id,))
    assert _record(app, bounce) == ((alert.id,), ())
    rows = {r.kind: r for r in app.ctx.dispatch.outbox.messages()}
    assert rows["idva_alert"].state == "failed"
    assert rows["idva_alert"].last_error == "returned by the recipient's mail system (550 5.1.1)"
    assert rows["team_notice"].state == "pending"
    assert "outbox retry" in rows["team_notice"].raw.decode()
    assert [a.detail for a in app.store.audit_log() if a.action == "send_bounced"] == [
        f"kind=idva_alert outbox={alert.id} status=5.1.1 code=550"
    ]
    health = check_health(app.config, app.store, app.ctx.clock.now())
    assert any("1 outgoing message(s) failed" in p for p in health.problems)


def test_a_delay_notice_and_a_notice_about_other_mail_change_nothing(app: App) -> None:
    """GIVEN an alert sent, a delay warning for it, and a notice about mail mailbot never sent
    WHEN both are recorded
    THEN the alert is matched but stays sent, the other matches nothing, and no notice to
    the team is made."""
    alert = _alert(app)
    app.runner().run_once()
    assert _record(app, _notice("exim-delayed", str(alert.message_id))) == ((alert.id,), ())
    assert _record(app, _notice("not-ours", "<unused@x>")) == ((), ())
    assert app.ctx.dispatch is not None
    assert [r.state for r in app.ctx.dispatch.outbox.messages()] == ["sent"]


class BouncingSender:
    """Sends nothing; while 'sending', the notice for an earlier copy is recorded."""

    def __init__(self, app: App, bounce: Bounce) -> None:
        self.app, self.bounce = app, bounce

    def send(self, raw: bytes, envelope_from: str, recipients: Sequence[str]) -> None:
        _record(self.app, self.bounce)

    def close(self) -> None:
        pass


def test_a_notice_landing_while_a_copy_is_resent_is_not_undone(app: App, workspace: Path) -> None:
    """GIVEN an alert in the outbox, and a notice that it failed arriving while it is
    being sent (an earlier copy bounced during a resend)
    WHEN the send then succeeds
    THEN the alert stays failed: the send's result does not overwrite the notice."""
    alert = _alert(app)
    assert app.ctx.dispatch is not None
    dispatch = app.ctx.dispatch
    bounce = _notice("postfix-550", str(alert.message_id))
    dispatcher = Dispatcher(
        dispatch.outbox, BouncingSender(app, bounce), dispatch.planner, 8, get_logger()
    )
    dispatcher.deliver_due(app.ctx.clock.now())
    [row] = [r for r in dispatch.outbox.messages() if r.kind == "idva_alert"]
    assert row.state == "failed"
    assert str(row.last_error).startswith("returned by the recipient's mail system")


def test_a_bounce_in_the_inbox_fails_the_alert_and_is_no_referral(app: App) -> None:
    """GIVEN a referral accepted and its IDVA alert sent
    WHEN the relay's delivery failure notice for that alert arrives in the referrals mailbox
    THEN the daemon marks the alert failed and tells the team, records no case for the
    notice, answers nobody, and files it in Processed."""
    inbox = MaildirMailbox(app.config.mail_dir, use_inotify=False)
    inbox.deliver(
        Folder.INBOX,
        compose(
            sender=POLICE,
            to=app.config.mailbox.address,
            subject="MARAC referral",
            attachments=[docx_attachment("referral.docx", render_form(form(95)))],
            message_id="<referral-95@west-midlands.pnn.police.uk>",
            sent_at=NOW,
        ),
    )
    runner = app.runner()
    runner.run_once()
    [case] = app.casebook.cases()
    assert app.ctx.dispatch is not None
    [alert] = [
        m for m in app.ctx.dispatch.outbox.messages(case.reference) if m.kind == "idva_alert"
    ]
    assert alert.state == "sent"
    raw = (
        (DATA / "bounces" / "postfix-550.eml")
        .read_bytes()
        .replace(THEIRS.encode(), str(alert.message_id).encode())
    )
    inbox.deliver(Folder.INBOX, raw)
    runner.run_once()
    assert [c.reference for c in app.casebook.cases()] == [case.reference]  # no new case
    rows = {m.id: m for m in app.ctx.dispatch.outbox.messages(case.reference)}
    assert rows[alert.id].state == "failed"
    assert "5.1.1" in str(rows[alert.id].last_error)
    kinds = sorted(m.kind for m in rows.values())
    assert kinds.count("team_notice") == 1
    assert {"rejection", "acknowledgement"}.isdisjoint(kinds)
    done = app.store.conn.execute(
        "SELECT kind, folder FROM messages WHERE kind = 'bounce'"
    ).fetchall()
    assert done == [("bounce", "Processed")]
