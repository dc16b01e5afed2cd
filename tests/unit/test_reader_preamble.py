"""The form reader and a covering letter pasted above the form (a long preamble).

What comes before the form's title is set aside before the form is read, so neither a heading
of the letter's own nor the letter's length (past the 20,000 paragraphs and 5,000 rows the
reader reads) hides the form; a document whose title is not within the paragraphs looked at
is too long to read (`Unreadable`), never the wrong form. Inputs are built here from the
project's form writer (`tests.hostile_wrapped.with_preamble`).
"""

from __future__ import annotations

import io
import re
import time
import zipfile

import pytest

from mailbot.ingest.form import reader
from mailbot.ingest.form.reader import Unreadable, WrongForm, read_form
from tests.hostile_blocks import referral_docx, replace_part
from tests.hostile_wrapped import CORE_WITHOUT_PROPERTIES, with_preamble


def _document(docx: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(docx)) as archive:
        return archive.read("word/document.xml").decode("utf-8")


def _above_form(docx: bytes, xml: str) -> bytes:
    """`docx` with `xml` (block content) pasted at the top of its body."""
    document = re.sub(r"(<w:body>)", lambda m: m.group(1) + xml, _document(docx), count=1)
    return replace_part(docx, "word/document.xml", document.encode("utf-8"))


@pytest.fixture(scope="module")
def form() -> bytes:
    return referral_docx(71)


@pytest.mark.parametrize(
    ("paragraphs", "keep_properties"),
    [(5000, False), (5000, True), (30_000, True), (30_000, False)],
)
def test_a_long_covering_letter_does_not_hide_the_form(
    form: bytes, paragraphs: int, keep_properties: bool
) -> None:
    """GIVEN a filled form with a covering letter pasted above it (a heading of its own, then
    thousands of paragraphs), with or without the form's core properties
    WHEN read
    THEN it reads exactly as the form alone."""
    letter = with_preamble(form, paragraphs, seed=paragraphs, keep_properties=keep_properties)
    assert read_form(letter) == read_form(form)


def test_a_preamble_of_table_rows_does_not_spend_the_rows_read(form: bytes) -> None:
    """GIVEN 12 pasted tables of 600 rows each above the form (past the 5,000 rows read)
    WHEN read
    THEN the form's own rows are read: it reads as the form alone."""
    table = (
        "<w:tbl>" + "<w:tr><w:tc><w:p><w:r><w:t>Date</w:t></w:r></w:p></w:tc><w:tc><w:p>"
        "<w:r><w:t>Called</w:t></w:r></w:p></w:tc></w:tr>" * 600 + "</w:tbl>"
    )
    assert read_form(_above_form(form, table * 12)) == read_form(form)


def test_a_title_in_a_layout_table_keeps_its_table(form: bytes) -> None:
    """GIVEN a form without core properties whose title sits in a one-cell layout table,
    a letter above it
    WHEN read
    THEN the table holding the title stays (the form starts there, and the title recognises
    it) and the form is read."""
    title = "<w:p><w:r><w:t>West Midlands MARAC Referral Form</w:t></w:r></w:p>"
    document = _document(form)
    first = document.index("<w:p>", document.index("<w:body>"))
    end = document.index("</w:p>", first) + len("</w:p>")
    boxed = f"<w:tbl><w:tr><w:tc>{title}</w:tc></w:tr></w:tbl>"
    document = document[:first] + boxed + document[end:]
    moved = replace_part(form, "word/document.xml", document.encode("utf-8"))
    moved = replace_part(moved, "docProps/core.xml", CORE_WITHOUT_PROPERTIES.encode())
    letter = "<w:p><w:r><w:t>Dear colleague,</w:t></w:r></w:p>" * 50
    assert read_form(_above_form(moved, letter)) == read_form(form)


@pytest.mark.timeout(20)
def test_a_preamble_past_the_bound_is_too_long_not_the_wrong_form(form: bytes) -> None:
    """GIVEN a form with more paragraphs above its title than are looked at for it
    WHEN read
    THEN Unreadable 'too long' within a few seconds, never WrongForm."""
    past = with_preamble(
        form, reader.MAX_PREAMBLE_PARAGRAPHS + 1, seed=9, keep_properties=True, heading=False
    )
    started = time.perf_counter()
    assert read_form(past) == Unreadable(detail=reader.TOO_LONG)
    assert time.perf_counter() - started < 10


def test_a_short_letter_without_the_title_is_still_the_wrong_form() -> None:
    """GIVEN a letter of a few paragraphs with no form title in it
    WHEN read
    THEN WrongForm, as before: only a document past the bound is 'too long'."""
    letter = referral_docx(72)
    document = _document(letter)
    body = document[document.index("<w:body>") + len("<w:body>") : document.index("<w:sectPr")]
    plain = "<w:p><w:r><w:t>Dear colleague, please see attached.</w:t></w:r></w:p>" * 20
    only_letter = replace_part(
        letter, "word/document.xml", document.replace(body, plain).encode("utf-8")
    )
    assert isinstance(read_form(only_letter), WrongForm)
