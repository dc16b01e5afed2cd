"""Tests for the form reader on every state partners send the form back in.

Each test derives a document from a shared sample with lxml, the way Word, LibreOffice, Google
Docs or a hurried partner would change it (controls stripped, tick boxes typed over, rows
added, deleted or split, labels retyped, the whole form pasted into a layout table), and checks
the reader still returns the sample's golden FormData, or exactly the change made.
"""

from __future__ import annotations

import copy
import io
import random
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeAlias

import pytest
from lxml import etree  # type: ignore[import-untyped]

from mailbot import formdef
from mailbot.ingest.form.reader import Unreadable, WrongForm, read_form
from mailbot.ingest.form.tables import MAX_CHILD_ROWS
from mailbot.ingest.form.typed import is_ticked
from mailbot.models import ChildRow, DashAnswer, FormData
from tests.unit.test_reader import expected, sample  # the golden pairs' helpers

DATA = Path(__file__).parents[1] / "data" / "forms"
NS = {
    "w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
    "w14": "http://schemas.microsoft.com/office/word/2010/wordml",
}
DOCUMENT = "word/document.xml"
CONTROLS = "01-accepted-controls"
YOUNG = "07-accepted-young-person"  # 'No children in the household' ticked
Root: TypeAlias = etree._Element


def q(name: str) -> str:
    prefix, local = name.split(":")
    return f"{{{NS[prefix]}}}{local}"


def edit(data: bytes, *changes: Callable[[Root], object]) -> bytes:
    """`data` with its main document part changed by each function in turn."""
    source = zipfile.ZipFile(io.BytesIO(data))
    root = etree.fromstring(source.read(DOCUMENT))
    for change in changes:
        change(root)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source.namelist():
            if name == DOCUMENT:
                target.writestr(
                    name,
                    etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True),
                )
            else:
                target.writestr(name, source.read(name))
    return out.getvalue()


def text_of(element: Root) -> str:
    return "".join(t.text or "" for t in element.iter(q("w:t")))


def strip_controls(root: Root) -> None:
    """Remove every content control and keep what it showed, as a LibreOffice re-save does."""
    for sdt in reversed(list(root.iter(q("w:sdt")))):
        parent = sdt.getparent()
        at = parent.index(sdt)
        content = sdt.find(q("w:sdtContent"))
        for child in list(content if content is not None else []):
            parent.insert(at, child)
            at += 1
        parent.remove(sdt)


def replace_text(old: str, new: str) -> Callable[[Root], None]:
    def change(root: Root) -> None:
        for t in root.iter(q("w:t")):
            if t.text == old:
                t.text = new

    return change


def set_control(tag: str, value: str) -> Callable[[Root], None]:
    """Type `value` into the control tagged `tag` (as Word does: placeholder flag removed)."""

    def change(root: Root) -> None:
        for sdt in root.iter(q("w:sdt")):
            if sdt.find("w:sdtPr/w:tag", NS).get(q("w:val")) != tag:
                continue
            props, content = sdt.find(q("w:sdtPr")), sdt.find(q("w:sdtContent"))
            for flag in props.findall(q("w:showingPlcHdr")):
                props.remove(flag)
            for child in list(content):
                content.remove(child)
            run = etree.SubElement(content, q("w:r"))
            etree.SubElement(run, q("w:t")).text = value
            return
        raise AssertionError(f"no control {tag}")

    return change


def tables(root: Root) -> list[Root]:
    return list(root.find(q("w:body")).iter(q("w:tbl")))


def table_starting(root: Root, first_cell: str) -> Root:
    return next(t for t in tables(root) if text_of(t.find(q("w:tr"))).startswith(first_cell))


def paragraph(text: str) -> Root:
    p = etree.Element(q("w:p"))
    etree.SubElement(etree.SubElement(p, q("w:r")), q("w:t")).text = text
    return p


def stripped(name: str = CONTROLS) -> bytes:
    return edit(sample(name), strip_controls)


# -- controls stripped, tick boxes typed over ------------------------------------------------


@pytest.mark.parametrize("name", [CONTROLS, YOUNG, "06-accepted-professional-judgement"])
def test_controls_stripped_reads_the_same(name: str) -> None:
    """GIVEN a controls-style sample with every content control removed (placeholder text left
    in empty cells) WHEN read THEN the same FormData as through the controls."""
    data = stripped(name)
    assert b"<w:sdt>" not in zipfile.ZipFile(io.BytesIO(data)).read(DOCUMENT)
    assert read_form(data) == expected(name)


@pytest.mark.parametrize("ticked", ["X", "x", "Yes", "Y", "✓", "✔", "☒", "■"])
@pytest.mark.parametrize("unticked", ["", "☐", "No", "N"])
@pytest.mark.parametrize("name", [CONTROLS, YOUNG])
def test_typed_marks_read_as_ticks(name: str, ticked: str, unticked: str) -> None:
    """GIVEN a form with its controls stripped and every ☒ typed over with a ticked mark and
    every ☐ with an unticked one WHEN read THEN the ticks and DASH answers are unchanged."""
    data = edit(
        sample(name), strip_controls, replace_text("☒", ticked), replace_text("☐", unticked)
    )
    assert read_form(data) == expected(name)


def test_glyph_is_trusted_over_the_checked_flag() -> None:
    """GIVEN tick box controls whose glyph contradicts the w14:checked flag (☒ typed over an
    unticked box, ☐ over a ticked one) WHEN read THEN the visible glyph decides."""

    def contradict(root: Root) -> None:
        for sdt in root.iter(q("w:sdt")):
            checked = sdt.find("w:sdtPr/w14:checkbox/w14:checked", NS)
            if checked is not None:
                checked.set(q("w14:val"), "0" if checked.get(q("w14:val")) == "1" else "1")

    assert read_form(edit(sample(CONTROLS), contradict)) == expected(CONTROLS)


def test_checked_flag_decides_when_the_glyph_is_unknown() -> None:
    """GIVEN tick box controls showing a glyph that is no known mark WHEN read THEN the
    w14:checked flag decides."""
    data = edit(sample(CONTROLS), replace_text("☒", "◊"), replace_text("☐", "◊"))
    assert read_form(data) == expected(CONTROLS)


def _symbol_runs(checked: str, unchecked: str, font: str) -> Callable[[Root], None]:
    """Replace each ☒/☐ run by a Word symbol (Insert > Symbol) of `font`."""

    def change(root: Root) -> None:
        for t in list(root.iter(q("w:t"))):
            if t.text in ("☒", "☐"):
                run = t.getparent()
                sym = etree.Element(q("w:sym"))
                sym.set(q("w:font"), font)
                sym.set(q("w:char"), checked if t.text == "☒" else unchecked)
                run.replace(t, sym)

    return change


@pytest.mark.parametrize(
    ("checked", "unchecked", "font"),
    [("F0FE", "F0A8", "Wingdings"), ("F0FC", "F06F", "Wingdings"), ("F053", "F0A3", "Wingdings 2")],
)
def test_symbol_font_ticks_are_read(checked: str, unchecked: str, font: str) -> None:
    """GIVEN ticks inserted as symbol-font characters (w:sym) in a stripped form WHEN read
    THEN they read as ticked and unticked boxes."""
    data = edit(sample(CONTROLS), strip_controls, _symbol_runs(checked, unchecked, font))
    assert read_form(data) == expected(CONTROLS)


def test_legacy_form_checkboxes_are_read() -> None:
    """GIVEN ticks as Word 97 FORMCHECKBOX fields (state in w:ffData, no text) WHEN read THEN
    they read as ticked and unticked boxes."""

    def legacy(root: Root) -> None:
        for t in list(root.iter(q("w:t"))):
            if t.text in ("☒", "☐"):
                fld = etree.Element(q("w:fldChar"))
                fld.set(q("w:fldCharType"), "begin")
                box = etree.SubElement(etree.SubElement(fld, q("w:ffData")), q("w:checkBox"))
                etree.SubElement(box, q("w:default")).set(q("w:val"), "0")
                if t.text == "☒":
                    etree.SubElement(box, q("w:checked"))
                t.getparent().replace(t, fld)

    assert read_form(edit(sample(CONTROLS), strip_controls, legacy)) == expected(CONTROLS)


@pytest.mark.parametrize(
    ("typed", "ticked"),
    [
        ("[X]", True),
        ("(x)", True),
        ("Yes - see comments", True),
        ("✓✓", True),
        (" y ", True),
        ("☐ ☒", True),
        ("n/a", False),
        ("None", False),
        ("no", False),
        ("-", False),
        ("x" * 61, False),
        ("Not applicable", False),
    ],
)
def test_marks_with_brackets_or_words_around_them(typed: str, ticked: bool) -> None:
    """GIVEN a mark typed with brackets or words around it WHEN read as a tick THEN it is
    ticked when a ticked mark stands in it, and long text is never a tick."""
    assert is_ticked(typed) is ticked


# -- values as partners type them ------------------------------------------------------------


@pytest.mark.parametrize(
    "typed", ["3/7/91", "3 July 1991", "03.07.1991", "1991-07-03", "03/07/1991"]
)
@pytest.mark.parametrize("strip", [False, True])
def test_dates_are_returned_as_typed(typed: str, strip: bool) -> None:
    """GIVEN a date of birth typed in any of the styles partners use WHEN read THEN the value
    is exactly what was typed (validation parses it), through a control or stripped."""
    changes: list[Callable[[Root], object]] = [set_control("victim_dob", typed)]
    if strip:
        changes.append(strip_controls)
    form = read_form(edit(sample(CONTROLS), *changes))
    assert isinstance(form, FormData)
    assert form.value("victim_dob") == typed
    assert form.values == {**expected(CONTROLS).values, "victim_dob": typed}


@pytest.mark.parametrize("typed", ["N/K", "not known", "unknown", "TBC", "-", "n/a"])
def test_not_known_words_are_returned_as_typed(typed: str) -> None:
    """GIVEN 'not known' words typed into fields WHEN read THEN they are kept as typed, for
    validation to judge (the reader only blanks placeholders)."""
    data = edit(
        sample(CONTROLS),
        set_control("perp_dob", typed),
        set_control("perp_address", typed),
        strip_controls,
    )
    form = read_form(data)
    assert isinstance(form, FormData)
    assert (form.value("perp_dob"), form.value("perp_address")) == (typed, typed)


def test_spaces_are_collapsed_and_lines_kept_only_where_multiline() -> None:
    """GIVEN values with runs of spaces, tabs and line breaks WHEN read THEN spaces collapse,
    a multi-line field keeps its lines and a one-line field joins them with a space."""

    def messy(root: Root) -> None:
        for tag, text in (("victim_surname", "  Mc  Kovic \t"), ("risk_summary", " a  b ")):
            set_control(tag, text)(root)
        for tag in ("victim_forenames", "other_agencies"):
            set_control(tag, "x")(root)
            sdt = next(
                s
                for s in root.iter(q("w:sdt"))
                if s.find("w:sdtPr/w:tag", NS).get(q("w:val")) == tag
            )
            run = sdt.find("w:sdtContent/w:r", NS)
            for child in list(run):
                run.remove(child)
            for i, part in enumerate(["Ann ", "Marie", "Jo"]):
                if i:
                    etree.SubElement(run, q("w:br"))
                etree.SubElement(run, q("w:t")).text = part

    form = read_form(edit(sample(CONTROLS), messy))
    assert isinstance(form, FormData)
    assert form.value("victim_surname") == "Mc Kovic"
    assert form.value("risk_summary") == "a b"
    assert form.value("victim_forenames") == "Ann Marie Jo"
    assert form.value("other_agencies") == "Ann\nMarie\nJo"


@pytest.mark.parametrize("suffix", [":", " :", "*", ": *", " :*"])
def test_labels_retyped_with_colons_and_case_are_found(suffix: str) -> None:
    """GIVEN a stripped form whose label cells were retyped in capitals with a trailing colon
    or asterisk WHEN read THEN every field is still found."""
    labels = {f.label for f in formdef.VALUE_FIELDS}

    def retype(root: Root) -> None:
        for t in root.iter(q("w:t")):
            if t.text in labels:
                t.text = t.text.upper() + suffix

    assert read_form(edit(sample(CONTROLS), strip_controls, retype)) == expected(CONTROLS)


def test_typed_text_beside_an_empty_control_is_read() -> None:
    """GIVEN a value typed into the cell beside a control still showing its placeholder WHEN
    read THEN the typed text is the value."""

    def beside(root: Root) -> None:
        sdt = next(
            s
            for s in root.iter(q("w:sdt"))
            if s.find("w:sdtPr/w:tag", NS).get(q("w:val")) == "victim_aliases"
        )
        sdt.getparent().append(paragraph("Tammy")[0])

    form = read_form(edit(sample(CONTROLS), beside))
    assert isinstance(form, FormData)
    assert form.value("victim_aliases") == "Tammy"


def test_label_and_value_in_one_cell_are_read() -> None:
    """GIVEN rows whose label and value were typed into one cell ("Label: value" or the value
    on the line below) WHEN read THEN the values are found."""

    def merge(root: Root) -> None:
        for tr in table_starting(root, "Referrer name").iter(q("w:tr")):
            label, value = tr.findall(q("w:tc"))
            if text_of(label) == "Referrer name":
                label.find("w:p/w:r/w:t", NS).text = "Referrer name: " + text_of(value)
            else:
                label.append(paragraph(text_of(value)))
            for p in value.findall(q("w:p")):
                value.remove(p)
            value.append(etree.Element(q("w:p")))

    data = edit(sample(CONTROLS), strip_controls, merge)
    assert read_form(data) == expected(CONTROLS)


# -- rows added, blanked, deleted, split; tables nested and merged --------------------------


def _children_table(root: Root) -> Root:
    return table_starting(root, "Full name")


def test_children_rows_added_blank_and_deleted() -> None:
    """GIVEN a stripped form whose children table has rows added, one blanked and the unused
    placeholder rows deleted WHEN read THEN exactly the non-blank rows, in order."""

    def rework(root: Root) -> None:
        table = _children_table(root)
        rows = table.findall(q("w:tr"))
        for row in rows[2:]:
            table.remove(row)
        for name in ("Zara Begum", "", "Omar Begum"):
            row = copy.deepcopy(rows[1])
            for t in row.iter(q("w:t")):
                t.text = name if t.text == "Jamal Begum" else ("" if not name else t.text)
            table.append(row)

    form = read_form(edit(sample(CONTROLS), strip_controls, rework))
    assert isinstance(form, FormData)
    first = expected(CONTROLS).children[0]
    assert form.children == (
        first,
        first.model_copy(update={"name": "Zara Begum"}),
        first.model_copy(update={"name": "Omar Begum"}),
    )


def test_rows_deleted_with_track_changes_are_not_read() -> None:
    """GIVEN a child's row deleted with track changes on (still in the XML, marked deleted)
    WHEN read THEN that child is not returned."""

    def track_delete(root: Root) -> None:
        row = _children_table(root).findall(q("w:tr"))[1]
        props = row.find(q("w:trPr"))
        if props is None:
            props = etree.Element(q("w:trPr"))
            row.insert(0, props)
        deleted = etree.SubElement(props, q("w:del"))
        deleted.set(q("w:id"), "1")
        deleted.set(q("w:author"), "Partner")

    form = read_form(edit(sample(CONTROLS), track_delete))
    assert isinstance(form, FormData)
    assert form.children == ()
    assert form.values == expected(CONTROLS).values


def test_children_found_by_tags_without_the_header_row() -> None:
    """GIVEN a controls form whose children header row was deleted WHEN read THEN the child
    is still found through its child_* controls."""

    def behead(root: Root) -> None:
        table = _children_table(root)
        table.remove(table.find(q("w:tr")))

    assert read_form(edit(sample(CONTROLS), behead)) == expected(CONTROLS)


def test_children_table_split_in_two() -> None:
    """GIVEN a stripped children table split into two tables (a page break between), each row
    filled WHEN read THEN the rows of both tables are children."""

    def split(root: Root) -> None:
        table = _children_table(root)
        rows = table.findall(q("w:tr"))
        rows[2].find(".//w:t", NS).text = "Second Child"
        second = etree.Element(q("w:tbl"))
        for row in rows[2:]:
            second.append(row)
        table.addnext(second)
        table.addnext(paragraph(""))

    form = read_form(edit(sample(CONTROLS), strip_controls, split))
    assert isinstance(form, FormData)
    assert [c.name for c in form.children] == ["Jamal Begum", "Second Child"]


def _join_due_date_table(span: int | None) -> Callable[[Root], None]:
    """Move the due-date row into the children table above it, as LibreOffice does to two
    tables with no paragraph between (each cell over `span` columns, or none as Word may)."""

    def join(root: Root) -> None:
        due = table_starting(root, formdef.PREGNANCY.label)
        children = _children_table(root)
        for row in due.findall(q("w:tr")):
            for tc in row.findall(q("w:tc")) if span else []:
                props = tc.find(q("w:tcPr"))
                if props is None:
                    props = etree.Element(q("w:tcPr"))
                    tc.insert(0, props)
                etree.SubElement(props, q("w:gridSpan")).set(q("w:val"), str(span))
            children.append(row)
        due.getparent().remove(due)

    return join


@pytest.mark.parametrize("span", [3, None])
@pytest.mark.parametrize("strip", [False, True])
@pytest.mark.parametrize("name", [CONTROLS, YOUNG])
def test_due_date_table_joined_to_the_children_is_no_child(
    name: str, strip: bool, span: int | None
) -> None:
    """GIVEN the due-date table joined to the bottom of the children table (LibreOffice joins
    adjacent tables on saving), due date filled, WHEN read THEN the children are unchanged
    (the due-date row is no child whose date of birth is its label) and the due date is read."""
    changes: list[Callable[[Root], object]] = [set_control("pregnancy_due_date", "14/03/2027")]
    if strip:
        changes.append(strip_controls)
    changes.append(_join_due_date_table(span))
    form = read_form(edit(sample(name), *changes))
    assert form == expected(name).model_copy(
        update={"values": {**expected(name).values, "pregnancy_due_date": "14/03/2027"}}
    )


@pytest.mark.parametrize("strip", [False, True])
def test_note_typed_across_the_children_table_is_no_child(strip: bool) -> None:
    """GIVEN a row added under the children with one cell across the whole table holding a
    note WHEN read THEN the children are unchanged: a note is not a child."""

    def note(root: Root) -> None:
        table = _children_table(root)
        row = etree.SubElement(table, q("w:tr"))
        cell = etree.SubElement(row, q("w:tc"))
        props = etree.SubElement(cell, q("w:tcPr"))
        etree.SubElement(props, q("w:gridSpan")).set(q("w:val"), str(len(formdef.CHILD_COLUMNS)))
        cell.append(paragraph("The children stay with their grandmother at weekends."))

    changes = [strip_controls, note] if strip else [note]
    assert read_form(edit(sample(CONTROLS), *changes)) == expected(CONTROLS)


@pytest.mark.parametrize("repeat_header", [False, True])
def test_dash_table_split_in_two(repeat_header: bool) -> None:
    """GIVEN the DASH table split after question 12 into a second table, with or without the
    header row repeated WHEN read THEN all 24 answers are the same."""

    def split(root: Root) -> None:
        table = table_starting(root, "No.")
        rows = table.findall(q("w:tr"))
        second = etree.Element(q("w:tbl"))
        if repeat_header:
            second.append(copy.deepcopy(rows[0]))
        for row in rows[13:]:
            second.append(row)
        table.addnext(second)
        table.addnext(paragraph("Continued overleaf"))

    for strip in (False, True):
        changes = [strip_controls, split] if strip else [split]
        assert read_form(edit(sample(CONTROLS), *changes)) == expected(CONTROLS)


def test_form_pasted_into_a_layout_table() -> None:
    """GIVEN the whole form pasted into one cell of a layout table (headings, paragraphs and
    tables nested inside it) WHEN read THEN the same FormData."""

    def nest(root: Root) -> None:
        body = root.find(q("w:body"))
        outer = etree.Element(q("w:tbl"))
        cell = etree.SubElement(etree.SubElement(outer, q("w:tr")), q("w:tc"))
        for child in list(body):
            if child.tag != q("w:sectPr"):
                cell.append(child)
        cell.append(etree.Element(q("w:p")))
        body.insert(0, outer)

    for name in (CONTROLS, "02-accepted-typed-encrypted"):
        assert read_form(edit(sample(name), nest)) == expected(name)
    assert read_form(edit(sample(YOUNG), strip_controls, nest)) == expected(YOUNG)


def test_merged_first_columns_do_not_shift_answers() -> None:
    """GIVEN every table's first cell widened over two grid columns (merged cells) WHEN read
    THEN labels, DASH boxes and children columns still line up."""

    def widen(root: Root) -> None:
        for tr in root.iter(q("w:tr")):
            tc = tr.find(q("w:tc"))
            props = tc.find(q("w:tcPr"))
            if props is None:
                props = etree.SubElement(tc, q("w:tcPr"))
                tc.insert(0, props)
            etree.SubElement(props, q("w:gridSpan")).set(q("w:val"), "2")

    for name in (CONTROLS, "03-accepted-marks-encrypted"):
        assert read_form(edit(sample(name), strip_controls, widen)) == expected(name)


def test_value_split_over_two_cells() -> None:
    """GIVEN label rows with an extra empty cell inserted before the value (a split cell) WHEN
    read THEN the value is taken from the later cell."""

    def split(root: Root) -> None:
        for tr in table_starting(root, "Victim surname").findall(q("w:tr")):
            tr.findall(q("w:tc"))[0].addnext(
                copy.deepcopy(etree.fromstring(f'<w:tc xmlns:w="{NS["w"]}"><w:p/></w:tc>'))
            )

    assert read_form(edit(sample(CONTROLS), strip_controls, split)) == expected(CONTROLS)


def test_extra_paragraphs_everywhere() -> None:
    """GIVEN notes and blank paragraphs inserted before every table and heading WHEN read
    THEN the same FormData."""

    def pad(root: Root) -> None:
        for child in list(root.find(q("w:body"))):
            if child.tag != q("w:sectPr"):
                child.addprevious(paragraph("Note: see attached chronology."))
                child.addprevious(paragraph(""))

    assert read_form(edit(sample("02-accepted-typed-encrypted"), pad)) == expected(
        "02-accepted-typed-encrypted"
    )


# -- ambiguous labels and DASH edge cases ----------------------------------------------------


def _add_row(table: Root, label: str, value: str) -> None:
    row = copy.deepcopy(table.find(q("w:tr")))
    cells = row.findall(q("w:tc"))
    for cell, text in zip(cells, (label, value), strict=True):
        for p in cell.findall(q("w:p")):
            cell.remove(p)
        cell.append(paragraph(text))
    table.append(row)


def test_short_labels_only_count_in_their_own_section() -> None:
    """GIVEN extra 'Date' and 'Agency' rows added to Section 7 and before the form WHEN read
    THEN the declaration date and referrer agency still come from Sections 8 and 2."""

    def decoy(root: Root) -> None:
        _add_row(table_starting(root, "IDVA referral"), "Date", "02/02/2020")
        _add_row(table_starting(root, "IDVA referral"), "Agency", "Decoy Agency")

    form = read_form(edit(sample(CONTROLS), strip_controls, decoy))
    assert isinstance(form, FormData)
    assert form.value("declaration_date") == "01/11/2026"
    assert form.value("referrer_agency") == "West Midlands Police"


def test_short_label_outside_its_section_is_ignored() -> None:
    """GIVEN the declaration's 'Date' row deleted and a 'Date' row added to Section 7 WHEN
    read THEN the declaration date is empty rather than the stray date."""

    def move(root: Root) -> None:
        table = table_starting(root, "Name of person completing the form")
        table.remove(table.findall(q("w:tr"))[1])
        _add_row(table_starting(root, "IDVA referral"), "Date", "02/02/2020")

    form = read_form(edit(sample(CONTROLS), strip_controls, move))
    assert isinstance(form, FormData)
    assert form.value("declaration_date") == ""
    assert form.value("declaration_name") == "Shannon Nwosu"


def test_short_labels_found_by_their_table_when_headings_are_lost() -> None:
    """GIVEN a stripped form with every section heading deleted WHEN read THEN 'Date' and
    'Agency' are still found beside their section's other rows."""

    def behead(root: Root) -> None:
        for p in list(root.find(q("w:body")).findall(q("w:p"))):
            if text_of(p).startswith("Section"):
                p.getparent().remove(p)

    assert read_form(edit(sample(CONTROLS), strip_controls, behead)) == expected(CONTROLS)


def test_dash_rows_with_several_or_no_boxes_ticked_have_no_answer() -> None:
    """GIVEN DASH question 1 with two boxes ticked and question 2 with none WHEN read THEN
    both answers are None and the others unchanged."""

    def tamper(root: Root) -> None:
        rows = table_starting(root, "No.").findall(q("w:tr"))
        for t in rows[1].iter(q("w:t")):
            t.text = "x" if t.text == "☐" else t.text
        for t in rows[2].iter(q("w:t")):
            t.text = "" if t.text == "☒" else t.text

    form = read_form(edit(sample(CONTROLS), strip_controls, tamper))
    assert isinstance(form, FormData)
    assert form.dash == {**expected(CONTROLS).dash, 1: None, 2: None}


def test_dash_comments_are_read_from_controls_and_cells() -> None:
    """GIVEN DASH comments typed into controls, and into a stripped form WHEN read THEN each
    comment is kept against its question, multi-line."""
    data = edit(
        sample(CONTROLS),
        set_control("dash_q03_comment", "Says she is safe"),
        set_control("dash_q24_comment", "Known to police"),
    )
    for document in (data, edit(data, strip_controls)):
        form = read_form(document)
        assert isinstance(form, FormData)
        assert form.dash_comments == {3: "Says she is safe", 24: "Known to police"}
        assert form.dash[3] is DashAnswer.NO


def test_dash_question_quoted_elsewhere_does_not_replace_the_checklist() -> None:
    """GIVEN copies of DASH question 1's row, answered differently, pasted into Sections 5
    and 7 (before and after the checklist) WHEN read THEN question 1 is answered from the
    checklist."""

    def paste(root: Root) -> None:
        row = copy.deepcopy(table_starting(root, "No.").findall(q("w:tr"))[1])
        for t in row.iter(q("w:t")):
            t.text = {"☒": "☐", "☐": "☒"}.get(t.text or "", t.text)
        table_starting(root, "Total DASH score").append(row)
        table_starting(root, "IDVA referral").append(copy.deepcopy(row))

    form = read_form(edit(sample(CONTROLS), strip_controls, paste))
    assert isinstance(form, FormData)
    assert form.dash == expected(CONTROLS).dash


def test_retyped_table_headers_are_recognised() -> None:
    """GIVEN the DASH header retyped as 'Q / Question / Y / N / DK / Comments' and the children
    header as "Child's name / DOB / Sex / ..." with the School column deleted WHEN read THEN
    the answers and children are the same (the school left out)."""

    def retype(root: Root) -> None:
        names = {
            "No.": "Q",
            "Yes": "Y",
            "No": "N",
            "Don't know": "DK",
            "Full name": "Child's name",
            "Date of birth": "DOB",
            "Gender": "Sex",
        }
        dash, children = table_starting(root, "No."), _children_table(root)
        for table in (dash, children):
            for t in table.find(q("w:tr")).iter(q("w:t")):
                t.text = names.get(t.text or "", t.text)
        for tr in children.findall(q("w:tr")):
            tr.remove(tr.findall(q("w:tc"))[4])

    form = read_form(edit(sample(CONTROLS), strip_controls, retype))
    assert isinstance(form, FormData)
    assert form.dash == expected(CONTROLS).dash
    assert form.children == tuple(
        c.model_copy(update={"school": ""}) for c in expected(CONTROLS).children
    )


# -- hostile sizes and shapes ----------------------------------------------------------------


def test_huge_children_table_is_capped_and_fast() -> None:
    """GIVEN a children table with 5,000 filled rows WHEN read THEN at most 500 children are
    returned, the DASH table after it is still read, and it takes seconds, not minutes."""

    def flood(root: Root) -> None:
        table = _children_table(root)
        row = table.findall(q("w:tr"))[1]
        for blank in table.findall(q("w:tr"))[2:]:
            table.remove(blank)
        for _ in range(5000):
            table.append(copy.deepcopy(row))

    data = edit(sample(CONTROLS), strip_controls, flood)
    started = time.monotonic()
    form = read_form(data)
    assert time.monotonic() - started < 20
    assert isinstance(form, FormData)
    assert len(form.children) == MAX_CHILD_ROWS
    assert form.dash == expected(CONTROLS).dash


def test_thousands_of_extra_tables_do_not_crash() -> None:
    """GIVEN 6,000 extra one-row tables appended after the declaration (past the reader's row
    cap) WHEN read THEN the form reads the same."""

    def flood(root: Root) -> None:
        body = root.find(q("w:body"))
        for i in range(6000):
            table = etree.Element(q("w:tbl"))
            cell = etree.SubElement(etree.SubElement(table, q("w:tr")), q("w:tc"))
            cell.append(paragraph(f"row {i}"))
            body.insert(len(body) - 1, table)

    assert read_form(edit(sample(CONTROLS), flood)) == expected(CONTROLS)


_MUTABLE = (
    "w:tc",
    "w:tr",
    "w:p",
    "w:r",
    "w:t",
    "w:sdtContent",
    "w:sdtPr",
    "w:tbl",
    "w:tcPr",
    "w14:checkbox",
    "w:tag",
    "w:tblGrid",
)


def _mutate(rng: random.Random) -> Callable[[Root], None]:
    def change(root: Root) -> None:
        elements = [
            e
            for e in root.iter()
            if isinstance(e.tag, str) and any(e.tag == q(n) for n in _MUTABLE)
        ]
        for element in rng.sample(elements, 25):
            parent = element.getparent()
            action = rng.randrange(4)
            if parent is None:
                continue
            if action == 0:
                parent.remove(element)
            elif action == 1:
                parent.append(copy.deepcopy(element))
            elif action == 2:
                for attr in list(element.attrib):
                    element.set(attr, rng.choice(["", "zz", "-1", "99999999", "1"]))
            else:
                target = rng.choice(elements)
                if target is not element and element not in target.iterancestors():
                    target.append(copy.deepcopy(element))

    return change


@pytest.mark.parametrize("seed", range(40))
def test_mangled_documents_never_raise(seed: int) -> None:
    """GIVEN a sample with random elements deleted, duplicated, moved and attributes garbled
    WHEN read THEN a FormData, WrongForm or Unreadable is returned, never an exception."""
    rng = random.Random(seed)
    base = sample(rng.choice([CONTROLS, "02-accepted-typed-encrypted"]))
    result = read_form(edit(base, _mutate(rng)))
    assert isinstance(result, FormData | WrongForm | Unreadable)
    if isinstance(result, FormData):
        assert set(result.dash) == set(range(1, 25))
        assert all(isinstance(c, ChildRow) for c in result.children)
