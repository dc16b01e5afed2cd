"""`mailbot agenda`, `mailbot minutes` and `mailbot transfer`: the papers of a meeting.

The daemon sends agendas by itself; the team previews one before it goes, sends the minutes
they have written, and records a victim's move to another area. A transfer's details (a new
address above all) are typed at a prompt or read from a file, never given as arguments,
so they do not land in the shell's history or in the process list.
"""

from __future__ import annotations

import getpass
import sys
from datetime import datetime
from pathlib import Path

import click

from mailbot.app import App
from mailbot.cli.root import main, open_for_command
from mailbot.errors import ConfigError
from mailbot.meetings.agendas import Agendas
from mailbot.meetings.minutes import MinutesRefused
from mailbot.meetings.minutes_jobs import Minutes
from mailbot.meetings.transfers import TransferDetails, TransferError, Transfers, read_details_file

DATE = click.DateTime(formats=["%Y-%m-%d"])


def _area(app: App, name: str) -> str:
    found = next((a for a in app.config.areas if a.lower() == name.strip().lower()), None)
    if found is None:
        raise click.BadParameter(
            f"unknown area {name}; choose one of {', '.join(app.config.areas)}", param_hint="AREA"
        )
    return found


@main.group()
def agenda() -> None:
    """Meeting agendas (the daemon sends them on the agenda date)."""


@agenda.command("preview")
@click.argument("area")
@click.argument("day", metavar="DATE", type=DATE)
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def agenda_preview(ctx: click.Context, area: str, day: datetime, out: Path) -> None:
    """Write the agenda of AREA's meeting on DATE to OUT.docx, without sending it."""
    with open_for_command(ctx) as app:
        name = _area(app, area)
        document = Agendas(app.ctx).preview(name, day.date())
        if document is None:
            raise click.ClickException(f"the {name} MARAC has no meeting on {day.date()}")
        out.write_bytes(document)
    click.echo(f"wrote {out} (OFFICIAL-SENSITIVE: it holds personal data; delete it when done)")


@main.group()
def minutes() -> None:
    """Meeting minutes: one PDF per case, to the area's distribution list."""


@minutes.command("send")
@click.argument("area")
@click.argument("day", metavar="DATE", type=DATE)
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--again",
    is_flag=True,
    help="Send a corrected set for a meeting whose minutes were already sent.",
)
@click.pass_context
def minutes_send(ctx: click.Context, area: str, day: datetime, folder: Path, again: bool) -> None:
    """Send the minutes in FOLDER (MARAC-YYYY-NNNNN.pdf, one per case) for AREA's DATE."""
    with open_for_command(ctx) as app:
        name = _area(app, area)
        try:
            sent = Minutes(app.ctx).send(
                name,
                day.date(),
                folder,
                actor=getpass.getuser(),
                now=app.ctx.clock.now(),
                again=again,
            )
        except MinutesRefused as exc:
            for problem in exc.problems:
                click.echo(f"{folder}: {problem}", err=True)
            click.echo("nothing was sent", err=True)
            sys.exit(1)
        hours = app.config.minutes.send_within_hours
    click.echo(
        f"minutes of the {name} MARAC of {day.date()}: {sent.files} file(s) in"
        f" {sent.emails} email(s), queued for sending by the daemon"
    )
    if sent.notices:
        click.echo(
            f"{sent.notices} recipient(s) have no secure route or agreed password:"
            " nothing was sent to them and the team was told"
        )
    if sent.missing:
        click.echo(f"no minutes for: {', '.join(sent.missing)}")
    if sent.late:
        click.echo(f"note: this is more than {hours} hours after the meeting")


@main.group()
def transfer() -> None:
    """MARAC to MARAC transfers."""


@transfer.command("out")
@click.argument("reference")
@click.option(
    "--to",
    "to",
    required=True,
    metavar="AREA_OR_MARAC_EMAIL",
    help="A West Midlands area (its MARAC is this team: the team address is used)"
    " or the receiving MARAC's secure email address.",
)
@click.option(
    "--details-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="TOML file with new_address, moved_with and concerns (else you are asked).",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def transfer_out(
    ctx: click.Context, reference: str, to: str, details_file: Path | None, yes: bool
) -> None:
    """Record that case REFERENCE's victim moved away, and send the case on securely."""
    with open_for_command(ctx) as app:
        transfers = Transfers(app.ctx)
        try:
            case = transfers.case(reference)
            label, address = transfers.destination(to, case)
            details = read_details_file(details_file) if details_file else _ask()
        except (TransferError, ConfigError) as exc:
            raise click.ClickException(str(exc)) from None
        if not yes:
            click.confirm(
                f"Transfer {reference} ({case.area}) to {label}, emailing the"
                f" details to {address}?",
                abort=True,
            )
        try:
            moved = transfers.record(reference, to, details, getpass.getuser(), app.ctx.clock.now())
        except TransferError as exc:
            raise click.ClickException(str(exc)) from None
    where = (
        f"the {moved.from_area} agenda of {moved.meeting_date}"
        if moved.meeting_date
        else "no agenda yet (no open meeting found): tell partners by hand"
    )
    click.echo(
        f"{reference}: transfer to {label} recorded; listed on {where}; the details go"
        f" to {address} with the daemon's next pass"
    )
    if details_file is not None:
        click.echo(f"{details_file} holds personal data: delete it now")


def _ask() -> TransferDetails:
    new_address = ""
    while not new_address.strip():
        new_address = click.prompt("New address (one line, with postcode)", type=str)
    moved_with = click.prompt(
        "Who moved with them (blank if no one)", default="", show_default=False, type=str
    )
    concerns = click.prompt(
        "Concerns for the receiving MARAC (blank if none)", default="", show_default=False, type=str
    )
    return TransferDetails(
        new_address=new_address.strip(), moved_with=moved_with.strip(), concerns=concerns.strip()
    )
