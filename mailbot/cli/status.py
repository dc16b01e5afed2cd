"""`mailbot status`: is the service working, in one screen, with an exit code for monitoring.

IT points Nagios, Zabbix or a systemd timer at this command: exit 0 means all is well,
exit 1 means something needs a person (the daemon stopped polling, mail is waiting too long,
a message could not be delivered or may not have arrived, the database or a folder cannot be
written), exit 2 a configuration mistake. `--json` gives the same facts to a script. It reads
the database and the mailbox folders only, so it works whether or not the daemon is running,
and run as the service's user it changes nothing (before the first start it does not even
create the state directory: it says "not started yet", exit 0). The failed count clears once
each failed message is resent (`mailbot outbox retry`) or dismissed (`mailbot outbox
dismiss`).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta

import click

from mailbot.app import NotStarted
from mailbot.cli.root import main, open_for_command
from mailbot.service.health import Health, Limits, check_health

EXIT_ATTENTION = 1


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@click.option(
    "--max-poll-age",
    default=Limits.poll_minutes,
    show_default=True,
    type=float,
    help="Minutes without a successful mailbox poll before it needs attention.",
)
@click.option(
    "--max-backlog-age",
    default=Limits.backlog_minutes,
    show_default=True,
    type=float,
    help="Minutes an email may wait in the inbox before it needs attention.",
)
@click.option(
    "--max-outbox-age",
    default=None,
    type=float,
    help="Minutes the oldest unsent message may wait before it needs attention"
    " (default: [outbox] alert_after_minutes).",
)
@click.pass_context
def status(
    ctx: click.Context,
    as_json: bool,
    max_poll_age: float,
    max_backlog_age: float,
    max_outbox_age: float | None,
) -> None:
    """Last mailbox poll, inbox backlog, held items, unsent mail, next agenda.

    Exits 1 when something needs attention, so it can feed monitoring."""
    try:
        with open_for_command(ctx, create=False) as app:
            health = check_health(
                app.config,
                app.store,
                datetime.now(UTC),
                Limits(max_poll_age, max_backlog_age, max_outbox_age),
            )
    except NotStarted as first:
        # Before the first start there is nothing to watch yet: information, exit 0, and
        # nothing created (status changes nothing).
        state_dir = str(first.state_dir)
        if as_json:
            click.echo(json.dumps({"ok": True, "started": False, "state_dir": state_dir}))
        else:
            click.echo(
                f"mailbot: not started yet (state directory {state_dir} does not exist; the"
                " first start creates it: systemctl start mailbot)"
            )
        return
    if as_json:
        click.echo(json.dumps(health.as_dict(), indent=2))
    else:
        click.echo(render(health))
    if not health.ok:
        sys.exit(EXIT_ATTENTION)


def render(health: Health) -> str:
    now = health.checked_at
    waiting = " (not started yet)" if health.last_poll is None and health.started_at is None else ""
    lines = [f"mailbot: {'OK' if health.ok else 'NEEDS ATTENTION'}{waiting}"]
    lines.append(f"  daemon              {_daemon(health)}")
    if health.last_poll is not None:
        poll = f"{_when(health.last_poll)} ({_ago(now - health.last_poll)} ago)"
    elif health.started_at is None:
        poll = "none yet: not started yet (systemctl start mailbot)"
    else:
        poll = f"none yet: started {_ago(now - health.started_at)} ago"
    lines.append(f"  last mailbox poll   {poll}")
    if health.backlog is None:
        backlog = "unknown for this mailbox kind"
    elif health.oldest_waiting is None:
        backlog = "0 waiting"
    else:
        backlog = f"{health.backlog} waiting, oldest {_ago(now - health.oldest_waiting)}"
    lines.append(f"  inbox backlog       {backlog}")
    lines.append(f"  held items          {health.held} (mailbot queue list)")
    extra = "".join(
        f", {n} {what}"
        for n, what in (
            (health.outbox_unknown, "unknown (may not have arrived)"),
            (health.outbox_held, "held"),
        )
        if n
    )
    unsent = (
        ""
        if health.oldest_unsent is None
        else f"; oldest unsent {_ago(now - health.oldest_unsent)}"
    )
    lines.append(
        f"  outbox              {health.outbox_pending} pending,"
        f" {health.outbox_failed} failed{extra}{unsent} (mailbot outbox list)"
    )
    agenda = health.next_agenda
    due = (
        "none in the next weeks"
        if agenda is None
        else (
            f"{agenda.agenda_date}: {agenda.area} MARAC of {agenda.meeting_date},"
            f" {agenda.listed} case(s) listed"
        )
    )
    lines.append(f"  next agenda due     {due}")
    if health.overdue_agendas:
        lines.append(f"  agendas overdue     {health.overdue_agendas} (mailbot meetings list)")
    lines += [f"  ! {problem}" for problem in health.problems]
    return "\n".join(lines)


def _daemon(health: Health) -> str:
    if health.daemon is None:
        return "not running on this machine"
    return f"running ({health.daemon})"


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _ago(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{max(seconds, 0)} s"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"
