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

from collections.abc import Sequence
from datetime import date

from mailbot.cases.casebook import CaseRecord
from mailbot.codes import Criterion
from mailbot.dispatch.markers import Marker, markers
from mailbot.models import Frozen, Meeting, Outcome


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
    victim_not_aware_reason: str = ""  # the Chair must know why (Wolverhampton protocol)
    markers: tuple[str, ...] = ()  # what the Chair must know (`markers`)
    referrals: tuple[str, ...] = ()  # every referral of the case, the first one first


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


def case_entry(
    case: CaseRecord,
    previous_marac: date | None,
    idva_service: str,
    joined: Sequence[CaseRecord] = (),
) -> CaseEntry:
    """The agenda entry of a listed case: `case` is its first referral, `joined` the
    referrals of the same victim by other agencies that joined it (one entry per victim,
    naming every referring agency); `previous_marac` is the repeat's earlier hearing."""
    form = case.form
    value = form.value if form else (lambda _: "")
    everyone = (case, *joined)
    repeat = any(
        r.decision.repeat_of
        or Criterion.REPEAT in r.decision.criteria
        or (r.form is not None and r.form.value("referral_type") == "Repeat referral")
        for r in everyone
    )
    previous = f"{previous_marac:%d/%m/%Y}" if previous_marac else value("previous_marac_date")
    status = value("idva_status")
    agencies = (r.form.value("referrer_agency") if r.form else "" for r in everyone)
    children = {
        (c.name, c.dob): None for r in everyone for c in (r.form.children if r.form else ())
    }
    aware = value("victim_aware")
    return CaseEntry(
        reference=case.case,
        information_only=all(r.decision.outcome is Outcome.INFO_ONLY for r in everyone),
        victim_name=_name(value("victim_forenames"), value("victim_surname")),
        victim_aliases=value("victim_aliases"),
        victim_dob=value("victim_dob"),
        victim_address=address(value("victim_address"), value("victim_postcode")),
        perp_name=_name(value("perp_forenames"), value("perp_surname")),
        perp_dob=value("perp_dob"),
        perp_address=address(value("perp_address"), value("perp_postcode")),
        children=tuple(children),
        referring_agency="; ".join(
            dict.fromkeys(a or r.agency or "" for a, r in zip(agencies, everyone, strict=True))
        ),
        repeat=repeat,
        previous_marac=previous if repeat else "",
        victim_aware=aware,
        idva_service=" - ".join(x for x in (idva_service or value("idva_service"), status) if x),
        victim_not_aware_reason=value("victim_not_aware_reason")
        if aware.strip().lower() == "no"
        else "",
        markers=tuple(dict.fromkeys(_marker(m, r) for r in everyone for m in markers(r.decision))),
        referrals=tuple(r.reference for r in everyone),
    )


def _marker(marker: Marker, referral: CaseRecord) -> str:
    source = referral.form.value("transfer_from").strip() if referral.form else ""
    if marker.code == Criterion.TRANSFER and source:
        return f"{marker.label} ({source})"
    return marker.label


def address(lines: str, postcode: str) -> str:
    parts = [p.strip() for p in lines.splitlines() if p.strip()]
    return ", ".join([*parts, postcode.strip()] if postcode.strip() else parts)


def _name(forenames: str, surname: str) -> str:
    return " ".join(x for x in (forenames.strip(), surname.strip()) if x)
