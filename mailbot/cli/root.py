"""The `mailbot` command group, the daemon (`run`), cases, history import, the form, the demo.

IT runs `mailbot run` under systemd; the MARAC team use the other commands. A configuration
problem is one line naming the key, with exit code 2, so it shows up plainly in
`systemctl status` and in a terminal alike; so is a second daemon on the same state
directory (`mailbot.service.instance`), which says who runs already.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from importlib.metadata import version
from pathlib import Path

import click

from mailbot import logs
from mailbot.app import App, NotStarted, open_app
from mailbot.cli.views import print_cases, render_case_page
from mailbot.errors import ConfigError, HistoryImportError, MailbotError
from mailbot.formdef import AREAS
from mailbot.models import Outcome
from mailbot.service.daemon import Supervisor
from mailbot.service.instance import InstanceLock, InstanceLocked

DEFAULT_CONFIG = "/etc/mailbot/mailbot.toml"
DATE = click.DateTime(formats=["%Y-%m-%d"])
EXIT_CONFIG = 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    envvar="MAILBOT_CONFIG",
    default=DEFAULT_CONFIG,
    show_default=True,
    help="The configuration file (or set $MAILBOT_CONFIG).",
)
@click.version_option(version("mailbot"), "-V", "--version", prog_name="mailbot")
@click.pass_context
def main(ctx: click.Context, config_path: Path) -> None:
    """mailbot: the MARAC referrals mailbox, processed securely."""
    ctx.obj = config_path


@contextmanager
def open_for_command(
    ctx: click.Context, *, with_mailbox: bool = False, instance: bool = False, create: bool = True
) -> Iterator[App]:
    """The app for one command. `instance`: the command does the daemon's work (reads the
    Inbox, sends the outbox), so it holds the single-instance lock while it runs.
    `create=False`: raises `NotStarted` (for the command to explain) rather than create the
    state directory."""
    try:
        app = open_app(
            ctx.obj,
            with_mailbox=with_mailbox,
            claim=_instance_lock(_command_line(ctx)) if instance else None,
            create=create,
        )
    except NotStarted:
        raise
    except ConfigError as exc:
        click.echo(f"mailbot: configuration error: {exc}", err=True)
        sys.exit(EXIT_CONFIG)
    except OSError as exc:  # a file or folder the service user cannot read or write
        where = f" {exc.filename}" if exc.filename else ""
        click.echo(
            f"mailbot:{where}: {exc.strerror or exc}; check that it exists and that the"
            " service user may read and write it",
            err=True,
        )
        sys.exit(EXIT_CONFIG)
    except InstanceLocked as exc:
        click.echo(f"mailbot: {exc}", err=True)
        sys.exit(EXIT_CONFIG)
    except MailbotError as exc:
        click.echo(f"mailbot: {exc}", err=True)
        sys.exit(1)
    try:
        yield app
    finally:
        app.close()


@main.command()
@click.option("--once", is_flag=True, help="Process everything in the inbox, then exit.")
@click.pass_context
def run(ctx: click.Context, once: bool) -> None:
    """Run the daemon until SIGTERM (finishing the current message)."""
    with open_for_command(ctx, with_mailbox=True, instance=True) as app:
        logs.configure(app.config.service.log_format, app.config.service.log_level)
        runner = app.runner()
        # Records the last poll for `mailbot status`; under systemd: READY=1, STATUS=,
        # the watchdog, SIGHUP reloads (mailbot.service.daemon).
        supervisor = Supervisor(app, runner, ctx.obj, logs.get_logger())
        if once:
            count = runner.run_once()
            logs.get_logger().info("run.once", processed=count)
            return
        supervisor.install_signal_handlers()  # SIGTERM/SIGINT: stop after this message
        stop_web = _start_web(app) if app.config.web.enabled else None
        supervisor.ready()
        try:
            runner.run_forever()
        finally:
            if stop_web is not None:
                stop_web()
            supervisor.close()


def _instance_lock(command: str) -> Callable[[Path], Callable[[], None]]:
    """The single-instance lock of a state directory, taken by `command`."""
    return lambda state_dir: InstanceLock(state_dir, command).acquire().release


def _command_line(ctx: click.Context) -> str:
    """The command as a person would recognise it in the lock file ("mailbot run --once")."""
    flags = [f"--{name}" for name, value in ctx.params.items() if value is True]
    return " ".join(["mailbot", ctx.info_name or "", *flags])


def _start_web(app: App) -> Callable[[], None] | None:
    """`[web] enabled`: the exceptions-queue page served by the daemon, in a thread (imported
    only then: the web stack is memory a daemon without the page does not need). A page that
    cannot listen is logged, not fatal: referrals must keep being read without it."""
    from mailbot.web.server import start_web

    settings = app.config.web
    try:
        stop = start_web(app)
    except MailbotError as exc:
        logs.get_logger().error("web.failed", error=str(exc))
        return None
    logs.get_logger().info("web.started", path=f"http://{settings.host}:{settings.port}/")
    return stop


@main.group()
def cases() -> None:
    """Processed referrals."""


@cases.command("list")
@click.option(
    "--from",
    "since",
    type=DATE,
    help="Only referrals received on or after this date (YYYY-MM-DD).",
)
@click.option(
    "--to", "until", type=DATE, help="Only referrals received on or before this date (YYYY-MM-DD)."
)
@click.option(
    "--area",
    type=click.Choice([*AREAS, "-"], case_sensitive=False),
    help="Only this MARAC area (- unknown).",
)
@click.option("--agency", help="Only agencies (or sender domains) whose name contains this.")
@click.option("--outcome", type=click.Choice([o.value for o in Outcome]), help="Only this outcome.")
@click.option("--wide", is_flag=True, help="One line per referral: do not wrap long values.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array (with the codes).")
@click.pass_context
def cases_list(
    ctx: click.Context,
    since: datetime | None,
    until: datetime | None,
    area: str | None,
    agency: str | None,
    outcome: str | None,
    wide: bool,
    as_json: bool,
) -> None:
    """One row (or JSON object) per processed email, oldest first."""
    with open_for_command(ctx) as app:
        zone = app.config.zone
        wanted = agency.casefold() if agency else None
        shown = [
            c
            for c in app.casebook.cases([Outcome(outcome)] if outcome else None)
            if (since is None or c.received_at.astimezone(zone).date() >= since.date())
            and (until is None or c.received_at.astimezone(zone).date() <= until.date())
            and (area is None or (c.area or "-") == area)
            and (wanted is None or wanted in (c.agency or c.sender.rpartition("@")[2]).casefold())
        ]
        print_cases(shown, as_json, wide=wide)


@cases.command("show")
@click.argument("reference")
@click.pass_context
def cases_show(ctx: click.Context, reference: str) -> None:
    """One case for a person to read: the decision, the form as read (with the DASH
    answers) and the case's history."""
    with open_for_command(ctx) as app:
        case = app.casebook.get(reference)
        if case is None:
            raise click.ClickException(
                f"no case {reference}: see mailbot cases list for the references"
            )
        click.echo(render_case_page(app.ctx, case))


@main.group()
def history() -> None:
    """Earlier MARAC cases, for recognising repeats."""


@history.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def history_import(ctx: click.Context, csv_file: Path) -> None:
    """Load earlier MARAC cases from the team's records (a bad row: none imported). Runs
    beside the daemon in short batches; after a crash, the same file again finishes it."""
    with open_for_command(ctx) as app:
        try:
            count = app.casebook.import_history(csv_file.read_text(encoding="utf-8-sig"))
        except HistoryImportError as exc:
            for problem in exc.problems:
                click.echo(f"{csv_file}: {problem}", err=True)
            click.echo("nothing was imported", err=True)
            sys.exit(1)
        if count:
            click.echo(f"imported {count} earlier case(s)")
        else:  # resumed imports carry on where a crash stopped them; a whole one is not redone
            click.echo("imported nothing new: this file was imported before")


@main.group()
def form() -> None:
    """The official referral form."""


@form.command("blank")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def form_blank(out: Path) -> None:
    """Write the blank referral form (v3.1) to OUT.docx."""
    from mailbot.demo.formwriter import render_blank

    out.write_bytes(render_blank())
    click.echo(f"wrote {out}")


@main.command()
@click.option(
    "--workspace",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    show_default="$XDG_CACHE_HOME/mailbot-demo, else ~/.cache/mailbot-demo",
    help="Where to make the fresh demo workspace (replaced if it exists).",
)
def demo(workspace: Path | None) -> None:
    """Process a dozen generated sample referrals with the example configuration."""
    from mailbot.demo.run import default_workspace, run_demo

    run_demo(workspace or default_workspace(), echo=click.echo)
