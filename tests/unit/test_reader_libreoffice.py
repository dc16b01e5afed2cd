"""Tests for the form reader on forms opened in LibreOffice Writer and saved as .docx.

The golden pairs in `tests/data/forms/libreoffice/` are real LibreOffice saves of forms filled
in each fill style (`make.py` there regenerates them), each beside the FormData it must read
as: the data written, less the one loss LibreOffice itself makes (`tests/libreoffice.py`).
The live conversion of a freshly rendered form is `tests/integration/test_libreoffice.py`.
"""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from mailbot.demo.formwriter import FillStyle
from mailbot.ingest.form.reader import read_form
from mailbot.models import FormData
from mailbot.validate.fields import check_fields
from tests.conftest import TODAY
from tests.libreoffice import GOLDEN, expected_read, kept_by_libreoffice, recipes

RECIPES = recipes()
NAMES = sorted(RECIPES)


def saved(name: str) -> bytes:
    return (GOLDEN / f"{name}.docx").read_bytes()


def golden(name: str) -> FormData:
    return FormData.model_validate(json.loads((GOLDEN / f"{name}.json").read_text("utf-8")))


def read(data: bytes) -> FormData:
    form = read_form(data)
    assert isinstance(form, FormData)
    return form


@pytest.mark.parametrize("name", NAMES)
def test_libreoffice_save_reads_as_its_golden_formdata(name: str) -> None:
    """GIVEN a form filled in one fill style and saved by LibreOffice Writer WHEN it is read
    THEN the FormData equals the golden JSON beside it."""
    assert read_form(saved(name)) == golden(name)


@pytest.mark.parametrize("name", NAMES)
def test_libreoffice_save_reads_like_its_original(name: str) -> None:
    """GIVEN a LibreOffice save and the original it was made from WHEN both are read THEN
    every value, tick, DASH answer, comment and child row (dates included) is the same; the
    only allowed difference is the line breaks LibreOffice drops from content controls."""
    recipe = RECIPES[name]
    original, resaved = read(recipe.original()), read(saved(name))
    assert resaved == kept_by_libreoffice(original, recipe.style)
    assert resaved.ticks == original.ticks
    assert resaved.dash == original.dash
    assert [(c.name, c.dob) for c in resaved.children] == [
        (c.name, c.dob) for c in original.children
    ]
    dates = (
        "referral_date",
        "incident_date",
        "victim_dob",
        "perp_dob",
        "pregnancy_due_date",
        "declaration_date",
    )
    assert [resaved.value(d) for d in dates] == [original.value(d) for d in dates]


@pytest.mark.parametrize("name", NAMES)
def test_libreoffice_save_passes_the_same_field_checks(name: str) -> None:
    """GIVEN a LibreOffice save WHEN its FormData is checked THEN the same missing and invalid
    field codes as the original: no child date of birth is invalid, no child is missing."""
    recipe = RECIPES[name]
    codes = check_fields(read(saved(name)), today=TODAY).codes
    assert codes == check_fields(read(recipe.original()), today=TODAY).codes
    assert not any("child" in code for code in codes)


def test_golden_pairs_cover_every_fill_style_and_were_saved_by_libreoffice() -> None:
    """GIVEN the LibreOffice golden folder WHEN listed THEN every fill style has a pair with
    children and one without, each .docx has its JSON (and its recipe), and each document
    was written by LibreOffice, not by the form writer."""
    assert sorted(p.stem for p in GOLDEN.glob("*.docx")) == NAMES
    assert sorted(p.stem for p in GOLDEN.glob("*.json")) == NAMES
    for style in FillStyle:
        kinds = {bool(golden(n).children) for n, r in RECIPES.items() if r.style is style}
        assert kinds == {True, False}, style
    for name in NAMES:
        app = zipfile.ZipFile(io.BytesIO(saved(name))).read("docProps/app.xml")
        assert b"LibreOffice" in app, name


def test_golden_json_is_the_data_written() -> None:
    """GIVEN each golden JSON WHEN compared with its recipe THEN it is the FormData written
    (less LibreOffice's documented loss), so a reader bug cannot have been made golden."""
    for name, recipe in RECIPES.items():
        assert golden(name) == expected_read(recipe), name


def test_the_golden_forms_hold_what_libreoffice_changes() -> None:
    """GIVEN the recipes WHEN inspected THEN they hold what a LibreOffice save disturbs: the
    due-date table joined to the children's, children with dates in three styles, blank child
    rows, a date picker without its ISO date, multi-line values and every kind of tick."""
    children = RECIPES["typed-children"].form
    assert [c.dob for c in children.children] == ["03/07/2015", "3/7/19", "12 March 2024"]
    assert children.value("pregnancy_due_date") == "14/03/2027"
    assert children.value("victim_dob") == "3 July 1991"
    assert any("\n" in c.address for c in children.children)
    none = RECIPES["typed-no-children"].form
    assert none.ticked("no_children")
    assert not none.children
    assert none.ticked("reason_professional_judgement")
    marks = {r.mark for r in RECIPES.values() if r.style is FillStyle.MARKS}
    assert len(marks) == 2
