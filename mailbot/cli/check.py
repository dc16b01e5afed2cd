"""`mailbot check`: what IT runs first, before starting the service.

It loads the configuration and secrets, connects to the configured mailbox and sender, lists
the folders mailbot will use and says what is wrong (DNS, TLS, authentication, permissions),
without processing or sending anything. Exit 0 when all is well, 1 otherwise. A `note:` is
something to act on that does not stop mailbot today (EWS pointed at Exchange Online, which
Microsoft is switching off).
"""

from __future__ import annotations

import sys

import click

from mailbot.cli.root import main, open_for_command
from mailbot.errors import MailbotError
from mailbot.service.backends import check_mailbox, check_sender, exchange_online_ews


@main.command()
@click.pass_context
def check(ctx: click.Context) -> None:
    """Check the configuration, the mailbox and the sender; process nothing."""
    with open_for_command(ctx) as app:
        config = app.config
        click.echo(f"configuration: ok ({ctx.obj})")
        click.echo(f"mailbox: {config.mailbox.kind} {config.mailbox.address}")
        notes, retired = exchange_online_ews(config, app.ctx.clock.now().date())
        for line in [f"  note: {n}" for n in notes] + [f"  problem: {p}" for p in retired]:
            click.echo(line)
        try:
            folders, problems = check_mailbox(config, app.secrets, app.store)
        except MailbotError as exc:
            click.echo(f"  problem: {exc}")
            sys.exit(1)
        for folder in folders:
            click.echo(f"  folder: {folder}")
        click.echo(f"sender: {config.sender.kind}")
        problems += retired + check_sender(config, app.secrets)
    for problem in problems:
        click.echo(f"  problem: {problem}")
    if problems:
        sys.exit(1)
    click.echo("all checks passed")
