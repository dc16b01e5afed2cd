"""An agenda issue (`agenda.AgendaIssue`) written as a Word document.

Cases for discussion, then "For information only", then "Outgoing MARAC transfers". Every
page carries the protective marking, the meeting's name and its page number, so a printed
page that goes astray still says what it is. Pure: an issue in, bytes out.

Split from `agenda` so that python-docx's writer is imported only when an agenda is really
written (`agendas` imports this module then), not on each pass that checks whether one is due.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import docx
from docx.document import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.text.paragraph import Paragraph

from mailbot.meetings.agenda import AgendaIssue, CaseEntry, meeting_title

MARKING = "OFFICIAL-SENSITIVE"
SECTIONS = ("Cases for discussion", "For information only", "Outgoing MARAC transfers")


def build_agenda(issue: AgendaIssue) -> bytes:
    """The .docx of one agenda issue."""
    document = docx.Document()
    title = meeting_title(issue.meeting)
    props = document.core_properties
    props.title = f"{title} - {issue.name}"
    props.author = props.last_modified_by = "MARAC Coordination Team"
    props.comments = props.keywords = props.subject = ""
    _header_and_footer(document, f"{title} - {issue.name}")
    document.add_heading(
        f"{issue.name} to the MARAC agenda" if issue.number else "MARAC agenda", level=1
    )
    m = issue.meeting
    document.add_paragraph(f"{title}. Venue: {m.venue}.")
    document.add_paragraph(
        "The risk narrative for each case is shared at the meeting, not in"
        " this document. Please research each case in your agency's"
        " records and bring what is relevant and proportionate to share."
    )
    number = 0
    for heading, cases in ((SECTIONS[0], issue.discussion), (SECTIONS[1], issue.information)):
        document.add_heading(heading, level=2)
        if not cases:
            document.add_paragraph("None.")
        for case in cases:
            number += 1
            kind = "repeat" if case.repeat else "new"
            flag = " - for the Chair" if case.markers else ""
            document.add_heading(f"{number}. {case.reference} ({kind}){flag}", level=3)
            _table(document, _case_rows(case))
    document.add_heading(SECTIONS[2], level=2)
    if not issue.transfers:
        document.add_paragraph("None.")
    for transfer in issue.transfers:
        number += 1
        document.add_heading(f"{number}. {transfer.reference} (transfer out)", level=3)
        _table(
            document,
            [
                ("Case reference", transfer.reference),
                ("Victim", transfer.victim_name),
                ("Date of birth", transfer.victim_dob),
                ("Previous address", transfer.previous_address),
                ("Transferred to", transfer.transferred_to),
                ("Transfer recorded", f"{transfer.recorded:%d/%m/%Y}"),
            ],
        )
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _case_rows(case: CaseEntry) -> list[tuple[str, str]]:
    children = "; ".join(f"{name} (born {dob or 'not known'})" for name, dob in case.children)
    repeat = (
        f"Yes, previous MARAC {case.previous_marac or 'date not known'}" if case.repeat else "No"
    )
    aware = case.victim_aware or "Not stated"
    if case.victim_not_aware_reason:
        aware += f" (why not: {case.victim_not_aware_reason})"
    rows = [
        ("Case reference", case.reference),
        ("Victim", case.victim_name),
        ("Victim aliases", case.victim_aliases or "None given"),
        ("Victim date of birth", case.victim_dob),
        ("Victim address", case.victim_address),
        ("Perpetrator", case.perp_name),
        ("Perpetrator date of birth", case.perp_dob),
        ("Perpetrator address", case.perp_address),
        ("Children in the household", children or "None recorded"),
        (
            "Referring agencies" if len(case.referrals) > 1 else "Referring agency",
            case.referring_agency,
        ),
        ("Repeat", repeat),
        ("Victim aware of referral", aware),
        ("IDVA service", case.idva_service or "Not known"),
    ]
    if len(case.referrals) > 1:
        rows.append(("Referrals", ", ".join(case.referrals)))
    if case.markers:
        rows.insert(1, ("For the Chair", "; ".join(case.markers)))
    return rows


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
