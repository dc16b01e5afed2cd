"""Is mailbot working? The facts `mailbot status` prints and monitoring alerts on.

A referral sitting unread in the inbox is a victim nobody discusses, so silence must be
noticed: a daemon that stopped polling, mail waiting longer than it should, or a message that
could not be delivered. Everything here is read from the database and the mailbox folders
by a separate process (the status command), never from the daemon's memory: the daemon
records the time of its last successful poll in the database after each pass (throttled,
see `mailbot.service.daemon`), and that record is what proves it is alive. It also records
when it starts: until then mailbot is "not started yet" (a fresh install, the demo), which is
information, not a problem; a started daemon that has not polled within the limit is one. An
agenda is overdue only when the daemon should have sent it: cases are listed, its day has
passed, and the daemon polled after it was due. A daemon that cannot
write the database cannot say so there either, so the database's own state is looked at
here (read-only file system, a file that cannot be opened for writing, a full disk, a write
lock held by another process) without changing anything.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mailbot.config import Config
from mailbot.meetings.calendar import Calendar
from mailbot.meetings.listing import Listings
from mailbot.models import Folder
from mailbot.runner import FOLDER_ERRORS_KEY
from mailbot.service.instance import holder
from mailbot.store import Store

LAST_POLL_KEY = "last_poll"  # Store.state_* key: ISO time of the last successful pass
STARTED_KEY = "started"  # Store.state_* key: ISO time the daemon last started (its loop)
AGENDA_LOOKAHEAD_DAYS = 42
# A claim older than this (a send takes a minute at most) with no result recorded: the
# daemon could not write the result, or ended before it did.
STALE_CLAIM = timedelta(minutes=5)
CLOCK_SKEW = timedelta(minutes=2)  # a last poll later than now by more: the clock jumped
MIN_FREE_BYTES = 1024 * 1024  # less free on the state directory's disk: it is full
LOCK_PROBE_MS = 1000


@dataclass(frozen=True)
class Limits:
    """How long is too long (minutes) before `status` says something needs attention."""

    poll_minutes: float = 10.0
    backlog_minutes: float = 30.0
    outbox_minutes: float | None = None  # the oldest unsent message; None: [outbox] setting


@dataclass(frozen=True)
class AgendaDue:
    area: str
    meeting_date: str
    agenda_date: str
    listed: int


@dataclass(frozen=True)
class Health:
    checked_at: datetime
    last_poll: datetime | None
    backlog: int | None  # messages waiting in the inbox; None: this mailbox cannot say cheaply
    oldest_waiting: datetime | None
    held: int
    outbox_pending: int
    outbox_failed: int
    outbox_unknown: int  # sent twice without the server confirming: a person decides
    outbox_held: int  # held by an operator (`mailbot outbox hold`)
    outbox_unrecorded: int  # handed to the server long ago, with no result recorded
    oldest_unsent: datetime | None  # when the oldest message not yet sent was made
    store_problem: str | None  # why the database cannot be written now, if it cannot
    folder_errors: dict[str, dict[str, Any]]  # folders the daemon could not write
    daemon: str | None  # the daemon holding the state directory's lock, described; None: none
    started_at: datetime | None  # when the daemon last started; None: never (not started yet)
    next_agenda: AgendaDue | None  # the next agenda to go out, today or later
    # agendas with cases listed, for meetings not yet held, whose day has passed while the
    # daemon was running (it polled after the agenda was due) and that did not go
    overdue_agendas: int
    missing_emails: int  # decided emails no longer in the mailbox (moved or deleted by hand)
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("checked_at", "last_poll", "oldest_waiting", "oldest_unsent", "started_at"):
            value = data[key]
            data[key] = value.isoformat() if value is not None else None
        data["ok"] = self.ok
        return data


_MISSING = "SELECT COUNT(*) FROM messages WHERE location = 'Missing'"  # `Intake.reconcile`


def check_health(config: Config, store: Store, now: datetime, limits: Limits = Limits()) -> Health:
    last_poll = _parse(store.state_get(LAST_POLL_KEY))
    backlog, oldest = inbox_backlog(config)
    counts = _outbox_counts(store)
    if limits.outbox_minutes is None:
        limits = replace(limits, outbox_minutes=float(config.outbox.alert_after_minutes))
    health = Health(
        checked_at=now,
        last_poll=last_poll,
        backlog=backlog,
        oldest_waiting=oldest,
        held=_count(store, "SELECT COUNT(*) FROM cases WHERE outcome = 'held'"),
        outbox_pending=counts.get("pending", 0) + counts.get("sending", 0),
        outbox_failed=counts.get("failed", 0),
        outbox_unknown=counts.get("unknown", 0),
        outbox_held=counts.get("held", 0),
        outbox_unrecorded=_count(store, _UNRECORDED, ((now - STALE_CLAIM).isoformat(),)),
        oldest_unsent=_parse(store.conn.execute(_OLDEST_UNSENT).fetchone()[0]),
        store_problem=store_problem(store),
        folder_errors=_folder_errors(store),
        daemon=_daemon(config),
        started_at=_parse(store.state_get(STARTED_KEY)),
        next_agenda=None,
        overdue_agendas=0,
        problems=(),
        missing_emails=_count(store, _MISSING),
    )
    health = replace(health, **_agendas(config, store, now, last_poll))
    return replace(health, problems=tuple(_problems(health, limits)))


def store_problem(store: Store) -> str | None:
    """Why the database cannot be written now, or None; looks, and changes nothing."""
    directory = store.path.parent
    try:
        disk = os.statvfs(directory)
    except OSError as exc:
        return f"its directory cannot be read ({exc.strerror})"
    if disk.f_flag & os.ST_RDONLY:
        return f"the file system of {directory} is read-only"
    for path in (store.path, store.path.with_name(store.path.name + "-wal")):
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CLOEXEC))
        except FileNotFoundError:
            continue
        except OSError as exc:
            return f"{path.name} cannot be opened for writing ({exc.strerror})"
    free = disk.f_bavail * disk.f_frsize
    if free < MIN_FREE_BYTES:
        return f"the disk holding {directory} is full ({free // 1024} KB free)"
    return _write_lock_problem(store)


def _write_lock_problem(store: Store) -> str | None:
    """Whether another process holds the write lock for longer than a second (a transaction
    that is begun and rolled back at once, writing nothing)."""
    conn = store.conn
    (timeout,) = conn.execute("PRAGMA busy_timeout").fetchone()
    conn.execute(f"PRAGMA busy_timeout={LOCK_PROBE_MS}")
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
    except sqlite3.Error as exc:
        name = getattr(exc, "sqlite_errorname", "") or type(exc).__name__
        if name.startswith("SQLITE_BUSY"):
            return "another process holds its write lock (a long `mailbot history import`?)"
        return f"it refuses a transaction ({name})"
    finally:
        conn.execute(f"PRAGMA busy_timeout={int(timeout)}")
    return None


def inbox_backlog(config: Config) -> tuple[int | None, datetime | None]:
    """(messages waiting, the oldest one's arrival) for a Maildir; (None, None) otherwise."""
    if config.mailbox.kind != "maildir":
        return None, None
    count, oldest = 0, None
    for sub in ("new", "cur"):
        directory = config.mail_dir / Folder.INBOX.value / sub
        for entry in _entries(directory):
            try:
                arrived = datetime.fromtimestamp(entry.stat().st_mtime, tz=UTC)
            except FileNotFoundError:  # processed while we looked
                continue
            count += 1
            oldest = arrived if oldest is None or arrived < oldest else oldest
    return count, oldest


def _agendas(
    config: Config, store: Store, now: datetime, last_poll: datetime | None
) -> dict[str, Any]:
    """The next agenda due (not sent, due today or later), and how many are overdue: only an
    agenda the daemon should have sent, one with cases on it, whose day has passed, and that
    was due before the daemon's last poll (a daemon that was not running could not send it:
    its silence is the poll's problem, not the agenda's)."""
    today = now.astimezone(config.zone).date()
    listings = Listings(store, Calendar(config), list(config.areas))
    unsent = [m for m in listings.upcoming(today, AGENDA_LOOKAHEAD_DAYS) if not m.agenda_sent]
    coming = [m for m in unsent if m.meeting.agenda_date >= today]
    overdue = [
        m
        for m in unsent
        if m.meeting.agenda_date < today
        and m.discussion + m.information > 0
        and last_poll is not None
        and last_poll
        > datetime.combine(m.meeting.agenda_date, config.agenda_send_time, tzinfo=config.zone)
    ]
    first = min(
        coming, default=None, key=lambda m: (m.meeting.agenda_date, m.meeting.date, m.meeting.area)
    )
    due = (
        None
        if first is None
        else AgendaDue(
            area=first.meeting.area,
            meeting_date=first.meeting.date.isoformat(),
            agenda_date=first.meeting.agenda_date.isoformat(),
            listed=first.discussion + first.information,
        )
    )
    return {"next_agenda": due, "overdue_agendas": len(overdue)}


def _problems(health: Health, limits: Limits) -> list[str]:
    problems = []
    now = health.checked_at
    if health.last_poll is None:
        # Not started yet (a fresh install, the demo) is information, not a problem; a
        # daemon that started and has not finished a poll within the limit is one.
        started = health.started_at
        if started is not None and now - started > timedelta(minutes=limits.poll_minutes):
            problems.append(
                f"the daemon started {_minutes(now - started)} ago and has not completed a"
                " mailbox poll (journalctl -u mailbot; mailbot check)"
            )
    elif now - health.last_poll > timedelta(minutes=limits.poll_minutes):
        problems.append(
            f"no successful mailbox poll for {_minutes(now - health.last_poll)}"
            " (is the service running? journalctl -u mailbot)"
        )
    elif health.last_poll - now > CLOCK_SKEW:
        problems.append(
            f"the last mailbox poll is recorded {_minutes(health.last_poll - now)}"
            " in the future: the clock jumped back, and no poll has been recorded"
            " since (is the service running? journalctl -u mailbot)"
        )
    if health.store_problem is not None:
        problems.append(
            f"the database cannot be written: {health.store_problem}; nothing is"
            " decided or sent until it can"
        )
    for folder, error in sorted(health.folder_errors.items()):
        problems.append(
            f"the {folder} folder cannot be written ({error.get('error')}):"
            f" {error.get('waiting', 0)} email(s) wait in the Inbox for it; fix its"
            " permissions (the rest of the mail goes on)"
        )
    if health.outbox_failed:
        problems.append(
            f"{health.outbox_failed} outgoing message(s) failed"
            " (mailbot outbox list --state failed; then outbox retry or dismiss)"
        )
    if health.outbox_unknown:
        problems.append(
            f"{health.outbox_unknown} outgoing message(s) may not have arrived"
            " (sent twice, never confirmed): ask the recipient, then mailbot"
            " outbox dismiss ID or retry ID (mailbot outbox list --state unknown)"
        )
    if health.outbox_unrecorded:
        problems.append(
            f"{health.outbox_unrecorded} outgoing message(s) were handed to the"
            f" mail server over {_minutes(STALE_CLAIM)} ago with no result recorded"
            " (can the daemon write the database? is it running?)"
        )
    if (
        health.oldest_unsent is not None
        and limits.outbox_minutes is not None
        and now - health.oldest_unsent > timedelta(minutes=limits.outbox_minutes)
    ):
        problems.append(
            f"the oldest unsent message has waited"
            f" {_minutes(now - health.oldest_unsent)} (is the mail server"
            " reachable? mailbot outbox list --state pending)"
        )
    if health.oldest_waiting is not None and now - health.oldest_waiting > timedelta(
        minutes=limits.backlog_minutes
    ):
        problems.append(
            f"{health.backlog} message(s) waiting in the inbox, the oldest for"
            f" {_minutes(now - health.oldest_waiting)}"
        )
    if health.missing_emails:
        problems.append(
            f"{health.missing_emails} decided email(s) no longer found in the"
            " mailbox (journalctl -u mailbot | grep message.missing)"
        )
    return problems


_UNRECORDED = "SELECT COUNT(*) FROM outbox WHERE state = 'sending' AND claimed_at < ?"
_OLDEST_UNSENT = "SELECT MIN(created_at) FROM outbox WHERE state IN ('pending', 'sending')"


def _outbox_counts(store: Store) -> dict[str, int]:
    rows = store.conn.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state")
    return {str(state): int(n) for state, n in rows}


def _daemon(config: Config) -> str | None:
    running = holder(config.service.state_dir)
    return running.describe() if running is not None else None


def _folder_errors(store: Store) -> dict[str, dict[str, Any]]:
    try:
        value = json.loads(store.state_get(FOLDER_ERRORS_KEY) or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _count(store: Store, sql: str, params: tuple[str, ...] = ()) -> int:
    return int(store.conn.execute(sql, params).fetchone()[0])


def _entries(directory: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(directory) as scan:
            return [e for e in scan if not e.name.startswith(".") and e.is_file()]
    except FileNotFoundError:
        return []


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _minutes(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes} minute(s)" if minutes < 120 else f"{minutes // 60} hour(s)"
