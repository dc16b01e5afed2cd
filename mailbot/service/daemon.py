"""The daemon's life as a service: ready, alive, reloading, stopping, and its last poll.

`mailbot run` hands the runner to a `Supervisor`, which hangs on the runner's hooks: after
every pass it records the time of the last successful mailbox poll in the database (what
`mailbot status` and monitoring read, from another process) and tells systemd what it is
doing; between two pieces of work it feeds the watchdog and applies a configuration reload
that SIGHUP asked for. Signal handlers only set flags and never log: a handler runs in the
main thread between two bytecodes, possibly inside the log writer's lock, and logging there
again would deadlock (a daemon that ignores SIGTERM until systemd kills it). The reload
happens in the loop, between messages, so a message is processed under one configuration.

A stop is heard between any two pieces of work (emails, jobs, sends), so it waits at most for
the longest one under way, then for closing: `worst_stop_seconds`, which the unit's
`TimeoutStopSec=` must cover (tests/unit/test_systemd_unit.py checks it does).
"""

from __future__ import annotations

import signal
import sqlite3
from datetime import datetime
from pathlib import Path

import structlog

from mailbot.app import App, monotonic_of
from mailbot.config import Config
from mailbot.dispatch.send.base import QUIT_SECONDS, worst_send_seconds
from mailbot.runner import Runner
from mailbot.service.health import LAST_POLL_KEY, STARTED_KEY
from mailbot.service.reload import reload_config
from mailbot.service.systemd import Notifier, Watchdog

# The last-poll time is written at most this often (one small transaction), which is far
# finer than any monitoring threshold (minutes) and spares the disk a write every second.
HEARTBEAT_SECONDS = 30.0
# The longest one email takes at the configured limits (the hostile corpus's worst is 10 s on
# the reference machine; three times that for a slower or busier one).
EMAIL_SECONDS = 30.0
CLOSE_SECONDS = 5.0  # the web page's thread, the mailbox, the database


def worst_stop_seconds(config: Config) -> float:
    """The longest SIGTERM can take to end the daemon: the longest piece of work that may be
    under way (one email, one SMTP send, one wait for mail), then closing."""
    sender = config.sender
    send = worst_send_seconds(sender) + QUIT_SECONDS if sender.kind == "smtp" else 1.0
    wait = config.service.poll_interval_seconds
    return max(EMAIL_SECONDS, send, wait) + CLOSE_SECONDS


class Supervisor:
    def __init__(
        self,
        app: App,
        runner: Runner,
        config_path: Path,
        log: structlog.typing.FilteringBoundLogger,
        notifier: Notifier | None = None,
        watchdog: Watchdog | None = None,
    ) -> None:
        self.app = app
        self.runner = runner
        self.config_path = config_path
        self.log = log
        self.notifier = notifier or Notifier.from_environ()
        self.watchdog = watchdog or Watchdog.from_environ(self.notifier)
        self._reload_requested = False  # a plain flag: Event.clear() takes a lock
        self._heartbeat_at: float | None = None  # monotonic: a clock jump cannot starve it
        self._monotonic = monotonic_of(app.ctx.clock)
        self._stop_signal: str | None = None
        self._stop_announced = False
        runner.on_pass = self.on_pass
        runner.on_tick = self.on_tick

    # -- what the CLI calls ---------------------------------------------------------------

    def ready(self) -> None:
        """The database and the mailbox are open and the loop is about to start."""
        self.notifier.ready(f"Started; watching the {self.app.config.mailbox.kind} mailbox")
        # `seconds`: the watchdog's interval, only when systemd set one (not seconds=null).
        interval = self.watchdog.interval
        watchdog = {} if interval is None else {"seconds": interval}
        self.log.info("service.ready", mailbox=self.app.config.mailbox.kind, **watchdog)
        # `mailbot status`: "not started yet" until this is recorded, then a first poll
        # that does not come is noticed.
        self._record(STARTED_KEY, self.app.ctx.clock.now())

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        signal.signal(signal.SIGHUP, self.request_reload)

    def request_stop(self, signum: int, _frame: object = None) -> None:
        """Signal handler: the loop stops after the current message and send."""
        self._stop_signal = signal.Signals(signum).name
        self.runner.stop.set()

    def request_reload(self, _signum: int = signal.SIGHUP, _frame: object = None) -> None:
        """Signal handler: the loop reloads the configuration before its next message."""
        self._reload_requested = True

    def close(self) -> None:
        self._announce_stop()
        self.notifier.close()

    def _announce_stop(self) -> None:
        if self._stop_signal is None or self._stop_announced:
            return
        self._stop_announced = True
        self.log.info("service.stopping", signal=self._stop_signal)
        self.notifier.stopping("Stopping: finishing the current message and send")

    # -- runner hooks ---------------------------------------------------------------------

    def on_tick(self, runner: Runner) -> None:
        self.watchdog.beat()
        if runner.stop.is_set():
            self._announce_stop()
        elif self._reload_requested:
            self._reload_requested = False
            self._apply_reload()

    def on_pass(self, runner: Runner) -> None:
        now = runner.last_pass
        if now is None:
            return
        ticks = self._monotonic()
        due = self._heartbeat_at is None or ticks - self._heartbeat_at >= HEARTBEAT_SECONDS
        if due:
            self._heartbeat(now)
            self._heartbeat_at = ticks  # tried: again in 30 s, whether it was written or not
        self.watchdog.beat()
        blocked = runner.dispatcher.blocked if runner.dispatcher is not None else None
        self.notifier.status(
            blocked
            or f"Waiting for mail; {runner.processed} message(s)"
            f" processed since start; last poll {now:%Y-%m-%d %H:%M:%S} UTC"
        )

    def _heartbeat(self, now: datetime) -> None:
        """Record the last poll."""
        self._record(LAST_POLL_KEY, now)

    def _record(self, key: str, now: datetime) -> None:
        """Record a moment for `mailbot status`. A database that refuses is logged, not a
        crash: `mailbot status` sees the database's state for itself, and the poll time
        going stale."""
        try:
            self.app.store.state_set(key, now.isoformat())
        except sqlite3.Error as exc:
            self.log.error(
                "service.heartbeat_unwritten",
                error=getattr(exc, "sqlite_errorname", None) or type(exc).__name__,
            )

    def _apply_reload(self) -> None:
        self.notifier.reloading()
        try:
            result = reload_config(self.app, self.runner, self.config_path)
        except Exception as exc:  # a reload must never take the running daemon down
            self.log.error("config.reload_failed", error=type(exc).__name__)
            self.notifier.ready("Reload failed; running with the previous configuration")
            return
        if result.rejected is not None:
            self.log.error("config.reload_rejected", error=result.rejected)
            self.notifier.ready("Reload rejected; running with the previous configuration")
            return
        for name in result.applied:
            self.log.info("config.changed", kind=name)
        for name in result.restart_needed:
            self.log.warning("config.restart_needed", kind=name)
        self.log.info("config.reloaded", count=len(result.applied))
        pending = (
            f"; restart needed for {', '.join(result.restart_needed)}"
            if result.restart_needed
            else ""
        )
        self.notifier.ready(f"Configuration reloaded ({len(result.applied)} change(s)){pending}")
