"""`mailbot check`: what IT runs first, before starting the service.

It loads the configuration and secrets, connects to the configured mailbox and sender, lists
the folders mailbot will use and says what is wrong (DNS, TLS, authentication, permissions),
without processing or sending anything. Exit 0 when all is well, 1 when a check found a
problem, 2 when the configuration or a permission stops mailbot from starting at all. A
`note:` is something to act on that does not stop mailbot today (EWS pointed at Exchange
Online, which Microsoft is switching off).

install.md has IT run `sudo -u mailbot mailbot check` before the first start, when the state
directory (and a Maildir mailbox under it) does not exist yet: check creates nothing then, and
says what the first start will create and whether the service user is allowed to.
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import datetime
from pathlib import Path

import click

from mailbot.app import NotStarted
from mailbot.cli.root import EXIT_CONFIG, main, open_for_command
from mailbot.config import Config
from mailbot.credentials import Secrets
from mailbot.errors import ConfigError, MailbotError
from mailbot.models import Folder
from mailbot.service.backends import check_mailbox, check_sender, exchange_online_ews
from mailbot.store import Store


@main.command()
@click.pass_context
def check(ctx: click.Context) -> None:
    """Check the configuration, the mailbox and the sender; process nothing."""
    try:
        with open_for_command(ctx, create=False) as app:
            problems, blocking = _check(ctx, app.config, app.secrets, app.store, None)
    except NotStarted as first:
        with tempfile.TemporaryDirectory(prefix="mailbot-check-") as scratch:
            # A throwaway database: the backends' ledgers need one, the real one is not made.
            store = Store(Path(scratch) / "check.sqlite3")
            try:
                problems, blocking = _check(
                    ctx, first.config, first.secrets, store, first.state_dir
                )
            finally:
                store.close()
    for problem in blocking + problems:
        click.echo(f"  problem: {problem}")
    if blocking:
        sys.exit(EXIT_CONFIG)
    if problems:
        sys.exit(1)
    click.echo("all checks passed")


def _check(
    ctx: click.Context, config: Config, secrets: Secrets, store: Store, missing: Path | None
) -> tuple[list[str], list[str]]:
    """Echo what is checked; (the problems found, those that stop the first start: what it
    cannot create). `missing`: the state directory, when it does not exist yet."""
    click.echo(f"configuration: ok ({ctx.obj})")
    problems: list[str] = []
    blocking: list[str] = []
    if missing is not None:
        blocking += _will_create("state directory", missing)
    click.echo(f"mailbox: {config.mailbox.kind} {config.mailbox.address}")
    notes, retired = exchange_online_ews(config, datetime.now(config.zone).date())
    for line in [f"  note: {n}" for n in notes] + [f"  problem: {p}" for p in retired]:
        click.echo(line)
    if config.mailbox.kind == "maildir" and not config.mail_dir.exists():
        blocking += _will_create("  mailbox", config.mail_dir)
        for folder in Folder:
            click.echo(f"  folder: {config.mail_dir / folder.value} (created at first start)")
    else:
        try:
            folders, found = check_mailbox(config, secrets, store)
        except ConfigError as exc:
            click.echo(f"  problem: {exc}")
            sys.exit(EXIT_CONFIG)
        except MailbotError as exc:
            click.echo(f"  problem: {exc}")
            sys.exit(1)
        for name in folders:
            click.echo(f"  folder: {name}")
        problems += found
    click.echo(f"sender: {config.sender.kind}")
    if config.sender.kind != "maildir" or config.mail_dir.exists():
        problems += check_sender(config, secrets)
    return problems + retired, blocking


def _will_create(what: str, path: Path) -> list[str]:
    """Say that the first start creates `path`; a problem if this user could not."""
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if parent.is_dir() and os.access(parent, os.W_OK | os.X_OK):
        click.echo(f"{what} {path}: will be created at first start")
        return []
    return [
        f"{what.strip()} {path} cannot be created by this user ({parent} is not a writable"
        f" directory); create it for the service user: install -d -o mailbot -m 700 {path}"
    ]
