"""Outgoing MARAC transfers: a victim moved away, so the case follows them.

PROCESS.md "Transfers and flags": an administrator records the move (new address, who moved
with them, concerns); the case appears under "Outgoing MARAC transfers" on the next agenda
of its area, so partners there can close or pass on their flags, and the receiving MARAC is
emailed the details by the secure route only: a new address is exactly what a perpetrator
would look for, so it is never sent by any other route, and never put on the old area's
agenda. A transfer to another West Midlands area goes to the team's own address, because
one team runs all seven MARACs.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Collection
from datetime import date, datetime
from pathlib import Path

from pydantic import ConfigDict, Field, ValidationError

from mailbot.cases.casebook import CaseRecord
from mailbot.cases.lifecycle import (
    MOVED,
    current_listing,
    end_listing,
    is_held,
    list_case,
    referrals,
)
from mailbot.config import config_error, read_toml
from mailbot.dispatch.compose import Planned
from mailbot.dispatch.routes import route_for
from mailbot.errors import MailbotError
from mailbot.meetings.agenda import TransferEntry, address, case_entry
from mailbot.meetings.calendar import choose_meeting
from mailbot.meetings.services import Services
from mailbot.models import Frozen, Meeting, Outcome

_ADDRESS = re.compile(r"^[^@\s<>]+@[a-z0-9.-]+\.[a-z]{2,}$", re.IGNORECASE)


class TransferError(MailbotError):
    """The transfer cannot be recorded (the message says why, with no personal data)."""


class TransferDetails(Frozen):
    """What the administrator tells mailbot about the move (personal data)."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)
    new_address: str = Field(min_length=1, repr=False)
    moved_with: str = Field(default="", repr=False)  # e.g. the children, by name
    concerns: str = Field(default="", repr=False)


class Transfer(Frozen):
    id: int
    reference: str
    from_area: str
    to_label: str
    to_address: str
    meeting_date: date | None
    recorded_at: datetime


def read_details_file(path: Path) -> TransferDetails:
    """Details from a TOML file (keys new_address, moved_with, concerns)."""
    data = read_toml(path, "transfer details")
    try:
        return TransferDetails.model_validate(
            {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}
        )
    except ValidationError as exc:
        raise config_error(exc, prefix="details", source=path, model=TransferDetails) from None


class Transfers:
    def __init__(self, ctx: Services) -> None:
        self.ctx = ctx

    def destination(self, to: str, case: CaseRecord) -> tuple[str, str]:
        """(label, address) for `--to`: an area name, or the receiving MARAC's address."""
        config = self.ctx.config
        area = next((a for a in config.areas if a.lower() == to.strip().lower()), None)
        if area == case.area:
            raise TransferError(f"{case.reference} is already a {area} case")
        if area is not None:
            label, recipient = f"{area} MARAC", config.team.address
        elif _ADDRESS.match(to.strip()):
            label, recipient = to.strip(), to.strip()
        else:
            raise TransferError(f"{to!r} is neither a West Midlands area nor an email address")
        if not route_for(recipient, config, self.ctx.secrets).secure:
            raise TransferError(
                f"{recipient} is not on a secure route: transfer details go"
                " only to a secure address (e.g. cjsm.net, pnn.police.uk,"
                " nhs.net, gcsx.gov.uk)"
            )
        return label, recipient

    def case(self, reference: str) -> CaseRecord:
        case = self.ctx.casebook.get(reference)
        if case is None:
            raise TransferError(f"no case {reference}")
        if case.decision.outcome not in (Outcome.ACCEPTED, Outcome.INFO_ONLY) or not case.area:
            raise TransferError(
                f"{reference} is {case.decision.outcome.value}: only listed"
                " cases can be transferred"
            )
        return case

    def record(
        self, reference: str, to: str, details: TransferDetails, actor: str, now: datetime
    ) -> Transfer:
        """Record the move, list it on the next agenda and email the receiving MARAC."""
        case = self.case(reference)
        label, recipient = self.destination(to, case)
        assert case.area is not None
        store = self.ctx.store
        today = now.astimezone(self.ctx.config.zone).date()
        with store.transaction() as conn:
            meeting = self._next_agenda(conn, case.area, today)
            cursor = conn.execute(
                "INSERT INTO transfers (reference, from_area, to_label, to_address, details,"
                " meeting_date, recorded_at, actor) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    reference,
                    case.area,
                    label,
                    recipient,
                    details.model_dump_json(),
                    meeting.date.isoformat() if meeting else None,
                    now.isoformat(),
                    actor,
                ),
            )
            transfer_id = int(cursor.lastrowid or 0)
            planned = self._email(case, label, recipient, details, transfer_id)
            self.ctx.dispatch.outbox.enqueue(conn, planned, reference, now)
            store.audit(
                conn,
                actor,
                "transfer_out",
                reference,
                f"to={label} agenda={meeting.date.isoformat() if meeting else '-'}",
            )
            to_area = next((a for a in self.ctx.config.areas if f"{a} MARAC" == label), None)
            if to_area is not None:
                self._relist(conn, case, to_area, today, actor)
        return Transfer(
            id=transfer_id,
            reference=reference,
            from_area=case.area,
            to_label=label,
            to_address=recipient,
            meeting_date=meeting.date if meeting else None,
            recorded_at=now,
        )

    def _relist(
        self, conn: sqlite3.Connection, case: CaseRecord, area: str, today: date, actor: str
    ) -> None:
        """A move within the West Midlands: one team runs all seven MARACs, so the case is
        listed at the new area's next meeting, and off the old area's meeting if it has not
        taken place (its agenda not sent yet: it simply drops off; sent: the transfer
        section of the next issue says where it went)."""
        dispatch = self.ctx.dispatch
        current = current_listing(conn, case.case)
        if current is not None and is_held(conn, current.area, current.meeting_date, today):
            current = None  # heard there already: that hearing stands
        meeting = self.ctx.listings.choose(conn, area, today)
        now = self.ctx.clock.now()
        if meeting is None:
            if current is not None:
                end_listing(conn, case.case, MOVED, now)
            dispatch.outbox.enqueue(
                conn,
                dispatch.planner.team_notice(
                    "transferred case not listed",
                    f"No {area} meeting with room was found for"
                    f" this case transferred from {case.area}; list it by hand (mailbot cases"
                    " list-at).",
                    case.case,
                    variant=f"transfer-unlisted-{area}",
                ),
                case.case,
                now,
            )
            return
        list_case(conn, case.case, area, meeting.date, now)
        self.ctx.store.audit(
            conn,
            actor,
            "listed_at",
            case.case,
            f"area={area} meeting={meeting.date.isoformat()}"
            f" previous={current.meeting_date.isoformat() if current else '-'}"
            " by=transfer",
        )
        for ref in referrals(conn, case.case):
            listed = self.ctx.casebook.get(ref)
            if listed is not None:  # referrers told the new meeting; the new area's IDVA once
                self.ctx.notices.enqueue(
                    conn,
                    listed.model_copy(update={"area": area}),
                    meeting,
                    idva=listed.joined is None,
                )

    def _next_agenda(self, conn: sqlite3.Connection, area: str, today: date) -> Meeting | None:

        def sent(a: str, d: date) -> bool:
            row = conn.execute(
                "SELECT agenda_sent_at FROM meetings WHERE area = ? AND date = ?",
                (a, d.isoformat()),
            ).fetchone()
            return bool(row and row[0])

        # Transfers take no discussion slot, so capacity does not apply.
        return choose_meeting(
            self.ctx.listings.calendar, area, today, listed=lambda a, d: 0, agenda_sent=sent
        )

    def _email(
        self,
        case: CaseRecord,
        label: str,
        recipient: str,
        details: TransferDetails,
        transfer_id: int,
    ) -> Planned:
        planner = self.ctx.dispatch.planner
        service = planner.idva_service(case)
        entry = case_entry(case, None, service.name if service else "")
        subject, body = planner.templates.render(
            "transfer_out",
            case=entry,
            area=case.area,
            to=label,
            last_marac=f"{case.meeting_date:%d/%m/%Y}" if case.meeting_date else "",
            details=details,
            team_address=self.ctx.config.team.address,
        )
        return Planned(
            kind="transfer",
            recipient=recipient,
            subject=subject,
            body=body,
            variant=f"transfer-{transfer_id}",
        )

    def entries(
        self, conn: sqlite3.Connection, area: str, day: date, exclude: Collection[str] = ()
    ) -> list[tuple[str, TransferEntry]]:
        """(item key, agenda entry) of the transfers listed on the area's agenda for `day`."""
        rows = conn.execute(
            "SELECT id, reference, to_label, recorded_at FROM transfers"
            " WHERE from_area = ? AND meeting_date = ? ORDER BY id",
            (area, day.isoformat()),
        ).fetchall()
        out = []
        for transfer_id, reference, to_label, recorded_at in rows:
            key = f"transfer:{transfer_id}"
            case = None if key in exclude else self.ctx.casebook.get(reference)
            if case is None:
                continue
            value = case.form.value if case.form else (lambda _: "")
            out.append(
                (
                    key,
                    TransferEntry(
                        reference=reference,
                        victim_name=" ".join(
                            x for x in (value("victim_forenames"), value("victim_surname")) if x
                        ),
                        victim_dob=value("victim_dob"),
                        previous_address=address(value("victim_address"), value("victim_postcode")),
                        transferred_to=to_label,
                        recorded=datetime.fromisoformat(recorded_at)
                        .astimezone(self.ctx.config.zone)
                        .date(),
                    ),
                )
            )
        return out
