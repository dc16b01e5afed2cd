"""Tests for the form reader: golden samples, recognising the form, unreadable packages.

Each shared sample referral (fictional people) is kept in `tests/data/forms/samples/` beside
the `FormData` it must read as (`tests/data/forms/expected/`), so a change in what the reader
returns for a real-looking form shows up as a diff of a small JSON file. The derived fill
styles (controls stripped, typed marks, odd rows) are in `test_reader_styles.py`.
"""

from __future__ import annotations

import io
import json
import random
import zipfile
from pathlib import Path

import docx
import msoffcrypto
import pytest

from mailbot import formdef
from mailbot.demo.formwriter import FillStyle, render_blank, render_form
from mailbot.demo.samples import sample_form, with_children, with_values
from mailbot.ingest.form import reader
from mailbot.ingest.form.reader import Unreadable, WrongForm, read_form
from mailbot.models import ChildRow, DashAnswer, FormData

DATA = Path(__file__).parents[1] / "data" / "forms"
SAMPLES = DATA / "samples"
EXPECTED = DATA / "expected"
SHARED = Path("/work/shared/forms")
# The demo deployment's agreed passwords (samples/README.md); 08's arrives by separate email.
PASSWORDS = {
    "02-accepted-typed-encrypted": "BCT-Marac-7731",
    "03-accepted-marks-encrypted": "Haven-CV-6620",
    "08-encrypted-unknown-password": "Sparrow-Lane-77",
}
NAMES = sorted(p.stem for p in SAMPLES.glob("*.docx"))
DETAILS = {
    reader.NOT_WORD,
    reader.CANNOT_OPEN,
    reader.NOT_THE_FORM,
    reader.OLD_VERSION,
    reader.NO_FIELDS,
    reader.BLANK,
}
CORE = "docProps/core.xml"


def sample(name: str) -> bytes:
    """A sample's .docx bytes, decrypted with its agreed password when it is encrypted."""
    data = (SAMPLES / f"{name}.docx").read_bytes()
    if name not in PASSWORDS:
        return data
    office = msoffcrypto.OfficeFile(io.BytesIO(data))
    office.load_key(password=PASSWORDS[name])
    out = io.BytesIO()
    office.decrypt(out)
    return out.getvalue()


def expected(name: str) -> FormData:
    return FormData.model_validate(json.loads((EXPECTED / f"{name}.json").read_text("utf-8")))


def complete(form: FormData) -> FormData:
    """`form` as the reader returns it: every field, tick box and DASH question present."""
    return form.model_copy(
        update={
            "values": {f.id: form.value(f.id) for f in formdef.VALUE_FIELDS},
            "ticks": {f.id: form.ticked(f.id) for f in formdef.tick_fields()},
            "dash": {n: form.dash.get(n) for n in range(1, len(formdef.DASH_QUESTIONS) + 1)},
        }
    )


def parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        return {name: package.read(name) for name in package.namelist()}


def package(contents: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in contents.items():
            target.writestr(name, data)
    return out.getvalue()


def with_core(data: bytes, *, title: str, subject: str) -> bytes:
    contents = parts(data)
    core = contents[CORE].decode("utf-8")
    core = core.replace(f">{formdef.FORM_TITLE}</dc:title>", f">{title}</dc:title>")
    core = core.replace(">WM-MARAC-RF v3.1</dc:subject>", f">{subject}</dc:subject>")
    contents[CORE] = core.encode("utf-8")
    return package(contents)


def with_header(data: bytes, text: str) -> bytes:
    contents = parts(data)
    header = contents["word/header1.xml"].decode("utf-8")
    contents["word/header1.xml"] = header.replace(formdef.HEADER_TEXT, text).encode("utf-8")
    return package(contents)


def without_core(data: bytes) -> bytes:
    """The package as a re-save that lost the core properties part leaves it."""
    contents = parts(data)
    del contents[CORE]
    rels = contents["_rels/.rels"].decode("utf-8")
    start = rels.rindex("<Relationship", 0, rels.index("core-properties"))
    end = rels.index("/>", start) + 2
    contents["_rels/.rels"] = (rels[:start] + rels[end:]).encode("utf-8")
    return package(contents)


def letter(paragraphs: list[str], *, title: str = "", subject: str = "") -> bytes:
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    document.core_properties.title = title
    document.core_properties.subject = subject
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


# -- golden pairs ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_sample_reads_as_its_golden_formdata(name: str) -> None:
    """GIVEN a shared sample referral (controls, typed or marks style; encrypted ones decrypted)
    WHEN it is read THEN the FormData equals the hand-checked golden JSON beside it."""
    assert read_form(sample(name)) == expected(name)


def test_every_sample_has_a_golden_pair() -> None:
    """GIVEN the repository's sample folder WHEN listed THEN all eight samples are there, each
    with its expected JSON, so no sample is silently untested."""
    assert len(NAMES) == 8
    assert sorted(p.stem for p in EXPECTED.glob("*.json")) == NAMES


@pytest.mark.skipif(not (SHARED / "samples").exists(), reason="shared forms not present")
@pytest.mark.parametrize("name", NAMES)
def test_repository_samples_are_the_shared_ones(name: str) -> None:
    """GIVEN the shared sample folder WHEN compared with the repository copies THEN they are
    byte for byte the same, so the golden pairs test what partners are sent."""
    shared = (SHARED / "samples" / f"{name}.docx").read_bytes()
    assert shared == (SAMPLES / f"{name}.docx").read_bytes()


def test_golden_data_covers_every_field_and_style() -> None:
    """GIVEN the golden FormData WHEN inspected THEN each has every value field, tick box and
    DASH question, and between them they hold children, no children, a PJ rationale, empty
    mandatory fields, multi-line addresses and all three DASH answers."""
    forms = {name: expected(name) for name in NAMES}
    for form in forms.values():
        assert set(form.values) == {f.id for f in formdef.VALUE_FIELDS}
        assert set(form.ticks) == {f.id for f in formdef.tick_fields()}
        assert set(form.dash) == set(range(1, 25))
    assert forms["07-accepted-young-person"].ticked("no_children")
    assert len(forms["02-accepted-typed-encrypted"].children) == 2
    assert forms["06-accepted-professional-judgement"].value("pj_rationale")
    missing = forms["04-returned-missing-fields"]
    assert [missing.value(f) for f in ("victim_dob", "victim_postcode", "perp_relationship")] == [
        "",
        "",
        "",
    ]
    assert "\n" in forms["01-accepted-controls"].value("victim_address")
    assert {a for f in forms.values() for a in f.dash.values()} >= set(DashAnswer)


# -- recognising the form --------------------------------------------------------------------


@pytest.mark.skipif(not SHARED.exists(), reason="shared forms not present")
def test_official_blank_form_is_a_blank_template() -> None:
    """GIVEN the official blank v3.1 form WHEN read THEN it is WrongForm 'blank template'."""
    blank = (SHARED / "wm-marac-referral-form-v3.1.docx").read_bytes()
    assert read_form(blank) == WrongForm(detail="blank template")


def test_rendered_blank_form_is_a_blank_template() -> None:
    """GIVEN the blank form as mailbot renders it WHEN read THEN 'blank template'."""
    assert read_form(render_blank()) == WrongForm(detail=reader.BLANK)


def test_version_3_0_is_accepted_and_recorded() -> None:
    """GIVEN a filled form whose properties and header say v3.0 WHEN read THEN it is read in
    full and FormData.version is v3.0."""
    name = "01-accepted-controls"
    old = with_header(
        with_core(sample(name), title=formdef.FORM_TITLE, subject="WM-MARAC-RF v3.0"),
        formdef.HEADER_TEXT.replace("v3.1", "v3.0"),
    )
    assert read_form(old) == expected(name).model_copy(update={"version": "v3.0"})


@pytest.mark.parametrize("version", ["v2.0", "v3.2", "v4"])
def test_other_versions_are_the_wrong_form(version: str) -> None:
    """GIVEN a form whose core properties declare another version WHEN read THEN WrongForm
    for an unsupported version (v2.0 is an old local form)."""
    data = with_core(
        sample("01-accepted-controls"), title=formdef.FORM_TITLE, subject=f"WM-MARAC-RF {version}"
    )
    assert read_form(data) == WrongForm(detail=reader.OLD_VERSION)


def test_header_and_title_recognise_a_form_without_core_properties() -> None:
    """GIVEN a filled form re-saved without its core properties part WHEN read THEN the page
    header and title paragraph recognise it and it reads the same."""
    name = "03-accepted-marks-encrypted"
    data = without_core(sample(name))
    assert CORE not in parts(data)
    assert read_form(data) == expected(name)


def test_marking_typed_above_the_title_still_recognised() -> None:
    """GIVEN a form without core properties with 'OFFICIAL-SENSITIVE' typed above the title
    WHEN read THEN the header and the title just below still recognise it."""
    name = "01-accepted-controls"
    contents = parts(without_core(sample(name)))
    marking = b"<w:p><w:r><w:t>OFFICIAL-SENSITIVE</w:t></w:r></w:p>"
    contents["word/document.xml"] = contents["word/document.xml"].replace(
        b"<w:body>", b"<w:body>" + marking, 1
    )
    assert read_form(package(contents)) == expected(name)


def test_header_recognises_a_form_whose_title_property_was_overwritten() -> None:
    """GIVEN a form whose title/subject properties a re-save replaced WHEN read THEN it is
    still recognised from the header and the title."""
    name = "02-accepted-typed-encrypted"
    data = with_core(sample(name), title="Referral Mckovic", subject="")
    assert read_form(data) == expected(name)


def test_header_version_2_is_the_wrong_form() -> None:
    """GIVEN a form without core properties whose header says v2.0 WHEN read THEN WrongForm
    for an unsupported version."""
    data = with_header(
        without_core(sample("01-accepted-controls")), formdef.HEADER_TEXT.replace("v3.1", "v2.0")
    )
    assert read_form(data) == WrongForm(detail=reader.OLD_VERSION)


def test_no_properties_and_no_header_is_not_the_form() -> None:
    """GIVEN a filled form with neither core properties nor the header code WHEN read THEN
    WrongForm: the title alone does not make a document the official form."""
    data = with_header(without_core(sample("01-accepted-controls")), "OFFICIAL-SENSITIVE")
    assert read_form(data) == WrongForm(detail=reader.NOT_THE_FORM)


def test_a_letter_is_not_the_form() -> None:
    """GIVEN a plain letter WHEN read THEN WrongForm 'not the ... form', quoting nothing."""
    data = letter(["Dear MARAC team,", "Please find below details of Jane Doe, 12 Hill St."])
    result = read_form(data)
    assert result == WrongForm(detail=reader.NOT_THE_FORM)
    assert "Jane" not in result.model_dump_json()


def test_a_letter_with_the_forms_properties_has_no_fields() -> None:
    """GIVEN a letter that kept the form's core properties WHEN read THEN WrongForm: the
    form's fields are not in it (not mistaken for a blank template)."""
    data = letter(
        ["Dear MARAC team,", "Victim surname: Doe"],
        title=formdef.FORM_TITLE,
        subject="WM-MARAC-RF v3.1",
    )
    assert read_form(data) == WrongForm(detail=reader.NO_FIELDS)


def test_the_national_form_is_not_the_form() -> None:
    """GIVEN a generic national MARAC referral form (other title, its own labels) WHEN read
    THEN WrongForm."""
    document = docx.Document()
    document.add_heading("MARAC Referral Form", level=0)
    table = document.add_table(rows=3, cols=2)
    for row, (label, value) in zip(
        table.rows,
        [("Victim name", "Jane Doe"), ("Date of birth", "01/01/1990"), ("Agency", "Police")],
        strict=True,
    ):
        row.cells[0].text, row.cells[1].text = label, value
    document.core_properties.title = "MARAC referral form"
    out = io.BytesIO()
    document.save(out)
    assert read_form(out.getvalue()) == WrongForm(detail=reader.NOT_THE_FORM)


# -- unreadable packages -----------------------------------------------------------------------


def _spreadsheet() -> bytes:
    sheet = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
    office = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
    return package(
        {
            "[Content_Types].xml": (
                '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats'
                '.org/package/2006/content-types"><Default Extension="rels" '
                'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                '<Default Extension="xml" '
                'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" '
                "ContentType="
                f'"{sheet}"/></Types>'
            ).encode(),
            "_rels/.rels": (
                '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
                'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type='
                f'"{office}" Target="xl/workbook.xml"/></Relationships>'
            ).encode(),
            "xl/workbook.xml": b'<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats'
            b'.org/spreadsheetml/2006/main"/>',
        }
    )


def test_a_spreadsheet_package_is_not_a_word_document() -> None:
    """GIVEN a valid OOXML package whose main part is a workbook WHEN read THEN WrongForm
    'not a Word document package'."""
    assert read_form(_spreadsheet()) == WrongForm(detail=reader.NOT_WORD)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00garbage\xff" * 100,
        b"%PDF-1.7\n" + b"x" * 500,
        pytest.param("truncated", id="truncated-zip"),
        pytest.param("no-document", id="zip-without-word-part"),
        pytest.param("bad-xml", id="broken-document-xml"),
    ],
)
def test_broken_packages_are_unreadable(data: bytes | str) -> None:
    """GIVEN bytes that are no Word package, a truncated zip, a zip without the document part
    or with broken XML WHEN read THEN Unreadable, and nothing is raised."""
    whole = sample("01-accepted-controls")
    if data == "truncated":
        data = whole[: len(whole) // 2]
    elif data == "no-document":
        contents = parts(whole)
        del contents["word/document.xml"]
        data = package(contents)
    elif data == "bad-xml":
        data = package({**parts(whole), "word/document.xml": b"<w:document><w:body>"})
    assert isinstance(data, bytes)
    assert read_form(data) == Unreadable(detail=reader.CANNOT_OPEN)


def test_details_are_fixed_words_never_document_text() -> None:
    """GIVEN every kind of rejection WHEN the detail is read THEN it is one of the reader's
    fixed sentences, so no name or address can reach a log through it."""
    results = [
        read_form(letter(["Jane Doe, 12 Hill St"])),
        read_form(render_blank()),
        read_form(b"Jane Doe"),
        read_form(_spreadsheet()),
        read_form(
            with_core(
                sample("04-returned-missing-fields"),
                title=formdef.FORM_TITLE,
                subject="WM-MARAC-RF v2.0",
            )
        ),
    ]
    details = [r.detail for r in results if isinstance(r, WrongForm | Unreadable)]
    assert len(details) == len(results)
    assert set(details) <= DETAILS


# -- round trip with the form writer -----------------------------------------------------------


def _referrals() -> list[FormData]:
    rng = random.Random(20261102)
    forms = [sample_form(rng) for _ in range(3)]
    many = [
        ChildRow(
            name=f"Child {i}",
            dob=f"0{i}/01/2015",
            gender="Male",
            address=f"{i} Flat\nHigh Street",
            school="",
            relationship="Son",
        )
        for i in range(1, 7)
    ]
    forms.append(with_children(forms[0], *many))
    forms.append(with_children(forms[1]))
    forms.append(
        with_values(
            forms[2],
            perp_dob="N/K",
            perp_address="not known",
            risk_summary="First line.\n\nSecond paragraph.",
            victim_interpreter="Yes - Polish",
        )
    )
    return forms


@pytest.mark.parametrize("style", list(FillStyle))
def test_every_fill_style_round_trips(style: FillStyle) -> None:
    """GIVEN referrals with children, no children, extra child rows, comments, multi-line
    values and 'not known' words WHEN rendered in a fill style and read THEN the reader
    returns exactly the FormData written."""
    for form in _referrals():
        assert read_form(render_form(form, style)) == complete(form)


@pytest.mark.parametrize("mark", ["X", "x", "Yes", "Y", "✓", "✔", "☒", "■"])
def test_every_typed_mark_round_trips(mark: str) -> None:
    """GIVEN a referral rendered with tick boxes replaced by a typed mark WHEN read THEN every
    tick box and DASH answer reads as written."""
    form = _referrals()[0]
    assert read_form(render_form(form, FillStyle.MARKS, mark=mark)) == complete(form)


def test_round_trip_keeps_version_3_0() -> None:
    """GIVEN a referral rendered as form v3.0 WHEN read THEN version v3.0 and the same data."""
    form = _referrals()[1]
    data = render_form(form, FillStyle.TYPED, version="v3.0")
    assert read_form(data) == complete(form).model_copy(update={"version": "v3.0"})
