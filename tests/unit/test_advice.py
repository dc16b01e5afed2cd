"""An administrator's note on a returned referral: cleaned, placed, and kept off insecure mail."""

from __future__ import annotations

import pytest

from mailbot.dispatch.advice import NOTE_HEADING, clean_note, is_return_code, with_note
from mailbot.dispatch.compose import Planned

BODY = (
    "Dear colleague,\n\nIt cannot be listed yet:\n\n1. A problem.\n\n"
    "How to resubmit: correct the form.\n\nMARAC Coordination Team\nteam@x.pnn.police.uk\n"
)


def _reply(body: str = BODY, kind: str = "rejection") -> Planned:
    return Planned(kind=kind, recipient="a@b.nhs.net", subject="s", body=body)


def test_the_note_goes_before_how_to_resubmit_for_a_secure_address() -> None:
    body = with_note(_reply(), "Line one.\nLine two.", secure=True).body
    assert body.index(NOTE_HEADING) < body.index("How to resubmit")
    assert f"{NOTE_HEADING}\nLine one.\nLine two.\n\nHow to resubmit" in body


def test_an_insecure_address_is_told_a_note_was_left_out() -> None:
    body = with_note(_reply(), "Secret advice.", secure=False).body
    assert "Secret advice" not in body
    assert "not on a secure email service" in " ".join(body.split())


def test_an_edited_template_still_gets_the_note() -> None:
    """GIVEN a team-edited template with neither marker line
    THEN the note is appended rather than lost."""
    body = with_note(_reply("Hello.\nBye.\n"), "Advice.", secure=True).body
    assert body.endswith(f"Bye.\n\n{NOTE_HEADING}\nAdvice.\n")
    before_signature = with_note(
        _reply("Hi.\n\nMARAC Coordination Team\nx\n"), "A.", secure=True
    ).body
    assert before_signature.index("A.") < before_signature.index("\nMARAC Coordination Team\n")


def test_only_rejections_carry_notes() -> None:
    reply = _reply(kind="confirmation")
    assert with_note(reply, "Advice.", secure=True) == reply


def test_notes_are_cleaned_and_bounded() -> None:
    assert clean_note("  one \x1b[31m two\r\n\tthree  \n") == "one [31m two\nthree"
    with pytest.raises(ValueError, match="longer than 2000"):
        clean_note("x" * 2001)


@pytest.mark.parametrize(
    ("code", "ok"),
    [
        ("threshold_not_met", True),
        ("missing_field:victim_dob", True),
        ("invalid_field:child_dob", True),
        ("duplicate", False),
        ("chair_review", False),
        ("missing_field:nothing", False),
        ("not_a_code", False),
    ],
)
def test_return_codes(code: str, ok: bool) -> None:
    assert is_return_code(code) is ok
