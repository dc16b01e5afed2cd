"""Reason, warning and criterion codes: every code of the form's specification is a member
with a text, field codes keep their strings, and a decision's codes leave the store, the
JSON and the log exactly as the strings they name."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailbot.cases.casebook import Casebook, CaseRecord
from mailbot.codes import (
    CRITERIA,
    REASONS,
    WARNINGS,
    Caution,
    Criterion,
    FieldProblem,
    Reason,
    describe,
    invalid_field,
    missing_field,
    reason_code,
    rule,
)
from mailbot.formdef import FIELD_LABELS
from mailbot.models import Decision, Outcome
from mailbot.store import Store

# REFERRAL-FORM.md, "Reason codes", as the specification spells them.
SPEC_RETURNED = (
    "wrong_form",
    "no_attachment",
    "not_word_document",
    "legacy_word_format",
    "macro_content",
    "unreadable_document",
    "no_reason_ticked",
    "threshold_not_met",
    "victim_under_16",
    "duplicate",
)
SPEC_HELD = (
    "cannot_decrypt",
    "chair_review",
    "possible_repeat",
    "multiple_forms",
    "processing_error",
)
SPEC_WARNINGS = (
    "insecure_transport",
    "dash_score_mismatch",
    "repeat_detected",
    "desktop_review",
    "young_person",
)
SPEC_CRITERIA = ("visible_high_risk", "professional_judgement", "escalation", "repeat", "transfer")
SPEC_FIELD_KINDS = ("missing_field", "invalid_field")


@pytest.mark.parametrize("code", [*SPEC_RETURNED, *SPEC_HELD])
def test_every_reason_of_the_spec_is_a_member_with_a_text(code: str) -> None:
    """GIVEN a reason code listed in REFERRAL-FORM.md
    WHEN looked up in the enum
    THEN it is a member, equal to the code, with a sentence for people."""
    member = Reason(code)
    assert member == code
    assert member.text.strip()
    assert describe(code) == member.text


@pytest.mark.parametrize("code", SPEC_WARNINGS)
def test_every_warning_of_the_spec_is_a_member_with_a_text(code: str) -> None:
    """GIVEN a warning code listed in REFERRAL-FORM.md
    WHEN looked up in the enum
    THEN it is a member, equal to the code, with a sentence for people."""
    member = Caution(code)
    assert member == code
    assert member.text.strip()
    assert describe(code) == member.text


@pytest.mark.parametrize("code", SPEC_CRITERIA)
def test_every_criterion_of_the_spec_is_a_member_with_a_text(code: str) -> None:
    """GIVEN a criterion listed in REFERRAL-FORM.md
    WHEN looked up in the enum
    THEN it is a member, equal to the code, with its name in words."""
    member = Criterion(code)
    assert member == code
    assert member.text.strip()
    assert describe(code) == member.text


def test_every_member_has_a_text_and_no_code_is_in_two_enums() -> None:
    """GIVEN the three enums
    WHEN their members are listed
    THEN each has a non-empty text beside it, its value is its name in lower case, and no
    code belongs to two of them (a text is found by the bare code)."""
    for enum, texts in ((Reason, REASONS), (Caution, WARNINGS), (Criterion, CRITERIA)):
        assert set(texts) == set(enum)
        for member in enum:
            assert member.text.strip()
            assert member.value == member.name.lower()
    values = [m.value for enum in (Reason, Caution, Criterion) for m in enum]
    assert len(values) == len(set(values))


@pytest.mark.parametrize("kind", SPEC_FIELD_KINDS)
def test_field_codes_are_strings_with_their_field_named(kind: str) -> None:
    """GIVEN a parameterised field code of the spec (`missing_field:<id>`)
    WHEN built by its helper
    THEN it is the plain string, described with the field's label and quoted with its rule."""
    make = missing_field if kind == FieldProblem.MISSING else invalid_field
    code = make("victim_dob")
    assert code == f"{kind}:victim_dob"
    assert type(code) is str
    assert FIELD_LABELS["victim_dob"] in describe(code)
    assert rule(code)
    assert rule(make("child_name")) == rule(code)


def test_a_typed_code_is_read_as_its_member_or_a_field_code() -> None:
    """GIVEN codes as an administrator types them
    WHEN read as reasons
    THEN a known code is its member, a field code its string, and anything else refused."""
    assert reason_code("threshold_not_met") is Reason.THRESHOLD_NOT_MET
    assert reason_code("missing_field:victim_dob") == missing_field("victim_dob")
    for junk in (
        "threshold_not_mat",
        "missing_field:",
        "spelled_wrong:victim_dob",
        "young_person",
        "",
    ):
        with pytest.raises(ValueError, match="not a reason code"):
            reason_code(junk)


def _decision() -> Decision:
    return Decision(
        outcome=Outcome.RETURNED,
        reasons=(
            missing_field("victim_dob"),
            invalid_field("pj_rationale"),
            Reason.THRESHOLD_NOT_MET,
        ),
        warnings=(Caution.INSECURE_TRANSPORT, Caution.YOUNG_PERSON),
        criteria=(Criterion.REPEAT,),
    )


PLAIN = {
    "reasons": ["missing_field:victim_dob", "invalid_field:pj_rationale", "threshold_not_met"],
    "warnings": ["insecure_transport", "young_person"],
    "criteria": ["repeat"],
}


def test_a_decisions_codes_round_trip_through_the_store_unchanged(tmp_path: Path) -> None:
    """GIVEN a case whose decision holds members of each enum and field codes
    WHEN saved and read back
    THEN the columns hold the same JSON as plain strings would, the case reads back equal,
    its known codes as members again and its field codes as strings."""
    store = Store(tmp_path / "db.sqlite3")
    book = Casebook(store)
    now = datetime(2026, 11, 2, 9, tzinfo=UTC)
    case = CaseRecord(
        reference="R-1",
        message_key="<a@x>",
        message_id="<a@x>",
        received_at=now,
        decided_at=now,
        sender="a@x.pnn.police.uk",
        agency=None,
        decision=_decision(),
    )
    with store.transaction() as conn:
        book.save(conn, case)
    row = store.conn.execute(
        "SELECT reasons, warnings, criteria FROM cases WHERE reference = 'R-1'"
    ).fetchone()
    assert tuple(row) == tuple(json.dumps(PLAIN[k]) for k in ("reasons", "warnings", "criteria"))
    again = book.get("R-1")
    assert again == case
    assert again is not None
    assert [type(c) for c in again.decision.reasons] == [str, str, Reason]
    assert all(type(c) is Caution for c in again.decision.warnings)
    assert all(type(c) is Criterion for c in again.decision.criteria)


def test_a_decisions_codes_leave_as_the_strings_they_name() -> None:
    """GIVEN a decision built from members and field codes
    WHEN printed as JSON (`cases list --json`, the model's own JSON), joined or formatted
    THEN the output is byte for byte what the bare strings give, and it parses back equal."""
    decision = _decision()
    summary = CaseRecord(
        reference="R-1",
        message_key="k",
        message_id="<a@x>",
        received_at=datetime(2026, 11, 2, tzinfo=UTC),
        decided_at=datetime(2026, 11, 2, tzinfo=UTC),
        sender="a@x",
        agency=None,
        decision=decision,
    ).summary()
    assert json.dumps({k: summary[k] for k in PLAIN}) == json.dumps(PLAIN)
    assert json.loads(decision.model_dump_json())["reasons"] == PLAIN["reasons"]
    assert Decision.model_validate_json(decision.model_dump_json()) == decision
    assert ",".join(decision.warnings) == "insecure_transport,young_person"
    assert f"{Criterion.REPEAT}" == str(Criterion.REPEAT) == "repeat"
