"""Fuzzing the form reader: mutated real referrals never make it raise.

Each example is a genuine referral package (a shared sample, or a generated form in each fill
style) with its document.xml edited: field text replaced with odd values, rows and paragraphs
duplicated or dropped, tables removed, markup junk spliced in. The reader must answer with a
form, "wrong form" or "unreadable", and a form it reads must validate without an exception.
"""

from __future__ import annotations

from hypothesis import example, given

from tests.fuzz.settings import fuzz
from tests.fuzz.strategies import base_documents, mutated_forms
from tests.fuzz.targets import read_and_check


@fuzz
@given(docx=mutated_forms())
@example(docx=base_documents()[0])
def test_the_reader_answers_every_mutated_form_with_a_value(docx: bytes) -> None:
    """GIVEN a real referral package with random edits to its document.xml (or none)
    WHEN it is checked, read and validated as the pipeline does
    THEN no exception escapes: the package check refused it, or the reader gave a form,
    "wrong form" or "unreadable", and a form validated."""
    result = read_and_check(docx)
    assert result is None or type(result).__name__ in {"FormData", "WrongForm", "Unreadable"}
