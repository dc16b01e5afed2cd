"""The MARAC agenda: what partners research before the meeting, case by case.

PROCESS.md "Agenda": for each case the identifying details partners need to search their own
records (victim, perpetrator, children, referrer, repeat, awareness, IDVA), and nothing of
the risk narrative, which is shared only in the room. Cases for discussion come first, then
"For information only", then "Outgoing MARAC transfers" at the end.

This module says what an issue holds (pure: cases in, entries out); `agenda_doc` writes it
as a Word document, and `agendas` decides when it is sent and to whom. An entry is built
from a case by copying named fields, never by copying the form wholesale, so a risk field
cannot slip in by accident.
"""

from __future__ import annotations

from datetime import date

from mailbot.casebook import CaseRecord
from mailbot.meetings import Meeting
from mailbot.models import Frozen, Outcome


class CaseEntry(Frozen):
    """One case as the agenda shows it (identifying details only)."""

    reference: str
    information_only: bool
    victim_name: str
    victim_aliases: str
    victim_dob: str
    victim_address: str
    perp_name: str
    perp_dob: str
    perp_address: str
    children: tuple[tuple[str, str], ...]  # (name, date of birth)
    referring_agency: str
    repeat: bool
    previous_marac: str  # dd/mm/yyyy, or '' when not known
    victim_aware: str
    idva_service: str


class TransferEntry(Frozen):
    """A victim who moved away: listed so partners here can close or pass on their flags."""

    reference: str
    victim_name: str
    victim_dob: str
    previous_address: str
    transferred_to: str
    recorded: date


class AgendaIssue(Frozen):
    """One document: the agenda (number 0) or a numbered addendum."""

    meeting: Meeting
    number: int
    cases: tuple[CaseEntry, ...]
    transfers: tuple[TransferEntry, ...] = ()

    @property
    def discussion(self) -> list[CaseEntry]:
        return [c for c in self.cases if not c.information_only]

    @property
    def information(self) -> list[CaseEntry]:
        return [c for c in self.cases if c.information_only]

    @property
    def name(self) -> str:
        return f"Addendum {self.number}" if self.number else "Agenda"

    @property
    def filename(self) -> str:
        m = self.meeting
        suffix = f" addendum {self.number}" if self.number else ""
        return f"{m.area} MARAC agenda {m.date.isoformat()}{suffix}.docx"


def meeting_title(meeting: Meeting) -> str:
    """'Wolverhampton MARAC, Wednesday 11 November 2026 10:00'."""
    d = meeting.date
    return f"{meeting.area} MARAC, {d:%A} {d.day} {d:%B %Y} {meeting.time:%H:%M}"


def case_entry(case: CaseRecord, previous_marac: date | None, idva_service: str) -> CaseEntry:
    """The agenda entry of a listed case; `previous_marac` is the repeat's earlier hearing."""
    form = case.form
    value = form.value if form else (lambda _: "")
    repeat = bool(case.decision.repeat_of) or "repeat" in case.decision.criteria \
        or value("referral_type") == "Repeat referral"
    previous = f"{previous_marac:%d/%m/%Y}" if previous_marac else value("previous_marac_date")
    status = value("idva_status")
    return CaseEntry(
        reference=case.reference,
        information_only=case.decision.outcome is Outcome.INFO_ONLY,
        victim_name=_name(value("victim_forenames"), value("victim_surname")),
        victim_aliases=value("victim_aliases"), victim_dob=value("victim_dob"),
        victim_address=address(value("victim_address"), value("victim_postcode")),
        perp_name=_name(value("perp_forenames"), value("perp_surname")),
        perp_dob=value("perp_dob"),
        perp_address=address(value("perp_address"), value("perp_postcode")),
        children=tuple((c.name, c.dob) for c in (form.children if form else ())),
        referring_agency=value("referrer_agency") or case.agency or "",
        repeat=repeat, previous_marac=previous if repeat else "",
        victim_aware=value("victim_aware"),
        idva_service=" - ".join(x for x in (idva_service or value("idva_service"), status) if x),
    )


def address(lines: str, postcode: str) -> str:
    parts = [p.strip() for p in lines.splitlines() if p.strip()]
    return ", ".join([*parts, postcode.strip()] if postcode.strip() else parts)


def _name(forenames: str, surname: str) -> str:
    return " ".join(x for x in (forenames.strip(), surname.strip()) if x)
