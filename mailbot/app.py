"""Wiring: build mailbot's collaborators from a config file, in one place.

The CLI, the demo and the tests all assemble the same objects the same way; collaborators
are passed in, never module-level singletons, so a test can swap in a fixed clock.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mailbot.cases.casebook import Casebook
from mailbot.config import Config, load_config
from mailbot.context import Context
from mailbot.credentials import Secrets, load_secrets
from mailbot.dispatch.deliver import Dispatcher, SendState
from mailbot.dispatch.send.base import Sender
from mailbot.dispatch.send.open import open_outgoing
from mailbot.errors import ConfigError, MailbotError
from mailbot.ingest.mailbox import Mailbox, NoMailbox
from mailbot.ingest.open import open_mailbox
from mailbot.intake.process import Intake
from mailbot.logs import get_logger
from mailbot.meetings.jobs import distribution_jobs
from mailbot.models import Clock
from mailbot.runner import Runner
from mailbot.store import Store


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """Seconds on a clock that never jumps: what delays and liveness are measured on."""
        return time.monotonic()


def monotonic_of(clock: Clock) -> Callable[[], float]:
    """`clock`'s monotonic time; a clock without one (a test's fixed clock) measures elapsed
    time by its own `now`, so moving it on is time passing."""
    own = getattr(clock, "monotonic", None)
    if callable(own):
        return own  # type: ignore[no-any-return]
    return lambda: clock.now().timestamp()


@dataclass
class App:
    """The running parts: the context, the mailbox, the intake over both, the sender."""

    ctx: Context
    mailbox: Mailbox
    intake: Intake
    _sender: Sender | None = None
    # What the sender knows that the database may not yet (results it refused): kept across
    # the Dispatchers a configuration reload makes.
    send_state: SendState = field(default_factory=SendState)
    # Releases what `open_app`'s `claim` took (the daemon's single-instance lock).
    release: Callable[[], None] | None = None

    @property
    def config(self) -> Config:
        return self.ctx.config

    @property
    def secrets(self) -> Secrets:
        return self.ctx.secrets

    @property
    def store(self) -> Store:
        return self.ctx.store

    @property
    def casebook(self) -> Casebook:
        return self.ctx.casebook

    def runner(self) -> Runner:
        return Runner(
            self.intake,
            self.mailbox,
            get_logger(),
            dispatcher=self.dispatcher(),
            jobs=self.jobs(),
            poll_interval=self.config.service.poll_interval_seconds,
        )

    def jobs(self) -> list[tuple[str, Callable[[datetime], None]]]:
        """The periodic jobs the daemon runs on every pass, by name."""
        return distribution_jobs(self.ctx)

    def dispatcher(self) -> Dispatcher:
        if self._sender is None:
            self._sender = open_outgoing(self.config, self.secrets, self.mailbox)
        dispatch = self.ctx.dispatch
        outbox = self.config.outbox
        return Dispatcher(
            dispatch.outbox,
            self._sender,
            dispatch.planner,
            self.config.sender.max_attempts,
            get_logger(),
            self.send_state,
            give_up_after=timedelta(hours=outbox.give_up_after_hours),
            alert_after=timedelta(minutes=outbox.alert_after_minutes),
            monotonic=monotonic_of(self.ctx.clock),
        )

    def close(self) -> None:
        if self._sender is not None:
            self._sender.close()
        self.mailbox.close()
        self.store.close()
        if self.release is not None:
            self.release()


class NotStarted(MailbotError):
    """The state directory does not exist yet: mailbot has never started with this
    configuration. Carries what was loaded, so `check` and `status` can say what the first
    start will create instead of creating it themselves."""

    def __init__(self, config: Config, secrets: Secrets) -> None:
        state_dir = config.service.state_dir
        super().__init__(f"state directory {state_dir} does not exist yet (not started)")
        self.config = config
        self.secrets = secrets
        self.state_dir = state_dir


def open_app(
    config_path: Path,
    clock: Clock | None = None,
    *,
    with_mailbox: bool = True,
    claim: Callable[[Path], Callable[[], None]] | None = None,
    create: bool = True,
) -> App:
    """Load and check the configuration and secrets, then open the database and mailbox.

    `claim`: called with the state directory before anything is opened, returning what
    releases it at close; the daemon's commands pass the single-instance lock
    (`mailbot.service.instance`), which raises `InstanceLocked` if another daemon holds it.
    `create=False`: a state directory that does not exist is `NotStarted`, not made."""
    os.umask(0o077)  # everything mailbot writes holds personal data
    config = load_config(config_path)
    secrets = load_secrets(config)
    state_dir = config.service.state_dir
    if not create and not state_dir.exists():
        raise NotStarted(config, secrets)
    try:
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise ConfigError(
            "service.state_dir",
            f"{state_dir} cannot be created ({exc.strerror}); create it for the service"
            f" user (sudo install -d -o mailbot -m 700 {state_dir}) or change the setting",
        ) from None
    release = claim(config.service.state_dir) if claim is not None else None
    try:
        store = Store(config.database_path)
        try:
            mailbox = open_mailbox(config, secrets, store) if with_mailbox else NoMailbox()
        except BaseException:
            store.close()
            raise
    except BaseException:
        if release is not None:
            release()
        raise
    ctx = Context.of(config, secrets, store, clock or SystemClock(), get_logger())
    ctx.casebook.settle_sources((a.id, a.name) for a in config.agencies)
    return App(ctx, mailbox, Intake(ctx, mailbox), release=release)
