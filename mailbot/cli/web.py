"""`mailbot web` and `mailbot users`: serving the web page and managing its accounts.

Accounts are made from a terminal on the server by whoever runs mailbot (IT), so there is no
sign-up page to attack; a password is always typed at a hidden prompt, twice.
"""

from __future__ import annotations

import getpass

import click

from mailbot.cli.root import main, open_for_command
from mailbot.web.users import UserError, Users


@main.command("web")
@click.option("--host", help="Listen on this address instead of [web] host.")
@click.option("--port", type=int, help="Listen on this port instead of [web] port.")
@click.pass_context
def web(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Serve the exceptions-queue web page until Ctrl-C (127.0.0.1:8080 by default)."""
    from mailbot import logs
    from mailbot.web.server import serve

    with open_for_command(ctx) as app:
        logs.configure(app.config.service.log_format, app.config.service.log_level)
        changes = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
        if changes:
            web_settings = app.config.web.model_copy(update=changes)
            app.ctx.running.swap(app.config.model_copy(update={"web": web_settings}), app.secrets)
        click.echo(
            f"Serving the exceptions queue on http://{app.config.web.host}:"
            f"{app.config.web.port}/ (Ctrl-C to stop)"
        )
        serve(app)


@main.group()
def users() -> None:
    """Accounts for the web page (one per person: every action is recorded by name)."""


@users.command("add")
@click.argument("name")
@click.pass_context
def users_add(ctx: click.Context, name: str) -> None:
    """Create an account NAME; its password is asked for (hidden, twice)."""
    password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with open_for_command(ctx) as app:
        try:
            Users(app.store).add(name, password, getpass.getuser())
        except UserError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"account {name} created")


@users.command("password")
@click.argument("name")
@click.pass_context
def users_password(ctx: click.Context, name: str) -> None:
    """Set a new password for NAME (and enable the account again if it was disabled); every
    web session NAME has open ends at once."""
    password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    with open_for_command(ctx) as app:
        try:
            Users(app.store).set_password(name, password, getpass.getuser())
        except UserError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"password of {name} changed")


@users.command("disable")
@click.argument("name")
@click.pass_context
def users_disable(ctx: click.Context, name: str) -> None:
    """Stop NAME logging in (someone who left); their open sessions end at once."""
    with open_for_command(ctx) as app:
        try:
            Users(app.store).disable(name, getpass.getuser())
        except UserError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"account {name} disabled")


@users.command("list")
@click.pass_context
def users_list(ctx: click.Context) -> None:
    """The accounts, and whether each can log in."""
    with open_for_command(ctx) as app:
        accounts = Users(app.store).accounts()
    for a in accounts:
        state = f"disabled {a['disabled_at'][:10]}" if a["disabled_at"] else "active"
        click.echo(f"{a['name']:<24} created {a['created_at'][:10]}  {state}")
    if not accounts:
        click.echo("(none)")
