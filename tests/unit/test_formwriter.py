"""Tests for the form writer: the rendered form must be the official form, in every fill style.

The form reader is tested against what this writer renders, so these tests pin the writer to
the official v3.1 document (labels, tags, controls, placeholders) and to the shared samples.
"""

from __future__ import annotations

import io
import json
import random
import zipfile
from pathlib import Path

import docx
import pytest
from docx.document import Document
from docx.oxml.ns import qn
from docx.oxml.xmlchemy import BaseOxmlElement

from mailbot import formdef
from mailbot.demo.formwriter import FillStyle, render_blank, render_form
from mailbot.demo.samples import sample_form, with_children, with_values
from mailbot.models import ChildRow, DashAnswer, FormData

OFFICIAL = Path("/work/shared/forms/wm-marac-referral-form-v3.1.docx")
SAMPLES = Path("/work/shared/forms/samples")
GOLDEN = Path(__file__).parents[1] / "data" / "formwriter"
needs_official = pytest.mark.skipif(not OFFICIAL.exists(), reason="official form not present")


def _open(data: bytes) -> Document:
    return docx.Document(io.BytesIO(data))


def _text(el: BaseOxmlElement) -> str:
    """Visible text of an element, line breaks as newlines."""
    return "".join(
        "\n" if node.tag == qn("w:br") else (node.text or "")
        for node in el.iter(qn("w:t"), qn("w:br"))
    )


def _tag(sdt: BaseOxmlElement) -> str:
    return str(sdt.find(qn("w:sdtPr")).find(qn("w:tag")).get(qn("w:val")))


def _sdts(doc: Document) -> list[BaseOxmlElement]:
    return list(doc.element.body.iter(qn("w:sdt")))


def _controls(doc: Document) -> dict[str, list[BaseOxmlElement]]:
    found: dict[str, list[BaseOxmlElement]] = {}
    for sdt in _sdts(doc):
        found.setdefault(_tag(sdt), []).append(sdt)
    return found


def _only(doc: Document, tag: str) -> BaseOxmlElement:
    (sdt,) = _controls(doc)[tag]
    return sdt


def _row_of(el: BaseOxmlElement) -> BaseOxmlElement:
    row: BaseOxmlElement = next(a for a in el.iterancestors() if a.tag == qn("w:tr"))
    return row


def _cells(row: BaseOxmlElement) -> list[BaseOxmlElement]:
    return list(row.iterchildren(qn("w:tc")))


def _label_values(doc: Document) -> dict[str, str]:
    """Label -> value text of every two-column label|value row (typed styles)."""
    labels = {f.label for f in formdef.VALUE_FIELDS}
    out: dict[str, str] = {}
    for table in doc.tables:
        for row in table.rows:
            cells = _cells(row._tr)
            if len(cells) == 2 and _text(cells[0]) in labels:
                out[_text(cells[0])] = _text(cells[1])
    return out


def _checked(sdt: BaseOxmlElement) -> bool:
    box = sdt.find(qn("w:sdtPr")).find(qn("w14:checkbox"))
    return bool(box.find(qn("w14:checked")).get(qn("w14:val")) == "1")


def _form() -> FormData:
    form = sample_form(random.Random(7), area="Walsall", dash_yes=16)
    return with_children(
        with_values(form, victim_address="Flat 2\n14 Caldmore Road\nWalsall"),
        ChildRow(name="Zoë O'Neill", dob="03/07/2019", gender="Female"),
    )


def test_core_properties_header_and_footer() -> None:
    """GIVEN the blank form WHEN rendered THEN it carries the official identity marks."""
    doc = _open(render_blank())
    props = doc.core_properties
    assert props.title == formdef.FORM_TITLE
    assert props.subject == "WM-MARAC-RF v3.1"
    assert props.author == "West Midlands MARAC Coordination Team"
    assert props.keywords == "MARAC; referral; OFFICIAL-SENSITIVE"
    section = doc.sections[0]
    assert section.header.paragraphs[0].text == formdef.HEADER_TEXT
    assert section.footer.paragraphs[0].text == formdef.FOOTER_TEXT


def test_version_and_title_can_be_changed_to_make_other_forms() -> None:
    """GIVEN an older version and another title WHEN rendered THEN both show everywhere."""
    doc = _open(render_form(version="v3.0", title="Local DA Referral"))
    assert doc.core_properties.subject == "WM-MARAC-RF v3.0"
    assert doc.core_properties.title == "Local DA Referral"
    assert doc.sections[0].header.paragraphs[0].text.endswith("WM-MARAC-RF v3.0")
    assert doc.paragraphs[0].text == "Local DA Referral"


def test_paragraph_layout_follows_the_official_order() -> None:
    """GIVEN the blank form WHEN its paragraphs are listed THEN title, intro, headings in order."""
    doc = _open(render_blank())
    paragraphs = doc.paragraphs
    styles = [p.style.name if p.style else "" for p in paragraphs]
    assert (styles[0], paragraphs[0].text) == ("Title", formdef.FORM_TITLE)
    assert tuple(p.text for p in paragraphs[1:3]) == formdef.INTRO_PARAGRAPHS
    headings = [p.text for p, s in zip(paragraphs, styles, strict=True) if s == "Heading 1"]
    assert headings == [
        *(s.title for s in formdef.SECTIONS),
        formdef.CHILDREN_HEADING,
        formdef.REASONS_HEADING,
        formdef.DASH_HEADING,
        formdef.SUPPORT.title,
        formdef.DECLARATION.title,
    ]


def test_every_value_field_is_one_control_beside_its_label() -> None:
    """GIVEN the blank form WHEN each field id is looked up THEN one control, in its label's row."""
    doc = _open(render_blank())
    for field in formdef.VALUE_FIELDS:
        sdt = _only(doc, field.id)
        alias = sdt.find(qn("w:sdtPr")).find(qn("w:alias")).get(qn("w:val"))
        label_cell, value_cell = _cells(_row_of(sdt))
        assert (alias, _text(label_cell)) == (field.id, field.label)
        assert sdt in list(value_cell.iter(qn("w:sdt")))


def test_tick_boxes_sit_where_the_official_form_has_them() -> None:
    """GIVEN the blank form WHEN tick tags are looked up THEN no_children in its paragraph,
    reasons first in their rows, DASH boxes and comments in their question's row."""
    doc = _open(render_blank())
    no_children = _only(doc, "no_children")
    paragraph = no_children.getparent()
    assert _text(paragraph).startswith("No children in the household: ")
    assert paragraph.getparent().tag == qn("w:body")
    for reason in formdef.REASONS:
        tick_cell, label_cell = _cells(_row_of(_only(doc, reason.id)))
        assert _tag(tick_cell.find(f".//{qn('w:sdt')}")) == reason.id
        assert _text(label_cell) == reason.label
    for number, question in enumerate(formdef.DASH_QUESTIONS, 1):
        cells = _cells(_row_of(_only(doc, formdef.dash_tag(number, "yes"))))
        assert [_text(c) for c in cells[:2]] == [str(number), question]
        tags = [_tag(c.find(f".//{qn('w:sdt')}")) for c in cells[2:]]
        assert tags == [formdef.dash_tag(number, k) for k in (*formdef.DASH_ANSWER_KEYS, "comment")]


def test_children_table_has_a_tagged_cell_per_column_per_row() -> None:
    """GIVEN the blank form WHEN the children table is read THEN header labels, 4 tagged rows."""
    doc = _open(render_blank())
    table = next(t for t in doc.tables if t.rows[0].cells[0].text == "Full name")
    assert [c.text for c in table.rows[0].cells] == [c.label for c in formdef.CHILD_COLUMNS]
    assert len(table.rows) == 1 + formdef.CHILD_ROWS_IN_BLANK
    for row in table.rows[1:]:
        tags = [_tag(c._tc.find(f".//{qn('w:sdt')}")) for c in row.cells]
        assert tags == [f"child_{c.key}" for c in formdef.CHILD_COLUMNS]


@pytest.mark.parametrize(
    ("child_rows", "children", "expected_rows"),
    [(0, 0, 0), (2, 0, 2), (6, 1, 6), (1, 3, 3), (None, 5, 5)],
)
def test_child_rows_override_never_drops_a_child(
    child_rows: int | None, children: int, expected_rows: int
) -> None:
    """GIVEN a row count and some children WHEN rendered THEN at least one row per child."""
    rows = [ChildRow(name=f"Child {i}", dob="01/01/2020") for i in range(children)]
    form = FormData(children=tuple(rows))
    doc = _open(render_form(form, child_rows=child_rows))
    assert len(_controls(doc).get("child_name", [])) == expected_rows
    names = [_text(s) for s in _controls(doc).get("child_name", [])][:children]
    assert names == [r.name for r in rows]


def test_blank_controls_show_words_placeholders() -> None:
    """GIVEN the blank form WHEN its controls are read THEN each shows its placeholder in grey
    and every tick box is unticked."""
    doc = _open(render_blank())
    for sdt in _sdts(doc):
        props = sdt.find(qn("w:sdtPr"))
        if props.find(qn("w14:checkbox")) is not None:
            assert not _checked(sdt)
            assert _text(sdt) == formdef.UNCHECKED_GLYPH
            assert props.find(qn("w:showingPlcHdr")) is None
            continue
        assert props.find(qn("w:showingPlcHdr")) is not None
        assert _text(sdt) in formdef.PLACEHOLDERS
        run_props = sdt.find(f".//{qn('w:rPr')}")
        assert run_props.find(qn("w:rStyle")).get(qn("w:val")) == "PlaceholderText"
        assert run_props.find(qn("w:color")).get(qn("w:val")) == "808080"
    assert _text(_only(doc, "referral_date")) == formdef.DATE_PLACEHOLDER
    assert _text(_only(doc, "marac_area")) == formdef.CHOICE_PLACEHOLDER
    assert _text(_only(doc, "victim_surname")) == formdef.TEXT_PLACEHOLDER


def test_control_types_match_the_field_kinds() -> None:
    """GIVEN the blank form WHEN each control's type is read THEN dates are en-GB date pickers,
    choices drop-downs led by "Choose an item.", multi-line fields multi-line text."""
    doc = _open(render_blank())
    for field in formdef.VALUE_FIELDS:
        props = _only(doc, field.id).find(qn("w:sdtPr"))
        if field.kind is formdef.Kind.DATE:
            date = props.find(qn("w:date"))
            assert date.find(qn("w:dateFormat")).get(qn("w:val")) == "dd/MM/yyyy"
            assert date.find(qn("w:lid")).get(qn("w:val")) == "en-GB"
        elif field.kind is formdef.Kind.CHOICE:
            items = props.find(qn("w:dropDownList")).findall(qn("w:listItem"))
            shown = [i.get(qn("w:displayText")) for i in items]
            assert shown == [formdef.CHOICE_PLACEHOLDER, *field.choices]
        else:
            multiline = props.find(qn("w:text")).get(qn("w:multiLine"))
            assert multiline == ("1" if field.multiline else None)
    box = _only(doc, "reason_repeat").find(qn("w:sdtPr")).find(qn("w14:checkbox"))
    states = [
        (s.get(qn("w14:val")), s.get(qn("w14:font")))
        for s in (box.find(qn("w14:checkedState")), box.find(qn("w14:uncheckedState")))
    ]
    assert states == [("2612", "MS Gothic"), ("2610", "MS Gothic")]


def test_filled_controls_show_the_values() -> None:
    """GIVEN a sample referral WHEN rendered with controls THEN each control shows its value,
    dates carry Word's fullDate, lines are breaks, and ticked boxes are ☒ with checked=1."""
    form = _form()
    doc = _open(render_form(form))
    for field_id, value in form.values.items():
        sdt = _only(doc, field_id)
        assert _text(sdt) == (value or formdef.FIELDS_BY_ID[field_id].placeholder)
        assert (sdt.find(qn("w:sdtPr")).find(qn("w:showingPlcHdr")) is None) == bool(value)
    address = _only(doc, "victim_address")
    assert len(address.findall(f".//{qn('w:br')}")) == 2
    day, month, year = form.value("victim_dob").split("/")
    date = _only(doc, "victim_dob").find(qn("w:sdtPr")).find(qn("w:date"))
    assert date.get(qn("w:fullDate")) == f"{year}-{month}-{day}T00:00:00Z"
    for reason in formdef.REASONS:
        sdt = _only(doc, reason.id)
        assert _checked(sdt) == form.ticked(reason.id)
        assert _text(sdt) == ("☒" if form.ticked(reason.id) else "☐")
    for number, answer in form.dash.items():
        for key in formdef.DASH_ANSWER_KEYS:
            assert _checked(_only(doc, formdef.dash_tag(number, key))) == (answer == key)
    assert _text(_controls(doc)["child_name"][0]) == "Zoë O'Neill"
    assert _text(_controls(doc)["child_dob"][0]) == "03/07/2019"


def test_typed_style_has_plain_text_and_glyphs_and_no_controls() -> None:
    """GIVEN a sample referral WHEN rendered typed THEN no controls remain, values sit beside
    their labels, ticks are ☒/☐ and unfilled cells are empty."""
    form = with_values(_form(), victim_aliases="")
    doc = _open(render_form(form, FillStyle.TYPED))
    assert _sdts(doc) == []
    by_label = _label_values(doc)
    for field in formdef.VALUE_FIELDS:
        assert by_label[field.label] == form.value(field.id)
    assert by_label["Victim aliases / other names"] == ""
    reasons = next(t for t in doc.tables if t.rows[0].cells[1].text == formdef.REASONS[0].label)
    assert [r.cells[0].text for r in reasons.rows] == [
        "☒" if form.ticked(r.id) else "☐" for r in formdef.REASONS
    ]
    children = next(t for t in doc.tables if t.rows[0].cells[0].text == "Full name")
    assert [c.text for c in children.rows[1].cells][:2] == ["Zoë O'Neill", "03/07/2019"]
    assert all(c.text == "" for c in children.rows[2].cells)
    assert not any(p in doc.element.body.xml for p in formdef.PLACEHOLDERS)


@pytest.mark.parametrize("mark", ["x", "Yes", "✓"])
def test_marks_style_types_the_mark_in_ticked_boxes_only(mark: str) -> None:
    """GIVEN a sample referral WHEN rendered with typed marks THEN ticked boxes hold the mark,
    others are empty, and values are as in typed style."""
    form = _form()
    doc = _open(render_form(form, FillStyle.MARKS, mark=mark))
    assert _sdts(doc) == []
    dash = next(t for t in doc.tables if t.rows[0].cells[0].text == "No.")
    for number, row in enumerate(dash.rows[1:], 1):
        answer = form.dash[number]
        expected = [mark if answer == key else "" for key in formdef.DASH_ANSWER_KEYS]
        assert [c.text for c in row.cells[2:5]] == expected
    no_children = next(p for p in doc.paragraphs if p.text.startswith("No children"))
    assert no_children.text == "No children in the household: "
    assert _label_values(doc)["Victim address"] == "Flat 2\n14 Caldmore Road\nWalsall"


def test_no_children_tick_follows_the_form() -> None:
    """GIVEN a referral with no children WHEN rendered in each style THEN the box is ticked."""
    form = with_children(_form())
    assert _checked(_only(_open(render_form(form)), "no_children"))
    typed = _open(render_form(form, FillStyle.TYPED))
    assert any(p.text == "No children in the household: ☒" for p in typed.paragraphs)


def test_unanswered_dash_question_leaves_all_three_boxes_empty() -> None:
    """GIVEN a DASH question answered None WHEN rendered THEN none of its boxes is ticked."""
    form = FormData(dash={3: None, 4: DashAnswer.DONT_KNOW})
    doc = _open(render_form(form))
    assert not any(_checked(_only(doc, formdef.dash_tag(3, k))) for k in ("yes", "no", "dont_know"))
    assert _checked(_only(doc, formdef.dash_tag(4, "dont_know")))


def test_output_is_deterministic() -> None:
    """GIVEN the same input twice WHEN rendered THEN the bytes are identical, zip times fixed."""
    first, second = render_form(_form()), render_form(_form())
    assert first == second
    stamps = {info.date_time for info in zipfile.ZipFile(io.BytesIO(first)).infolist()}
    assert stamps == {(2013, 12, 23, 23, 15, 0)}


@needs_official
def test_blank_form_has_the_official_labels_and_tags() -> None:
    """GIVEN the official blank form WHEN compared with ours THEN the same left-cell labels in
    the same order and the same set of control tags."""
    ours, official = _open(render_blank()), _open(OFFICIAL.read_bytes())

    def left_labels(doc: Document) -> list[str]:
        return [row.cells[0].text for table in doc.tables for row in table.rows]

    assert left_labels(ours) == left_labels(official)
    assert set(_controls(ours)) == set(_controls(official))
    assert [_tag(s) for s in _sdts(ours)] == [_tag(s) for s in _sdts(official)]


@needs_official
def test_blank_form_is_the_official_file_part_for_part() -> None:
    """GIVEN the official blank form WHEN ours is unzipped THEN every part is byte-identical."""
    ours = zipfile.ZipFile(io.BytesIO(render_blank()))
    official = zipfile.ZipFile(OFFICIAL)
    assert ours.namelist() == official.namelist()
    assert [n for n in official.namelist() if ours.read(n) != official.read(n)] == []


@pytest.mark.parametrize("golden", sorted(GOLDEN.glob("*.json")), ids=lambda p: p.stem)
def test_shared_samples_are_reproduced_from_their_form_data(golden: Path) -> None:
    """GIVEN a shared sample's FormData (tests/data/formwriter) WHEN rendered THEN every part
    of the sample document is reproduced byte for byte."""
    sample = SAMPLES / f"{golden.stem}.docx"
    if not sample.exists():
        pytest.skip(f"{sample} not present")
    spec = json.loads(golden.read_text(encoding="utf-8"))
    form = FormData.model_validate(spec["form"])
    ours = zipfile.ZipFile(
        io.BytesIO(render_form(form, FillStyle(spec["style"]), child_rows=spec["child_rows"]))
    )
    theirs = zipfile.ZipFile(sample)
    assert [n for n in theirs.namelist() if ours.read(n) != theirs.read(n)] == []
