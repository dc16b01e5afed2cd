"""Re-reading the configuration while the daemon runs (SIGHUP, `systemctl reload mailbot`).

The team changes thresholds, agencies, templates and meeting schedules more often than IT
wants to restart a service that may be half-way through a backlog. A reload reads and
validates the whole file again first: a mistake is rejected with a log line and the running
configuration is kept, so a typo can never stop intake. What the running objects can take
live (everything intake and the message planner read per message) is applied between two
messages, for the daemon and the web page it serves alike (one running configuration,
`mailbot.context.Running`). What is wired into open connections and files (the mailbox, the
sender, the state directory and so the database, server credentials, the web page's address
and login rules) keeps its running value until a restart, and the log says so, setting by
setting.

Secrets are re-read too, from where they came from at start. Under systemd that is the
credential systemd copied when the service started (LoadCredential=), so a changed secrets file
needs `systemctl restart`; from a `secrets_file` the new agency passwords apply at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mailbot import logs
from mailbot.config import Config, load_config
from mailbot.credentials import Secrets, load_secrets
from mailbot.errors import ConfigError

if TYPE_CHECKING:
    from mailbot.app import App
    from mailbot.runner import Runner

# Settings wired into what was opened at start: kept until a restart.
# The web page is built when it starts (its address, its login rules): it keeps them too.
RESTART_ONLY = ("mailbox", "sender", "service.state_dir", "web")


@dataclass(frozen=True)
class Reloaded:
    """What a reload did: settings now in effect, and those waiting for a restart."""

    applied: tuple[str, ...] = ()
    restart_needed: tuple[str, ...] = ()
    rejected: str | None = None  # why the new configuration was refused (then nothing changed)


def reload_config(app: App, runner: Runner, path: Path) -> Reloaded:
    """Read `path` again and apply what can be applied to the running `app` and `runner`."""
    try:
        new = load_config(path)
        secrets = load_secrets(new)
    except ConfigError as exc:
        return Reloaded(rejected=str(exc))
    old = app.config
    restart = [name for name in RESTART_ONLY if _get(new, name) != _get(old, name)]
    if secrets.credentials != app.secrets.credentials:
        restart.append("secrets.credentials")  # the mailbox and sender logged in with the old
    effective = _keep_running(new, old)
    applied = [name for name in _settings(effective) if _get(effective, name) != _get(old, name)]
    if secrets.agencies != app.secrets.agencies:
        applied.append("secrets.agencies")
    _apply(app, runner, effective, secrets)
    return Reloaded(applied=tuple(applied), restart_needed=tuple(restart))


def _keep_running(new: Config, old: Config) -> Config:
    """`new`, with the restart-only settings still at their running values."""
    service = new.service.model_copy(update={"state_dir": old.service.state_dir})
    return new.model_copy(
        update={"mailbox": old.mailbox, "sender": old.sender, "service": service, "web": old.web}
    )


def _apply(app: App, runner: Runner, config: Config, secrets: Secrets) -> None:
    old = app.config.service
    if (old.log_format, old.log_level) != (config.service.log_format, config.service.log_level):
        logs.configure(config.service.log_format, config.service.log_level)
    # One place: the daemon's context and the web page's (`Context.beside`) both read it.
    app.ctx.running.swap(config, secrets)
    runner.dispatcher = app.dispatcher()  # the same open sender, the new planner and outbox
    runner.jobs = app.jobs()
    runner.poll_interval = config.service.poll_interval_seconds


def _settings(config: Config) -> list[str]:
    """Every top-level setting, with `service` split into its own keys."""
    names = [f"service.{key}" for key in type(config.service).model_fields]
    return names + [key for key in type(config).model_fields if key != "service"]


def _get(config: Config, name: str) -> object:
    value: object = config
    for part in name.split("."):
        value = getattr(value, part)
    return value
