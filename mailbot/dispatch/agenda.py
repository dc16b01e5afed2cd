"""The MARAC agenda as a Word document: what partners research before the meeting.

PROCESS.md "Agenda": for each case the identifying details partners need to search their own
records (victim, perpetrator, children, referrer, repeat, awareness, IDVA), and nothing of
the risk narrative, which is shared only in the room. Cases for discussion come first, then
"For information only", then "Outgoing MARAC transfers" at the end. Every page carries the
protective marking, the meeting's name and its page number, so a printed page that goes
astray still says what it is.

This module only builds documents (pure: entries in, bytes out); `agendas` decides when
they are sent and to whom. An entry is built from a case by copying named fields, never by
copying the form wholesale, so a risk field cannot slip in by accident.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date

import docx
from docx.document import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.text.paragraph import Paragraph

from mailbot.casebook import CaseRecord
from mailbot.meetings import Meeting
from mailbot.models import Frozen, Outcome

MARKING = "OFFICIAL-SENSITIVE"
SECTIONS = ("Cases for discussion", "For information only", "Outgoing MARAC transfers")


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


def build_agenda(issue: AgendaIssue) -> bytes:
    """The .docx of one agenda issue."""
    document = docx.Document()
    title = meeting_title(issue.meeting)
    props = document.core_properties
    props.title = f"{title} - {issue.name}"
    props.author = props.last_modified_by = "MARAC Coordination Team"
    props.comments = props.keywords = props.subject = ""
    _header_and_footer(document, f"{title} - {issue.name}")
    document.add_heading(f"{issue.name} to the MARAC agenda" if issue.number
                         else "MARAC agenda", level=1)
    m = issue.meeting
    document.add_paragraph(f"{title}. Venue: {m.venue}.")
    document.add_paragraph("The risk narrative for each case is shared at the meeting, not in"
                           " this document. Please research each case in your agency's"
                           " records and bring what is relevant and proportionate to share.")
    number = 0
    for heading, cases in ((SECTIONS[0], issue.discussion), (SECTIONS[1], issue.information)):
        document.add_heading(heading, level=2)
        if not cases:
            document.add_paragraph("None.")
        for case in cases:
            number += 1
            kind = "repeat" if case.repeat else "new"
            document.add_heading(f"{number}. {case.reference} ({kind})", level=3)
            _table(document, _case_rows(case))
    document.add_heading(SECTIONS[2], level=2)
    if not issue.transfers:
        document.add_paragraph("None.")
    for transfer in issue.transfers:
        number += 1
        document.add_heading(f"{number}. {transfer.reference} (transfer out)", level=3)
        _table(document, [
            ("Case reference", transfer.reference), ("Victim", transfer.victim_name),
            ("Date of birth", transfer.victim_dob),
            ("Previous address", transfer.previous_address),
            ("Transferred to", transfer.transferred_to),
            ("Transfer recorded", f"{transfer.recorded:%d/%m/%Y}"),
        ])
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _case_rows(case: CaseEntry) -> list[tuple[str, str]]:
    children = "; ".join(f"{name} (born {dob or 'not known'})" for name, dob in case.children)
    repeat = f"Yes, previous MARAC {case.previous_marac or 'date not known'}" if case.repeat \
        else "No"
    return [
        ("Case reference", case.reference), ("Victim", case.victim_name),
        ("Victim aliases", case.victim_aliases or "None given"),
        ("Victim date of birth", case.victim_dob), ("Victim address", case.victim_address),
        ("Perpetrator", case.perp_name), ("Perpetrator date of birth", case.perp_dob),
        ("Perpetrator address", case.perp_address),
        ("Children in the household", children or "None recorded"),
        ("Referring agency", case.referring_agency), ("Repeat", repeat),
        ("Victim aware of referral", case.victim_aware or "Not stated"),
        ("IDVA service", case.idva_service or "Not known"),
    ]


def _table(document: Document, rows: Sequence[tuple[str, str]]) -> None:
    table = document.add_table(rows=len(rows), cols=2)
    table.style = "Table Grid"
    for row, (label, value) in zip(table.rows, rows, strict=True):
        row.cells[0].text, row.cells[1].text = label, value


def _header_and_footer(document: Document, title: str) -> None:
    section = document.sections[0]
    marking = section.header.paragraphs[0]
    marking.add_run(MARKING).bold = True
    named = section.header.add_paragraph(title)
    pages = section.header.add_paragraph("Page ")
    _field(pages, "PAGE")
    pages.add_run(" of ")
    _field(pages, "NUMPAGES")
    for paragraph in (marking, named, pages):
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer = section.footer.paragraphs[0]
    footer.add_run(MARKING).bold = True
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER


def _field(paragraph: Paragraph, instruction: str) -> None:
    """A Word field (PAGE, NUMPAGES) that Word fills in on every page."""
    _field_char(paragraph, "begin")
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    paragraph.add_run()._r.append(instr)
    _field_char(paragraph, "separate")
    paragraph.add_run("1")  # shown until Word updates the field
    _field_char(paragraph, "end")


def _field_char(paragraph: Paragraph, kind: str) -> None:
    char = OxmlElement("w:fldChar")
    char.set(qn("w:fldCharType"), kind)
    paragraph.add_run()._r.append(char)
