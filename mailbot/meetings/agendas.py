"""Sending each meeting's agenda on its agenda date, and addenda for cases listed later.

PROCESS.md "Listing and meetings" and "Agenda": the agenda goes out a configured number of
working days before the meeting (at `agenda_send_time` on that day, so cases accepted that
day still make it), to every recipient on the area's list by its route. The daemon runs this
on every pass, so an agenda missed while it was down goes out as soon as it is back.

Exactly once: the messages, the record of what the document held and the meeting's
`agenda_sent_at` (which closes it to new listings) commit in one transaction. Documents are
built before it, so the database is not locked while Word files are encrypted; inside it
the listing is read again and, if a case arrived in between, nothing is committed and the
next pass starts over. Anything listed after the agenda went (an emergency `list-at`, a
transfer) goes out as the next numbered addendum.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from mailbot.cases.lifecycle import listed_cases, referrals
from mailbot.dispatch.compose import FileAttachment, Planned
from mailbot.dispatch.distribution import no_route_notice, recipients
from mailbot.dispatch.documents import DOCX_TYPE
from mailbot.dispatch.encrypt import encrypt_docx
from mailbot.dispatch.parts import Dispatch
from mailbot.dispatch.routes import RouteKind
from mailbot.meetings.agenda import AgendaIssue, CaseEntry, case_entry
from mailbot.meetings.services import Services
from mailbot.meetings.transfers import Transfers
from mailbot.models import Meeting


@dataclass(frozen=True)
class _Snapshot:
    """What an issue would hold: compared again inside the sending transaction."""

    number: int
    cases: tuple[str, ...]
    transfers: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not self.cases and not self.transfers


class Agendas:
    def __init__(self, ctx: Services) -> None:
        self.ctx = ctx
        self.transfers = Transfers(ctx)

    # -- the job ------------------------------------------------------------------------

    def run(self, now: datetime) -> None:
        """Send every agenda or addendum that is due (idempotent; called on every pass)."""
        if not self._waiting(now):
            return  # nothing any issue could hold: the calendar (bank holidays) is not needed
        for meeting in self.due(now):
            self.issue(meeting, now)

    def due(self, now: datetime) -> list[Meeting]:
        """Meetings whose agenda date (and send time) has come and that have not started."""
        config = self.ctx.config
        today, clock = self._today(now)
        ahead = self._ahead(today)
        calendar = self.ctx.listings.calendar
        out = []
        for area in sorted(config.areas):
            for m in calendar.meetings(area, today, ahead):
                if m.agenda_date > today or (
                    m.agenda_date == today and clock < config.agenda_send_time
                ):
                    continue
                if m.date == today and clock >= m.time:
                    continue  # the meeting has started: a document now would help no one
                out.append(m)
        return out

    def issue(self, meeting: Meeting, now: datetime) -> int | None:
        """Send the meeting's next issue if anything is waiting; its number, else None."""
        store = self.ctx.store
        snapshot = self._snapshot(store.conn, meeting)
        if snapshot.empty:
            return None
        agenda = self._issue(store.conn, meeting, snapshot)
        messages = self._messages(agenda)
        with store.transaction() as conn:
            if self._snapshot(conn, meeting) != snapshot:
                return None  # listed or sent meanwhile: the next pass starts over
            for planned in messages:
                self._dispatch.outbox.enqueue(conn, planned, None, now)
            self._record(conn, meeting, snapshot, now)
        self.ctx.log.info("agenda.sent", kind="agenda", count=len(messages))
        return snapshot.number

    def preview(self, area: str, day: date) -> bytes | None:
        """Everything listed at the meeting as one agenda document, without sending it."""
        from mailbot.meetings.agenda_doc import build_agenda  # see _messages

        meeting = self.ctx.listings.calendar.meeting_on(area, day)
        if meeting is None:
            return None
        conn = self.ctx.store.conn
        full = _Snapshot(
            0,
            self._cases(conn, meeting),
            tuple(k for k, _ in self.transfers.entries(conn, area, day)),
        )
        return build_agenda(self._issue(conn, meeting, full))

    # -- reading what is listed ---------------------------------------------------------

    def _today(self, now: datetime) -> tuple[date, time]:
        local = now.astimezone(self.ctx.config.zone)
        return local.date(), local.time().replace(tzinfo=None)

    def _ahead(self, today: date) -> date:
        """The last day whose meeting `due` considers."""
        return today + timedelta(days=self.ctx.config.agenda_working_days_before * 3 + 14)

    def _waiting(self, now: datetime) -> bool:
        """Whether any case or transfer listed at a meeting `due` could return is not yet on
        an issue: when none is, every issue would be empty, so `run` has nothing to send."""
        today = self._today(now)[0]
        areas = sorted(self.ctx.config.areas)
        if not areas:
            return False
        marks = ", ".join("?" for _ in areas)
        days = (today.isoformat(), self._ahead(today).isoformat())
        row = self.ctx.store.conn.execute(
            f"SELECT 1 FROM listings c WHERE c.area IN ({marks})"  # noqa: S608 (only ? added)
            " AND c.meeting_date BETWEEN ? AND ? AND c.state = 'listed'"
            " AND NOT EXISTS (SELECT 1 FROM agenda_items i WHERE i.area = c.area"
            " AND i.date = c.meeting_date AND i.item = c.case_ref)"
            f" UNION ALL SELECT 1 FROM transfers t WHERE t.from_area IN ({marks})"
            " AND t.meeting_date BETWEEN ? AND ?"
            " AND NOT EXISTS (SELECT 1 FROM agenda_items i WHERE i.area = t.from_area"
            " AND i.date = t.meeting_date AND i.item = 'transfer:' || t.id) LIMIT 1",
            (*areas, *days, *areas, *days),
        ).fetchone()
        return row is not None

    def _snapshot(self, conn: sqlite3.Connection, meeting: Meeting) -> _Snapshot:
        key = (meeting.area, meeting.date.isoformat())
        issued = {
            r[0]
            for r in conn.execute("SELECT item FROM agenda_items WHERE area = ? AND date = ?", key)
        }
        number = conn.execute(
            "SELECT COALESCE(MAX(number) + 1, 0) FROM agenda_issues WHERE area = ? AND date = ?",
            key,
        ).fetchone()[0]
        cases = tuple(r for r in self._cases(conn, meeting) if r not in issued)
        transfers = tuple(
            k for k, _ in self.transfers.entries(conn, meeting.area, meeting.date, exclude=issued)
        )
        return _Snapshot(int(number), cases, transfers)

    def _cases(self, conn: sqlite3.Connection, meeting: Meeting) -> tuple[str, ...]:
        """The cases listed at the meeting (one per victim, however many referrals)."""
        return tuple(listed_cases(conn, meeting.area, meeting.date))

    def _issue(
        self, conn: sqlite3.Connection, meeting: Meeting, snapshot: _Snapshot
    ) -> AgendaIssue:
        wanted = set(snapshot.transfers)
        transfers = [
            e for k, e in self.transfers.entries(conn, meeting.area, meeting.date) if k in wanted
        ]
        entries = [self._entry(conn, ref, meeting) for ref in snapshot.cases]
        return AgendaIssue(
            meeting=meeting,
            number=snapshot.number,
            cases=tuple(e for e in entries if e is not None),
            transfers=tuple(transfers),
        )

    def _entry(
        self, conn: sqlite3.Connection, reference: str, meeting: Meeting
    ) -> CaseEntry | None:
        found = [self.ctx.casebook.get(r) for r in referrals(conn, reference)]
        listed = [r for r in found if r is not None]
        if not listed:
            return None
        case, joined = listed[0], listed[1:]
        previous = None
        if case.decision.repeat_of:
            row = conn.execute(
                "SELECT MAX(marac_date) FROM people WHERE reference = ? AND marac_date < ?",
                (case.decision.repeat_of, meeting.date.isoformat()),
            ).fetchone()
            previous = date.fromisoformat(row[0]) if row and row[0] else None
        service = self._dispatch.planner.idva_service(case)
        return case_entry(case, previous, service.name if service else "", joined)

    # -- sending ------------------------------------------------------------------------

    def _messages(self, issue: AgendaIssue) -> list[Planned]:
        # Imported only when an issue is written: the Word writer is start-up time and memory
        # the daemon does not spend on its passes that only check whether an agenda is due.
        from mailbot.meetings.agenda_doc import build_agenda

        config, planner = self.ctx.config, self._dispatch.planner
        document = build_agenda(issue)
        m = issue.meeting
        variant = f"{m.area}:{m.date.isoformat()}:{issue.number}"
        context: dict[str, Any] = {
            "meeting": {
                "area": m.area,
                "date": f"{m.date:%A} {m.date.day} {m.date:%B %Y}",
                "time": f"{m.time:%H:%M}",
                "venue": m.venue,
            },
            "addendum": issue.number,
            "discussion": len(issue.discussion),
            "information": len(issue.information),
            "transfers": len(issue.transfers),
            "team_address": config.team.address,
        }
        out: list[Planned] = []
        for r in recipients(config, self.ctx.secrets, m.area):
            if r.route.kind is RouteKind.SECURE:
                subject, body = planner.templates.render("agenda", **context)
                data = document
            elif r.route.kind is RouteKind.PASSWORD and r.route.password:
                subject, body = planner.templates.render("agenda_encrypted", **context)
                data = encrypt_docx(document, r.route.password)
            else:
                out.append(
                    no_route_notice(
                        planner,
                        r.address,
                        f"{m.area} MARAC {issue.name.lower()} of {m.date.isoformat()}",
                        f"agenda-no-route:{variant}:{r.address.lower()}",
                    )
                )
                continue
            attachment = FileAttachment(filename=issue.filename, data=data, content_type=DOCX_TYPE)
            out.append(
                Planned(
                    kind="agenda",
                    recipient=r.address,
                    subject=subject,
                    body=body,
                    attachments=(attachment,),
                    variant=variant,
                )
            )
        return out

    def _record(
        self, conn: sqlite3.Connection, meeting: Meeting, snapshot: _Snapshot, now: datetime
    ) -> None:
        key = (meeting.area, meeting.date.isoformat())
        conn.execute(
            "INSERT INTO agenda_issues (area, date, number, sent_at) VALUES (?, ?, ?, ?)",
            (*key, snapshot.number, now.isoformat()),
        )
        conn.executemany(
            "INSERT INTO agenda_items (area, date, item, number) VALUES (?, ?, ?, ?)",
            [(*key, item, snapshot.number) for item in (*snapshot.cases, *snapshot.transfers)],
        )
        # Closes the meeting to new listings (`listing.Listings.choose`).
        conn.execute(
            "INSERT INTO meetings (area, date, agenda_sent_at) VALUES (?, ?, ?)"
            " ON CONFLICT (area, date) DO UPDATE SET agenda_sent_at ="
            " COALESCE(meetings.agenda_sent_at, excluded.agenda_sent_at)",
            (*key, now.isoformat()),
        )
        self.ctx.store.audit(
            conn,
            "mailbot",
            "agenda_sent",
            None,
            f"area={meeting.area} meeting={key[1]} issue={snapshot.number}"
            f" cases={len(snapshot.cases)} transfers={len(snapshot.transfers)}",
        )

    @property
    def _dispatch(self) -> Dispatch:
        return self.ctx.dispatch
