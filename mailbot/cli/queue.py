"""`mailbot queue`: the exceptions queue from a terminal, the same actions as the web page.

Every action calls `mailbot.actions` (so the CLI and the web page cannot drift apart) and is
audited under `--actor`, by default the login name of whoever runs it. A password is read
from a hidden prompt, never from the command line, where it would sit in the shell history
and in `ps` output.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import click

from mailbot import actions
from mailbot.cases.casebook import CaseRecord
from mailbot.cli.meetings import cases_list_at
from mailbot.cli.root import main, open_for_command
from mailbot.cli.views import print_cases, render_case
from mailbot.codes import CRITERIA, describe
from mailbot.dispatch.advice import RETURN_CODES, is_return_code
from mailbot.formdef import AREAS
from mailbot.models import Outcome
from mailbot.web import views

F = TypeVar("F", bound=Callable[..., Any])


def actor_option(func: F) -> F:
    return click.option(
        "--actor",
        default=getpass.getuser,
        show_default="your login name",
        help="Who is acting, for the audit log.",
    )(func)


@main.group("queue")
def queue_group() -> None:
    """The exceptions queue: referrals held for an administrator."""


@queue_group.command("list")
# Choices as bare strings: click would offer an enum's member names (CANNOT_DECRYPT).
@click.option(
    "--reason", type=click.Choice([str(r) for r in views.HELD_REASONS]), help="Only this reason."
)
@click.option("--area", type=click.Choice([*AREAS, "-"]), help="Only this area (- unknown).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_context
def queue_list(ctx: click.Context, reason: str | None, area: str | None, as_json: bool) -> None:
    """The held items, oldest first."""
    with open_for_command(ctx) as app:
        held = [
            c
            for c in app.casebook.cases([Outcome.HELD])
            if (not reason or reason in c.decision.reasons)
            and (not area or (c.area or "-") == area)
        ]
        print_cases(held, as_json)


@queue_group.command("other")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@click.pass_context
def queue_other(ctx: click.Context, as_json: bool) -> None:
    """Other mail, newest first: emails that are not referrals, recorded and never answered
    (answer one by hand from the Processed folder if it needs it)."""
    with open_for_command(ctx) as app:
        rows = views.other_rows(app.ctx)
    if as_json:
        keys = ("reference", "received_at", "sender_domain", "subject")
        click.echo(json.dumps([{k: r[k] for k in keys} for r in rows], indent=2))
        return
    if not rows:
        click.echo("(none)")
        return
    table = [("RECEIVED", "SENDER DOMAIN", "REFERENCE", "SUBJECT")]
    table += [(r["received"], r["sender_domain"], r["reference"], r["subject"]) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(3)]
    for row in table:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=False)) + "  " + row[3])


@queue_group.command("show")
@click.argument("reference")
@click.pass_context
def queue_show(ctx: click.Context, reference: str) -> None:
    """Everything about one case: the decision, the form as read, earlier cases, messages."""
    with open_for_command(ctx) as app:
        case = app.casebook.get(reference)
        if case is None:
            raise click.ClickException(f"no case {reference}")
        context = app.ctx
        today = context.today()
        click.echo(render_case(case))
        tried = views.tried(context, case)
        if tried:
            click.echo(f"  Already tried: {tried}")
        comparison = views.comparison(context, case, today)
        if comparison:
            click.echo("\nEarlier cases side by side ('*' where they differ):")
            titles = [c["title"] for c in comparison["columns"]]
            click.echo("  " + " | ".join(["", *titles]))
            for row in comparison["rows"]:
                mark = "*" if row["differs"] else " "
                click.echo(f"{mark} {row['label']}: " + " | ".join(row["cells"]))
        for section in views.field_sections(context, case, today):
            click.echo(f"\n{section['title']}")
            for r in section["rows"]:
                flag = {"missing": "MISSING ", "invalid": "NOT VALID "}.get(r["state"], "")
                click.echo(f"  {r['label']}: {flag}{r['value']}")
        click.echo("\nMessages:")
        for m in context.dispatch.outbox.messages(reference):
            click.echo(f"  {m.kind} to {m.recipient} ({m.state})")


def _done(case: CaseRecord) -> None:
    d = case.decision
    where = f" at the {case.area} MARAC on {case.meeting_date}" if case.meeting_date else ""
    click.echo(
        f"{case.reference}: {d.outcome.value}{where}"
        + (f" ({', '.join(d.reasons)})" if d.reasons else "")
    )


def _run(action: Callable[[], CaseRecord]) -> None:
    try:
        _done(action())
    except actions.ActionError as exc:
        raise click.ClickException(str(exc)) from None


@queue_group.command("retry")
@click.argument("reference")
@actor_option
@click.pass_context
def queue_retry(ctx: click.Context, reference: str, actor: str) -> None:
    """Open a locked document with a password the referrer gave (asked for, hidden)."""
    password = click.prompt("Password the referrer gave", hide_input=True)
    with open_for_command(ctx) as app:
        _run(lambda: actions.retry_password(app.ctx, reference, password, actor))


@queue_group.command("accept")
@click.argument("reference")
@click.option(
    "--criterion",
    "criteria",
    multiple=True,
    required=True,
    type=click.Choice([str(c) for c in CRITERIA]),
    help="A criterion met (repeatable).",
)
@actor_option
@click.pass_context
def queue_accept(ctx: click.Context, reference: str, criteria: tuple[str, ...], actor: str) -> None:
    """Accept a held case (e.g. after the Chair's decision) and list it."""
    with open_for_command(ctx) as app:
        _run(lambda: actions.accept(app.ctx, reference, criteria, actor))


@queue_group.command("return")
@click.argument("reference")
@click.option(
    "--reason",
    "reasons",
    multiple=True,
    required=True,
    help=f"A reason code (repeatable): {', '.join(RETURN_CODES)},"
    " missing_field:<id> or invalid_field:<id>.",
)
@click.option("--note", default="", help="Advice for the referrer (no personal details).")
@click.option("--yes", is_flag=True, help="Do not ask to confirm the note.")
@actor_option
@click.pass_context
def queue_return(
    ctx: click.Context, reference: str, reasons: tuple[str, ...], note: str, yes: bool, actor: str
) -> None:
    """Return a held case to its referrer with advice."""
    bad = [code for code in reasons if not is_return_code(code)]
    if bad:
        raise click.BadParameter(
            f"not a reason to return a referral for: {', '.join(bad)}; choose from"
            f" {', '.join(RETURN_CODES)}, missing_field:<id> or invalid_field:<id>",
            param_hint="'--reason'",
        )
    with open_for_command(ctx) as app:
        case = app.casebook.get(reference)
        if note.strip() and case is not None:
            secure, other = actions.note_recipients(app.ctx, case)
            click.echo("The note is sent to the referrer: it must hold no personal details.")
            click.echo(f"  It goes to: {', '.join(secure) or 'nobody'}")
            if other:
                click.echo(f"  It is left out of the reply to: {', '.join(other)} (not secure)")
            if not yes:
                click.confirm("Send it?", abort=True)
        for code in reasons:
            click.echo(f"  - {describe(code)}")
        _run(lambda: actions.return_with_advice(app.ctx, reference, reasons, note, actor))


@queue_group.command("link")
@click.argument("reference")
@click.argument("earlier")
@actor_option
@click.pass_context
def queue_link(ctx: click.Context, reference: str, earlier: str, actor: str) -> None:
    """The victim is the one heard as EARLIER: decide REFERENCE as a repeat."""
    with open_for_command(ctx) as app:
        _run(lambda: actions.link_repeat(app.ctx, reference, earlier, actor))


@queue_group.command("new-person")
@click.argument("reference")
@actor_option
@click.pass_context
def queue_new_person(ctx: click.Context, reference: str, actor: str) -> None:
    """The possible earlier case is someone else: decide REFERENCE without it."""
    with open_for_command(ctx) as app:
        _run(lambda: actions.mark_new_person(app.ctx, reference, actor))


@queue_group.command("list-at", hidden=True)
@click.argument("reference")
@click.argument("day", metavar="DATE", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option(
    "--addendum",
    is_flag=True,
    help="If the meeting's agenda has gone, send the case as an addendum without asking.",
)
@actor_option
@click.pass_context
def queue_list_at(
    ctx: click.Context, reference: str, day: datetime, addendum: bool, actor: str
) -> None:
    """Moved: mailbot cases list-at (this old name still works, and says so)."""
    click.echo("mailbot: queue list-at has moved: use mailbot cases list-at", err=True)
    ctx.invoke(cases_list_at, reference=reference, day=day, addendum=addendum, actor=actor)


@queue_group.command("discard")
@click.argument("reference")
@click.option(
    "--reason",
    required=True,
    type=click.Choice(list(actions.DISCARD_REASONS)),
    help="Why it is not a referral.",
)
@click.option("--yes", is_flag=True, help="Do not ask to confirm.")
@actor_option
@click.pass_context
def queue_discard(ctx: click.Context, reference: str, reason: str, yes: bool, actor: str) -> None:
    """Take an email that is not a referral out of the queue (no reply is sent)."""
    if not yes:
        click.confirm(f"Discard {reference} as not a referral, with no reply?", abort=True)
    with open_for_command(ctx) as app:
        _run(lambda: actions.discard(app.ctx, reference, reason, actor))
