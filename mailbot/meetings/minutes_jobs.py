"""Sending a meeting's minutes, reminding the team when they are late, and the watch folder.

PROCESS.md "Minutes": the minutes reach the distribution list within 48 hours (configurable)
of the meeting. `Minutes.send` (the `mailbot minutes send` command and the watch folder)
checks every file first (`minutes.check_files`), plans every recipient's emails, and only
then puts them all in the outbox in one transaction with the record of the run: either the
whole set goes to everyone or nothing goes to anyone. Sending the same meeting's minutes
twice needs `again=True`, so a slip of the up-arrow cannot send a second copy to ten
agencies. The reminder is sent once per meeting; the watch folder only takes a folder once
an administrator has put a READY file in it, so a half-copied set is never sent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from datetime import date, datetime, time, timedelta
from pathlib import Path

from mailbot.dispatch.compose import Planned
from mailbot.dispatch.distribution import no_route_notice, recipients
from mailbot.dispatch.parts import Dispatch
from mailbot.dispatch.routes import RouteKind
from mailbot.meetings.minutes import MinutesPlan, MinutesRefused, check_files
from mailbot.meetings.services import Services
from mailbot.models import Frozen

FOLDER_NAME = re.compile(r"^([A-Za-z]+)[ _-](\d{4}-\d{2}-\d{2})$")
READY_NAMES = frozenset({"ready", "ready.txt"})
SENT_DIR = "Sent"
REMINDER_LOOKBACK = timedelta(days=90)  # older meetings were reminded about long ago


class MinutesSent(Frozen):
    run: int
    files: int
    emails: int
    notices: int  # recipients with no route: the team was told instead
    missing: tuple[str, ...]  # listed cases with no PDF in the set
    late: bool


class Minutes:
    def __init__(self, ctx: Services) -> None:
        self.ctx = ctx

    @property
    def dispatch(self) -> Dispatch:
        return self.ctx.dispatch

    def listed(self, area: str, day: date) -> list[str]:
        """The references on the meeting's agenda: its cases and its outgoing transfers."""
        key = (area, day.isoformat())
        cases = self.ctx.store.conn.execute(
            "SELECT case_ref FROM listings WHERE area = ? AND meeting_date = ?"
            " AND state = 'listed' ORDER BY case_ref",
            key,
        ).fetchall()
        moved = self.ctx.store.conn.execute(
            "SELECT reference FROM transfers WHERE from_area = ? AND meeting_date = ?", key
        ).fetchall()
        return sorted({r[0] for r in (*cases, *moved)})

    def send(
        self,
        area: str,
        day: date,
        folder: Path,
        *,
        actor: str,
        now: datetime,
        again: bool = False,
        ignore: Collection[str] = (),
    ) -> MinutesSent:
        """Check and send the minutes in `folder`; MinutesRefused (nothing sent) if wrong."""
        config = self.ctx.config
        listed = self.listed(area, day)
        if not listed:
            raise MinutesRefused([f"no cases are listed at the {area} MARAC on {day}"])
        start = self._start(area, day)
        if now < start:
            raise MinutesRefused([f"the {area} MARAC of {day} has not happened yet"])
        previous = self.ctx.store.conn.execute(
            "SELECT sent_at FROM minutes_runs WHERE area = ? AND date = ? ORDER BY id DESC",
            (area, day.isoformat()),
        ).fetchone()
        if previous and not again:
            raise MinutesRefused(
                [
                    f"the minutes of the {area} MARAC of {day} were already"
                    f" sent ({previous[0][:16]}); to send a corrected set, use"
                    " --again"
                ]
            )
        files = check_files(folder, listed, ignore)
        context = {
            "meeting": {
                "area": area,
                "iso": day.isoformat(),
                "date": f"{day:%A} {day.day} {day:%B %Y}",
            },
            "team_address": config.team.address,
        }
        planned: list[tuple[Planned, int]] = []
        unrouted: list[str] = []
        for r in recipients(config, self.ctx.secrets, area):
            if r.route.kind is RouteKind.NONE or not (r.route.secure or r.route.password):
                unrouted.append(r.address)
                continue
            limit = self._limit(r.address)
            plan = MinutesPlan(
                self.dispatch.planner.templates,
                context,
                self.dispatch.outbox.from_address,
                now,
                limit,
            )
            planned.extend((p, limit) for p in plan.emails(r, files))
        run = self._commit(
            area,
            day,
            actor,
            now,
            files=[f.filename for f in files],
            planned=planned,
            unrouted=unrouted,
        )
        return MinutesSent(
            run=run,
            files=len(files),
            emails=len(planned),
            notices=len(unrouted),
            missing=tuple(sorted(set(listed) - {f.reference for f in files})),
            late=now > start + timedelta(hours=config.minutes.send_within_hours),
        )

    def _commit(
        self,
        area: str,
        day: date,
        actor: str,
        now: datetime,
        *,
        files: list[str],
        planned: list[tuple[Planned, int]],
        unrouted: list[str],
    ) -> int:
        store, outbox = self.ctx.store, self.dispatch.outbox
        with store.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO minutes_runs (area, date, sent_at, actor, files, emails)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (area, day.isoformat(), now.isoformat(), actor, json.dumps(files), len(planned)),
            )
            run = int(cursor.lastrowid or 0)
            for message, limit in planned:
                message = message.model_copy(
                    update={"variant": f"{area}:{day.isoformat()}:{run}:{message.variant}"}
                )
                outbox.enqueue(conn, message, None, now)
                size = conn.execute(
                    "SELECT length(raw) FROM outbox WHERE idem_key = ?", (message.idem_key(None),)
                ).fetchone()[0]
                if size > limit:  # the size model is wrong: send nothing rather than bounce
                    raise MinutesRefused(
                        [
                            f"internal error: an email to {message.recipient}"
                            f" came to {size} bytes, over its {limit}"
                        ]
                    )
            for address in unrouted:
                outbox.enqueue(
                    conn,
                    no_route_notice(
                        self.dispatch.planner,
                        address,
                        f"{area} MARAC minutes of {day}",
                        f"minutes-no-route:{area}:{day.isoformat()}:{run}:{address.lower()}",
                    ),
                    None,
                    now,
                )
            store.audit(
                conn,
                actor,
                "minutes_sent",
                None,
                f"area={area} meeting={day.isoformat()} run={run} files={len(files)}"
                f" emails={len(planned)} unrouted={len(unrouted)}",
            )
        self.ctx.log.info("minutes.sent", kind="minutes", count=len(planned))
        return run

    def remind_late(self, now: datetime) -> None:
        """Tell the team (once per meeting) when a meeting's minutes are overdue."""
        hours = self.ctx.config.minutes.send_within_hours
        today = now.astimezone(self.ctx.config.zone).date()
        store = self.ctx.store
        rows = store.conn.execute(
            "SELECT DISTINCT area, meeting_date FROM listings c WHERE state = 'listed'"
            " AND meeting_date BETWEEN ? AND ? AND NOT EXISTS (SELECT 1 FROM minutes_runs r"
            " WHERE r.area = c.area AND r.date = c.meeting_date) AND NOT EXISTS (SELECT 1"
            " FROM minutes_reminders m WHERE m.area = c.area AND m.date = c.meeting_date)",
            ((today - REMINDER_LOOKBACK).isoformat(), today.isoformat()),
        ).fetchall()
        for area, iso in rows:
            day = date.fromisoformat(iso)
            if now < self._start(area, day) + timedelta(hours=hours):
                continue
            notice = self.dispatch.planner.team_notice(
                "MARAC minutes are late",
                f"The minutes of the {area} MARAC of {iso} have not been sent, and the meeting"
                f" was more than {hours} hours ago. Put one PDF per case in a folder and run:"
                f" mailbot minutes send {area} {iso} FOLDER",
                None,
                variant=f"minutes-late:{area}:{iso}",
            )
            with store.transaction() as conn:
                conn.execute(
                    "INSERT OR IGNORE INTO minutes_reminders VALUES (?, ?, ?)",
                    (area, iso, now.isoformat()),
                )
                self.dispatch.outbox.enqueue(conn, notice, None, now)

    def _start(self, area: str, day: date) -> datetime:
        meeting = (
            self.ctx.listings.calendar.meeting_on(area, day)
            if area in self.ctx.config.areas
            else None
        )
        return datetime.combine(
            day, meeting.time if meeting else time(0), tzinfo=self.ctx.config.zone
        )

    def _limit(self, address: str) -> int:
        settings = self.ctx.config.minutes
        agency = self.ctx.config.agency_for(address)
        own = settings.agency_max_email_bytes.get(agency.id) if agency else None
        return own or settings.max_email_bytes


class MinutesWatch:
    """Sends folders named "<Area> <YYYY-MM-DD>" in the watch folder once they hold READY."""

    def __init__(self, minutes: Minutes, watch_dir: Path) -> None:
        self.minutes = minutes
        self.watch_dir = watch_dir

    def run(self, now: datetime) -> None:
        if not self.watch_dir.is_dir():
            return
        for folder in sorted(
            p for p in self.watch_dir.iterdir() if p.is_dir() and p.name != SENT_DIR
        ):
            marker = next(
                (p for p in folder.iterdir() if p.is_file() and p.name.lower() in READY_NAMES), None
            )
            if marker is not None:
                self._take(folder, marker, now)

    def _take(self, folder: Path, marker: Path, now: datetime) -> None:
        report = self.watch_dir / f"{folder.name}.FAILED.txt"
        try:
            area, day = self._meeting(folder.name)
            self.minutes.send(
                area, day, folder, actor="watch-folder", now=now, ignore={marker.name}
            )
        except MinutesRefused as exc:
            marker.unlink(missing_ok=True)
            report.write_text(
                "Nothing was sent:\n"
                + "".join(f"- {p}\n" for p in exc.problems)
                + "Put it right, then add a READY file to the folder again.\n",
                encoding="utf-8",
            )
            self._notify(folder.name, exc.problems, now)
            return
        marker.unlink(missing_ok=True)
        report.unlink(missing_ok=True)
        sent = self.watch_dir / SENT_DIR
        sent.mkdir(exist_ok=True)
        target, n = sent / folder.name, 1
        while target.exists():
            n += 1
            target = sent / f"{folder.name} ({n})"
        folder.rename(target)

    def _meeting(self, name: str) -> tuple[str, date]:
        match = FOLDER_NAME.match(name)
        areas = {a.lower(): a for a in self.minutes.ctx.config.areas}
        try:
            day = date.fromisoformat(match.group(2)) if match else None
        except ValueError:
            day = None
        if match is None or day is None or match.group(1).lower() not in areas:
            raise MinutesRefused(
                [
                    f"folder {name!r} is not named '<Area> <YYYY-MM-DD>'"
                    " (e.g. 'Wolverhampton 2026-11-11')"
                ]
            )
        return areas[match.group(1).lower()], day

    def _notify(self, name: str, problems: list[str], now: datetime) -> None:
        dispatch = self.minutes.dispatch
        notice = dispatch.planner.team_notice(
            "minutes in the watch folder were not sent",
            f"Nothing in the watch folder {name!r} was sent: "
            + "; ".join(problems)
            + f". Details are in {name}.FAILED.txt beside the folder.",
            None,
            variant=f"minutes-watch:{name}:{now.isoformat()}",
        )
        with self.minutes.ctx.store.transaction() as conn:
            dispatch.outbox.enqueue(conn, notice, None, now)
