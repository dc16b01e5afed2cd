"""Render the West Midlands MARAC Referral Form, blank or filled, from `formdef` alone.

mailbot hands out the blank form (`mailbot form blank OUT.docx`) and its tests and demo need
filled referrals in every state partners send them: filled through the content controls,
controls stripped by LibreOffice or copy-paste, tick boxes replaced by typed marks. Rendering
all of them from the one form definition, rather than copying the official file, means the
reader and the writer cannot drift apart: change `formdef` and both follow. The layout mirrors
the official v3.1 document table for table, so a rendered blank form is interchangeable with it.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum

import docx
from docx.document import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.shared import Pt, Twips
from docx.table import Table, _Cell

from mailbot import formdef
from mailbot.demo import docxparts
from mailbot.formdef import FieldDef, Kind
from mailbot.models import ChildRow, DashAnswer, FormData

CREATOR = "West Midlands MARAC Coordination Team"
KEYWORDS = "MARAC; referral; OFFICIAL-SENSITIVE"
# The python-docx template's own timestamps, as the official file carries: a fixed time makes
# the same input give the same bytes, so a sample's hash is stable across test runs.
FIXED_TIME = datetime(2013, 12, 23, 23, 15, tzinfo=UTC)
BODY_FONT = "Arial"
BODY_SIZE = Pt(10)
TABLE_STYLE = "Table Grid"
# Column widths of the DASH table in twentieths of a point, as in the official form.
DASH_WIDTHS = (576, 4896, 648, 648, 792, 2160)


class FillStyle(StrEnum):
    """How the values were put into the form (the states REFERRAL-FORM.md says arrive)."""

    CONTROLS = "controls"  # through Word's content controls, as intended
    TYPED = "typed"  # controls stripped: plain text, ticks as ☒/☐ glyphs
    MARKS = "marks"  # controls stripped and tick boxes replaced by typed marks


class _Writer:
    """Puts one referral's values into cells in one fill style."""

    def __init__(self, data: FormData, style: FillStyle, mark: str) -> None:
        self.data = data
        self.style = style
        self.mark = mark

    def value(
        self,
        cell: _Cell,
        tag: str,
        value: str,
        kind: Kind = Kind.TEXT,
        *,
        choices: Sequence[str] = (),
        multiline: bool = False,
    ) -> None:
        if self.style is not FillStyle.CONTROLS:
            content = docxparts.value_run(value)
        elif kind is Kind.DATE:
            content = docxparts.date_control(tag, value)
        elif kind is Kind.CHOICE:
            content = docxparts.dropdown_control(tag, value, choices)
        else:
            # Numbers, emails and postcodes are plain text controls on the official form.
            content = docxparts.text_control(tag, value, multiline=multiline)
        docxparts.put(cell, content)

    def field(self, cell: _Cell, field: FieldDef) -> None:
        self.value(
            cell,
            field.id,
            self.data.value(field.id),
            field.kind,
            choices=field.choices,
            multiline=field.multiline,
        )

    def tick(self, tag: str, checked: bool) -> BaseOxmlElement:
        if self.style is FillStyle.CONTROLS:
            return docxparts.checkbox_control(tag, checked)
        if self.style is FillStyle.TYPED:
            glyph = formdef.CHECKED_GLYPH if checked else formdef.UNCHECKED_GLYPH
            return docxparts.glyph_run(glyph)
        return docxparts.glyph_run(self.mark if checked else "")


def _table(doc: Document, rows: int, cols: int) -> Table:
    table: Table = doc.add_table(rows=rows, cols=cols, style=TABLE_STYLE)
    return table


def _label(cell: _Cell, text: str, *, bold: bool = True) -> None:
    docxparts.shade(cell)
    run = cell.paragraphs[0].add_run(text)
    if bold:
        run.bold = True


def _text(cell: _Cell, text: str) -> None:
    cell.paragraphs[0].add_run(text)


def _field_table(doc: Document, fields: Sequence[FieldDef], writer: _Writer) -> None:
    table = _table(doc, len(fields), 2)
    for row, field in zip(table.rows, fields, strict=True):
        label_cell, value_cell = row.cells
        _label(label_cell, field.label)
        writer.field(value_cell, field)


def _children(doc: Document, writer: _Writer, child_rows: int | None) -> None:
    doc.add_heading(formdef.CHILDREN_HEADING, level=1)
    no_children = doc.add_paragraph(f"{formdef.NO_CHILDREN.label}: ")
    no_children._p.append(
        writer.tick(formdef.NO_CHILDREN.id, writer.data.ticked(formdef.NO_CHILDREN.id))
    )
    children = writer.data.children
    # Never drop a child to honour a smaller row count: that would lose the data under test.
    rows = max(len(children), formdef.CHILD_ROWS_IN_BLANK if child_rows is None else child_rows)
    table = _table(doc, rows + 1, len(formdef.CHILD_COLUMNS))
    for cell, column in zip(table.rows[0].cells, formdef.CHILD_COLUMNS, strict=True):
        _label(cell, column.label, bold=False)
    for index, row in enumerate(table.rows[1:]):
        child = children[index] if index < len(children) else ChildRow()
        for cell, column in zip(row.cells, formdef.CHILD_COLUMNS, strict=True):
            writer.value(cell, f"child_{column.key}", getattr(child, column.key), column.kind)
    _field_table(doc, (formdef.PREGNANCY,), writer)


def _reasons(doc: Document, writer: _Writer) -> None:
    doc.add_heading(formdef.REASONS_HEADING, level=1)
    table = _table(doc, len(formdef.REASONS), 2)
    for row, reason in zip(table.rows, formdef.REASONS, strict=True):
        tick_cell, label_cell = row.cells
        docxparts.put(tick_cell, writer.tick(reason.id, writer.data.ticked(reason.id)))
        _text(label_cell, reason.label)
    _field_table(doc, formdef.RISK_FIELDS, writer)


def _dash(doc: Document, writer: _Writer) -> None:
    doc.add_heading(formdef.DASH_HEADING, level=1)
    doc.add_paragraph(formdef.DASH_INSTRUCTION)
    questions = formdef.DASH_QUESTIONS
    table = _table(doc, len(questions) + 1, len(formdef.DASH_COLUMNS))
    # A fixed layout keeps the narrow tick columns narrow whatever is typed in the comments.
    table.autofit = False
    for column, width in zip(table.columns, DASH_WIDTHS, strict=True):
        column.width = Twips(width)
        for cell in column.cells:
            cell.width = Twips(width)
    for cell, heading in zip(table.rows[0].cells, formdef.DASH_COLUMNS, strict=True):
        _label(cell, heading, bold=False)
    for number, (row, question) in enumerate(zip(table.rows[1:], questions, strict=True), 1):
        cells = row.cells
        _text(cells[0], str(number))
        _text(cells[1], question)
        answer = writer.data.dash.get(number)
        for cell, key in zip(cells[2:5], formdef.DASH_ANSWER_KEYS, strict=True):
            checked = answer is not None and answer is DashAnswer(key)
            docxparts.put(cell, writer.tick(formdef.dash_tag(number, key), checked))
        comment = writer.data.dash_comments.get(number, "")
        writer.value(cells[5], formdef.dash_tag(number, "comment"), comment)


def _header_footer(doc: Document, version: str) -> None:
    section = doc.sections[0]
    section.header.paragraphs[
        0
    ].text = f"OFFICIAL-SENSITIVE (when complete)    {formdef.FORM_CODE} {version}"
    section.footer.paragraphs[0].text = formdef.FOOTER_TEXT


def _properties(doc: Document, title: str, version: str) -> None:
    props = doc.core_properties
    props.title = title
    props.subject = f"{formdef.FORM_CODE} {version}"
    props.author = CREATOR
    props.keywords = KEYWORDS
    props.created = FIXED_TIME
    props.modified = FIXED_TIME


def _build(
    data: FormData,
    style: FillStyle,
    mark: str,
    version: str,
    title: str,
    child_rows: int | None,
) -> Document:
    doc = docx.Document()
    normal = doc.styles["Normal"].font
    normal.name = BODY_FONT
    normal.size = BODY_SIZE
    writer = _Writer(data, style, mark)

    doc.add_paragraph(title, style="Title").alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.add_paragraph().add_run(formdef.INTRO_PARAGRAPHS[0]).italic = True
    for paragraph in formdef.INTRO_PARAGRAPHS[1:]:
        doc.add_paragraph(paragraph)
    for section in formdef.SECTIONS:
        doc.add_heading(section.title, level=1)
        _field_table(doc, section.fields, writer)
    _children(doc, writer, child_rows)
    _reasons(doc, writer)
    _dash(doc, writer)
    for section in (formdef.SUPPORT, formdef.DECLARATION):
        doc.add_heading(section.title, level=1)
        _field_table(doc, section.fields, writer)
    _header_footer(doc, version)
    _properties(doc, title, version)
    return doc


def _stable_zip(package: bytes) -> bytes:
    """Re-zip with fixed member timestamps: python-docx stamps each member with 'now'."""
    out = io.BytesIO()
    stamp = FIXED_TIME.timetuple()[:6]
    with (
        zipfile.ZipFile(io.BytesIO(package)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=stamp)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o600 << 16
            target.writestr(member, source.read(info))
    return out.getvalue()


def render_form(
    data: FormData | None = None,
    style: FillStyle = FillStyle.CONTROLS,
    *,
    mark: str = "x",
    version: str = formdef.CURRENT_VERSION,
    title: str = formdef.FORM_TITLE,
    child_rows: int | None = None,
) -> bytes:
    """The form as .docx bytes: blank when `data` is None, otherwise filled in `style`.

    `mark` is what MARKS style types in a ticked box; `version` and `title` go into the page
    header and core properties (change them to make an old or a wrong form); `child_rows` is
    how many rows the children table has (at least one per child; default as the blank form).
    """
    document = _build(data or FormData(), FillStyle(style), mark, version, title, child_rows)
    buffer = io.BytesIO()
    document.save(buffer)
    return _stable_zip(buffer.getvalue())


def render_blank() -> bytes:
    """The blank official form, as handed out to partners."""
    return render_form(None)
