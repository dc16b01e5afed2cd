"""`mailbot outbox`: the outgoing mail an operator can see and work, like `postqueue`.

After a relay outage, a wrong address or a message that may not have arrived, the team (or
IT) lists what waits and why, sends failed mail again, holds and releases, makes everything
due now, and settles what needs no sending, without SQL and without stopping the daemon: each
command is one short transaction the running daemon acts on at its next pass. `mailbot
status` counts failed and doubtful mail until each is resent or dismissed.
"""

from __future__ import annotations

import getpass
import json
import re
import sys
from datetime import UTC, datetime

import click

from mailbot.app import App
from mailbot.cli.root import main, open_for_command
from mailbot.cli.views import NONE, table
from mailbot.dispatch.outbox import Outbox, OutboxMessage
from mailbot.dispatch.outbox_admin import (
    DISMISS,
    FLUSH,
    HOLD,
    RELEASE,
    RETRY,
    Action,
    OutboxAdmin,
    Outcome,
)
from mailbot.formdef import AREAS
from mailbot.service.instance import holder

STATES = ["pending", "sending", "sent", "failed", "unknown", "held", "dismissed"]
EXIT_REFUSED = 1


@main.group()
def outbox() -> None:
    """Outgoing messages: what was sent, what waits, what failed, and acting on them."""


@outbox.command("list")
@click.option("--state", type=click.Choice(STATES), help="Only messages in this state.")
@click.option("--case", "reference", help="Only messages about this case.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_context
def outbox_list(
    ctx: click.Context, state: str | None, reference: str | None, as_json: bool
) -> None:
    """Messages in the outbox (newest last); recipients and kinds, never contents."""
    with open_for_command(ctx) as app:
        rows = _outbox(app).messages(reference, state)
    if as_json:
        shown = [{k: getattr(r, k) for k in _JSON_FIELDS} for r in rows]
        click.echo(json.dumps(shown, indent=2))
        return
    if not rows:
        click.echo(NONE)
        return
    header = ("ID", "STATE", "KIND", "FOR", "RECIPIENT", "LAST ERROR")
    lines = [(str(r.id), r.state, r.kind, _about(r), r.recipient, r.last_error or "") for r in rows]
    click.echo(table(header, lines, {5: 40}))


_JSON_FIELDS = (
    "id",
    "reference",
    "kind",
    "recipient",
    "state",
    "attempts",
    "doubts",
    "message_id",
    "created_at",
    "next_attempt_at",
    "sent_at",
    "last_error",
)
# An agenda's, minutes' or notice's key names its meeting: "...|Walsall:2026-12-10:1".
_MEETING = re.compile(rf"\b({'|'.join(AREAS)}):(\d{{4}}-\d{{2}}-\d{{2}})\b")


def _about(message: OutboxMessage) -> str:
    """What a message belongs to: its case, or the meeting (area and date) of an agenda."""
    if message.reference:
        return message.reference
    found = _MEETING.search(message.idem_key)
    return f"{found[1]} MARAC {found[2]}" if found else "-"


@outbox.command("retry")
@click.argument("ids", nargs=-1, type=int)
@click.option("--failed", "every_failed", is_flag=True, help="Every failed message.")
@click.pass_context
def outbox_retry(ctx: click.Context, ids: tuple[int, ...], every_failed: bool) -> None:
    """Send failed, unknown or dismissed messages IDS again (or --failed: every failed one),
    with their attempts counted afresh; a pending one is made due now."""
    _act(ctx, RETRY, ids, "failed" if every_failed else None)


@outbox.command("hold")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "every_pending", is_flag=True, help="Every pending message.")
@click.pass_context
def outbox_hold(ctx: click.Context, ids: tuple[int, ...], every_pending: bool) -> None:
    """Keep messages IDS (or --all pending ones) from being sent until released."""
    _act(ctx, HOLD, ids, "pending" if every_pending else None)


@outbox.command("release")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "every_held", is_flag=True, help="Every held message.")
@click.pass_context
def outbox_release(ctx: click.Context, ids: tuple[int, ...], every_held: bool) -> None:
    """Let held messages IDS (or --all) go: they are due at once."""
    _act(ctx, RELEASE, ids, "held" if every_held else None)


@outbox.command("dismiss")
@click.argument("ids", nargs=-1, type=int)
@click.option("--failed", "every_failed", is_flag=True, help="Every failed message.")
@click.pass_context
def outbox_dismiss(ctx: click.Context, ids: tuple[int, ...], every_failed: bool) -> None:
    """Settle failed, unknown or held messages IDS without sending them (they arrived, or
    went by another route); `status` no longer counts them."""
    _act(ctx, DISMISS, ids, "failed" if every_failed else None)


@outbox.command("flush")
@click.pass_context
def outbox_flush(ctx: click.Context) -> None:
    """Make every pending message due now, whatever its retry time."""
    _act(ctx, FLUSH, (), "pending", allow_none=True)


def _act(
    ctx: click.Context,
    action: Action,
    ids: tuple[int, ...],
    every: str | None,
    *,
    allow_none: bool = False,
) -> None:
    if not ids and every is None:
        raise click.UsageError(
            f"name the messages to {action.name} (see mailbot outbox list)"
            " or use the option for all of them"
        )
    with open_for_command(ctx) as app:
        admin = OutboxAdmin(_outbox(app))
        now = datetime.now(UTC)
        actor = getpass.getuser()
        outcome = admin.apply(action, ids, actor, now) if ids else Outcome()
        if every is not None:
            more = admin.apply_to_state(action, every, actor, now)
            outcome.changed += more.changed
        daemon = holder(app.config.service.state_dir)
    for line in outcome.refused:
        click.echo(f"mailbot: {line}", err=True)
    if outcome.changed or allow_none or not outcome.refused:
        click.echo(_done(action, outcome.changed, daemon is not None))
    if outcome.refused:
        sys.exit(EXIT_REFUSED)


def _done(action: Action, changed: list[int], running: bool) -> str:
    done = {
        "retry": "to be sent again",
        "hold": "held",
        "release": "released",
        "dismiss": "dismissed",
        "flush": "due now",
    }[action.name]
    listed = (
        f" ({', '.join(map(str, changed[:20]))}{', ...' if len(changed) > 20 else ''})"
        if changed
        else ""
    )
    text = f"{len(changed)} message(s) {done}{listed}"
    if action.to_state == "pending" and changed:
        text += (
            "; the running daemon takes them on its next pass"
            if running
            else "; no mailbot daemon is running here: they go when it starts"
            " (or mailbot run --once)"
        )
    return text


def _outbox(app: App) -> Outbox:
    return app.ctx.dispatch.outbox
