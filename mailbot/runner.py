"""The daemon's loop: wait for mail, process each message in arrival order, never stop.

A stop request (SIGTERM) is only noticed between messages, so the message being processed is
always finished and committed. A failure of the mailbox itself (a server down, a full disk)
is logged and retried with back-off rather than ending the service.

One folder that cannot be written (Exceptions/cur made read-only, say) holds back only the
emails bound for it: each is decided and committed as usual, then stays in the Inbox, is not
opened again on every pass, and its move is retried by `Intake.reconcile` until the folder
takes it; every other email goes on. The folder and how many emails wait for it are
recorded for `mailbot status` (and logged once when it starts and stops refusing). A
database that cannot be written (`StoreBusy`) ends the pass with back-off: the email waits in
the Inbox, undecided, and so do the ones after it, in their order.
"""

from __future__ import annotations

import gc
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import structlog

from mailbot.dispatch.deliver import Dispatcher
from mailbot.errors import StoreBusy
from mailbot.ingest.mailbox import Mailbox
from mailbot.ingest.maildir import FolderUnwritable
from mailbot.intake.prefetch import LARGE_EMAIL_BYTES, Lookahead, default_workers
from mailbot.intake.process import Intake
from mailbot.models import Folder

MAX_BACKOFF_SECONDS = 60.0
# Store.state_* key: JSON {folder: {"error": why, "waiting": emails}} of the mailbox folders
# the daemon could not write on its last pass; absent when all are fine (`mailbot status`).
FOLDER_ERRORS_KEY = "folder_errors"


@dataclass
class Runner:
    intake: Intake
    mailbox: Mailbox
    log: structlog.typing.FilteringBoundLogger
    dispatcher: Dispatcher | None = None
    # Periodic work done on every pass (agendas due, minutes to send, flag expiry...): each
    # job is called with the current time, must be idempotent and must not raise for a
    # transient problem (the loop logs and carries on if it does).
    jobs: Sequence[tuple[str, Callable[[datetime], None]]] = ()
    # Called after every pass (systemd watchdog and status).
    on_pass: Callable[[Runner], None] | None = None
    # Called whenever the loop is between two pieces of work: after each message and before
    # each wait. It proves the loop is alive (systemd watchdog) and is where a reloaded
    # configuration is applied, so a long backlog neither starves the watchdog nor a reload.
    on_tick: Callable[[Runner], None] | None = None
    last_pass: datetime | None = None
    processed: int = 0  # messages processed since the runner started
    poll_interval: float = 1.0
    stop: threading.Event = field(default_factory=threading.Event)
    # Inbox emails decided but held back because their folder refused them, by mailbox ref.
    blocked: dict[str, Folder] = field(default_factory=dict)
    _folder_errors: dict[str, str] = field(default_factory=dict)  # folder -> why, now
    _folder_errors_recorded: str = "{}"

    def run_once(self) -> int:
        """Process everything now in the inbox and send what is due; return the count."""
        self._reconcile()
        count = self._drain()
        self._run_jobs()
        self._send()
        self._passed()
        return count

    def run_forever(self) -> None:
        """Process mail until `stop` is set (by SIGTERM), finishing the current message."""
        self.log.info("service.started", mailbox=self.mailbox.__class__.__name__)
        backoff = self.poll_interval
        while not self.stop.is_set():
            try:
                self._reconcile()
                self._drain()
                self._run_jobs()
                self._send()
                self._passed()
                backoff = self.poll_interval
                self._tick()
                self.mailbox.wait_for_mail(timeout=self.poll_interval)
            except Exception as exc:  # the service must outlive a mailbox outage
                # StoreBusy: nothing was decided; the email and the ones after it wait in the
                # Inbox, in order, for the database to take writes again.
                event = "store.unwritable" if isinstance(exc, StoreBusy) else "mailbox.error"
                self.log.error(event, error=type(exc).__name__, seconds=backoff)
                self._tick()
                self.stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
        self._tick()  # the hooks see the stop before the last line
        self.log.info("service.stopped")

    def _run_jobs(self) -> None:
        for name, job in self.jobs:
            if self.stop.is_set():
                return
            try:
                job(self.intake.ctx.clock.now())
            except Exception as exc:  # one failing job must not stop intake
                self.log.error("job.error", kind=name, error=type(exc).__name__)

    def _tick(self) -> None:
        if self.on_tick is not None:
            self.on_tick(self)

    def _passed(self) -> None:
        self.last_pass = self.intake.ctx.clock.now()
        self._record_folder_errors()
        if self.on_pass is not None:
            self.on_pass(self)

    def _reconcile(self) -> None:
        """Finish interrupted moves; a folder that refuses one does not stop the pass."""
        try:
            self.intake.reconcile()
        except FolderUnwritable as exc:
            self._refused(exc)
            return
        for folder in list(self._folder_errors):  # every decided email reached its folder
            self.log.info("mailbox.folder_writable", folder=folder)
        self._folder_errors.clear()
        self.blocked.clear()

    def _refused(self, exc: FolderUnwritable) -> None:
        folder = exc.folder.value
        if folder not in self._folder_errors:
            self.log.error("mailbox.folder_unwritable", folder=folder, error=exc.reason)
        self._folder_errors[folder] = exc.reason

    def _record_folder_errors(self) -> None:
        """Write the folders refusing emails, and how many wait for each, where `mailbot
        status` reads them; only when that changes (not a write per pass)."""
        errors: dict[str, dict[str, object]] = {}
        if self._folder_errors:
            waiting = dict(
                self.intake.ctx.store.conn.execute(
                    "SELECT COALESCE(filed, folder), COUNT(*) FROM messages WHERE state = 'done'"
                    " AND location = 'Inbox' GROUP BY 1"
                ).fetchall()
            )
            errors = {
                folder: {"error": why, "waiting": int(waiting.get(folder, 0))}
                for folder, why in sorted(self._folder_errors.items())
            }
        value = json.dumps(errors, sort_keys=True)
        if value == self._folder_errors_recorded:
            return
        try:
            self.intake.ctx.store.state_set(FOLDER_ERRORS_KEY, value)
        except sqlite3.Error:
            return  # status sees the database's own state; tried again next pass
        self._folder_errors_recorded = value

    def _send(self) -> None:
        if self.dispatcher is not None:
            self.dispatcher.deliver_due(self.intake.ctx.clock.now(), self.stop)

    def _drain(self) -> int:
        count = 0
        # With a backlog, the next messages are opened (decrypted, read) in worker processes
        # while this loop decides and files them one at a time, in arrival order.
        # An email whose folder refused it is decided already: not opened again each pass
        # (reconcile retries its move).
        waiting = (m for m in self.mailbox.fetch_new() if m.ref not in self.blocked)
        ahead = Lookahead(
            waiting,
            passwords_for=self.intake.candidate_passwords,
            limits=lambda: self.intake.ctx.config.limits,
            workers=default_workers(self.intake.ctx.config.service.workers),
        )
        with ahead:
            for message, prepared in ahead:
                if self.stop.is_set():
                    break
                started = time.monotonic()
                large = message.size > LARGE_EMAIL_BYTES
                try:
                    self.intake.process(message, prepared)
                except FolderUnwritable as exc:  # decided and committed; only the move waits
                    self.blocked[message.ref] = exc.folder
                    self._refused(exc)
                count += 1
                self.processed += 1
                self.log.debug("message.timing", seconds=round(time.monotonic() - started, 3))
                del message, prepared  # not held while the next one is read and parsed
                if large:
                    # A document's python-docx objects refer to each other, so only the cycle
                    # collector frees them: after a photo referral, do it now rather than
                    # during the next one, when its megabytes would add to that one's peak.
                    gc.collect()
                self._tick()
        return count
