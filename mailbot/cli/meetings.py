"""`mailbot meetings` and `mailbot cases list-at`: what is listed where.

The team checks what is listed where before each agenda and lists an emergency case at a
named meeting. (What mailbot sent or could not send: `mailbot outbox`, in `cli.outbox`.)
"""

from __future__ import annotations

import getpass
import json
import sys
from datetime import date, datetime

import click

from mailbot.actions import ActionError, AgendaGone, list_at
from mailbot.cli.root import cases, main, open_for_command
from mailbot.context import Context
from mailbot.models import Meeting


@cases.command("list-at")
@click.argument("reference")
@click.argument("day", metavar="DATE", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option(
    "--addendum",
    is_flag=True,
    help="If the meeting's agenda has gone, send the case as an addendum without asking.",
)
@click.option(
    "--actor",
    default=getpass.getuser,
    show_default="your login name",
    help="Who is acting, for the audit log.",
)
@click.pass_context
def cases_list_at(
    ctx: click.Context, reference: str, day: datetime, addendum: bool, actor: str
) -> None:
    """List an accepted case REFERENCE at its area's meeting on DATE (YYYY-MM-DD), for
    emergencies."""
    with open_for_command(ctx) as app:
        meeting = list_at_asking(app.ctx, reference, day.date(), actor, addendum=addendum)
        click.echo(
            f"{reference} listed at the {meeting.area} MARAC on {meeting.date}"
            f" {meeting.time:%H:%M}; the referrer and the IDVA service will be told."
        )


def list_at_asking(
    ctx: Context, reference: str, day: date, actor: str, *, addendum: bool
) -> Meeting:
    """`actions.list_at`, asking first when the meeting's agenda has gone (an addendum)."""
    try:
        return list_at(ctx, reference, day, actor, addendum=addendum)
    except AgendaGone as exc:
        if not sys.stdin.isatty():
            raise click.ClickException(f"{exc}: add --addendum to list it anyway") from None
        click.confirm(f"{exc}. List it, and send it as an addendum?", abort=True)
    except ActionError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        return list_at(ctx, reference, day, actor, addendum=True)
    except ActionError as exc:
        raise click.ClickException(str(exc)) from None


@main.group()
def meetings() -> None:
    """Upcoming MARAC meetings."""


@meetings.command("list")
@click.option("--area", help="Only this area.")
@click.option("--days", default=28, show_default=True, help="How far ahead to look, in days.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_context
def meetings_list(ctx: click.Context, area: str | None, days: int, as_json: bool) -> None:
    """Upcoming meetings with the number of cases listed at each."""
    with open_for_command(ctx) as app:
        if area is not None and area.title() not in app.config.areas:
            raise click.BadParameter(
                f"unknown area {area}; choose one of {', '.join(app.config.areas)}",
                param_hint="'--area'",
            )
        today = app.ctx.clock.now().astimezone(app.config.zone).date()
        loads = app.ctx.listings.upcoming(today, days, area.title() if area else None)
    rows = [
        {
            "area": m.meeting.area,
            "date": m.meeting.date.isoformat(),
            "time": f"{m.meeting.time:%H:%M}",
            "agenda_date": m.meeting.agenda_date.isoformat(),
            "listed": m.discussion,
            "information_only": m.information,
            "capacity": m.meeting.capacity,
            "agenda_sent": m.agenda_sent,
        }
        for m in loads
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(f"{'DATE':<11} {'TIME':<5} {'AREA':<14} {'AGENDA':<11} LISTED  INFO")
    for r in rows:
        click.echo(
            f"{r['date']:<11} {r['time']:<5} {r['area']:<14} {r['agenda_date']:<11}"
            f" {r['listed']:>2}/{r['capacity']:<3} {r['information_only']:>4}"
            f"{'  (agenda sent)' if r['agenda_sent'] else ''}"
        )
