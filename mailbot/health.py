"""Is mailbot working? The facts `mailbot status` prints and monitoring alerts on.

A referral sitting unread in the inbox is a victim nobody discusses, so silence must be
noticed: a daemon that stopped polling, mail waiting longer than it should, or a message that
could not be delivered. Everything here is read from the database and the mailbox folders
by a separate process (the status command), never from the daemon's memory: the daemon
records the time of its last successful poll in the database after each pass (throttled,
see `mailbot.daemon`), and that record is what proves it is alive.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mailbot.config import Config
from mailbot.listing import Listings
from mailbot.meetings import Calendar
from mailbot.models import Folder
from mailbot.store import Store

LAST_POLL_KEY = "last_poll"  # Store.state_* key: ISO time of the last successful pass
AGENDA_LOOKAHEAD_DAYS = 42


@dataclass(frozen=True)
class Limits:
    """How long is too long (minutes) before `status` says something needs attention."""

    poll_minutes: float = 10.0
    backlog_minutes: float = 30.0


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
    next_agenda: AgendaDue | None  # the next agenda to go out, today or later
    overdue_agendas: int  # agendas whose day has passed, for meetings not yet held
    missing_emails: int  # decided emails no longer in the mailbox (moved or deleted by hand)
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("checked_at", "last_poll", "oldest_waiting"):
            value = data[key]
            data[key] = value.isoformat() if value is not None else None
        data["ok"] = self.ok
        return data


_MISSING = "SELECT COUNT(*) FROM messages WHERE location = 'Missing'"  # `Intake.reconcile`


def check_health(config: Config, store: Store, now: datetime,
                 limits: Limits = Limits()) -> Health:
    last_poll = _parse(store.state_get(LAST_POLL_KEY))
    backlog, oldest = inbox_backlog(config)
    pending, failed = _outbox_counts(store)
    health = Health(
        checked_at=now, last_poll=last_poll, backlog=backlog, oldest_waiting=oldest,
        held=_count(store, "SELECT COUNT(*) FROM cases WHERE outcome = 'held'"),
        outbox_pending=pending, outbox_failed=failed,
        next_agenda=None, overdue_agendas=0, problems=(),
        missing_emails=_count(store, _MISSING),
    )
    health = replace(health, **_agendas(config, store, now))
    return replace(health, problems=tuple(_problems(health, limits)))


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


def _agendas(config: Config, store: Store, now: datetime) -> dict[str, Any]:
    """The next agenda due (not sent, due today or later), and how many are overdue."""
    today = now.astimezone(config.zone).date()
    listings = Listings(store, Calendar(config), list(config.areas))
    unsent = [m for m in listings.upcoming(today, AGENDA_LOOKAHEAD_DAYS) if not m.agenda_sent]
    coming = [m for m in unsent if m.meeting.agenda_date >= today]
    first = min(coming, default=None,
                key=lambda m: (m.meeting.agenda_date, m.meeting.date, m.meeting.area))
    due = None if first is None else AgendaDue(
        area=first.meeting.area, meeting_date=first.meeting.date.isoformat(),
        agenda_date=first.meeting.agenda_date.isoformat(),
        listed=first.discussion + first.information)
    return {"next_agenda": due, "overdue_agendas": len(unsent) - len(coming)}


def _problems(health: Health, limits: Limits) -> list[str]:
    problems = []
    now = health.checked_at
    if health.last_poll is None:
        problems.append("mailbot has never completed a mailbox poll")
    elif now - health.last_poll > timedelta(minutes=limits.poll_minutes):
        problems.append(f"no successful mailbox poll for {_minutes(now - health.last_poll)}"
                        " (is the service running? journalctl -u mailbot)")
    if health.outbox_failed:
        problems.append(f"{health.outbox_failed} outgoing message(s) failed"
                        " (mailbot outbox list --state failed)")
    if health.oldest_waiting is not None and \
            now - health.oldest_waiting > timedelta(minutes=limits.backlog_minutes):
        problems.append(f"{health.backlog} message(s) waiting in the inbox, the oldest for"
                        f" {_minutes(now - health.oldest_waiting)}")
    if health.missing_emails:
        problems.append(f"{health.missing_emails} decided email(s) no longer found in the"
                        " mailbox (journalctl -u mailbot | grep message.missing)")
    return problems


def _outbox_counts(store: Store) -> tuple[int, int]:
    rows = dict(store.conn.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state"))
    return int(rows.get("pending", 0)), int(rows.get("failed", 0))


def _count(store: Store, sql: str) -> int:
    return int(store.conn.execute(sql).fetchone()[0])


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
