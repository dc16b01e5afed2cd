"""Hostile attachments end to end through the intake steps that open a document.

Golden files in `tests/data/hostile/` (built by `tests/hostile_corpus.py`) each get the code in
`expected.json`, within 10 seconds. "Intake" here is the order PROCESS.md gives for steps 1-2:
classify the bytes, decrypt if encrypted, then inspect the package. Property tests then throw
mutated and random bytes at both stages: they must answer with a code, never raise.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailbot.ingest.document.decrypt import Decrypted, decrypt
from mailbot.ingest.document.ooxml import inspect_package
from mailbot.ingest.document.sniff import classify
from mailbot.models import DocKind, DocumentLimits
from tests import hostile_corpus as corpus
from tests.hostile_blocks import mutate

LIMITS = DocumentLimits()
HOSTILE_DIR = Path(__file__).resolve().parents[1] / "data" / "hostile"
EXPECTED: dict[str, str] = json.loads((HOSTILE_DIR / "expected.json").read_text())
PACKAGE_KINDS = (DocKind.DOCX, DocKind.DOCM, DocKind.ZIP)
INSPECT_CODES = {None, "macro_content", "active_content", "unreadable_document"}


def intake_code(data: bytes) -> str:
    """The code intake steps 1-2 give an attachment; "ok" when it may be read as a form."""
    kind = classify(data)
    if kind is DocKind.DOC:
        return "legacy_word_format"
    if kind is DocKind.ENCRYPTED:
        opened = decrypt(data, [corpus.CORPUS_PASSWORD], LIMITS)
        if not isinstance(opened, Decrypted):
            return opened.code
        data = opened.read()
    elif kind not in PACKAGE_KINDS:
        return "not_word_document"
    return inspect_package(data, LIMITS) or "ok"


def intake_expected(name: str) -> str:
    """What the intake steps give an attachment (where the reader decides, they let it by)."""
    return corpus.INTAKE_CODES.get(name, EXPECTED[name])


@pytest.mark.timeout(10)
@pytest.mark.parametrize("name", sorted(corpus.CORPUS))
def test_golden_hostile_file_gets_its_code(name: str) -> None:
    """GIVEN a hostile attachment from tests/data/hostile
    WHEN it goes through intake (classify, decrypt, inspect)
    THEN it gets the code expected.json gives it, within 10 seconds."""
    assert intake_code((HOSTILE_DIR / name).read_bytes()) == intake_expected(name)


def test_golden_folder_matches_expectations_and_readme() -> None:
    """GIVEN the hostile folder, expected.json, the README and the corpus builders
    WHEN compared
    THEN every file has an expectation and a README row, and every builder has its file:
    nothing is untested and nothing is undocumented."""
    files = {p.name for p in HOSTILE_DIR.iterdir()} - {"expected.json", "README.md"}
    assert files == set(EXPECTED) == set(corpus.CORPUS) | set(corpus.EMAILS)
    assert len(files) >= 60
    readme = (HOSTILE_DIR / "README.md").read_text()
    for name, code in EXPECTED.items():
        assert f"| `{name}` |" in readme
        assert corpus.expected_codes()[name] == code
    assert all((HOSTILE_DIR / name).stat().st_size < corpus.MAX_FILE_BYTES for name in files)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("name", sorted(corpus.CORPUS))
def test_freshly_built_hostile_file_gets_its_code(name: str) -> None:
    """GIVEN a hostile file built now by its corpus builder (salts and kernels fresh)
    WHEN it goes through intake
    THEN it gets the same code as its golden copy: the builders still build what they say."""
    builder, _ = corpus.CORPUS[name]
    assert intake_code(builder()) == intake_expected(name)


def test_controls_pass_intake() -> None:
    """GIVEN the unmodified base form, and the same form encrypted with the corpus password
    WHEN they go through intake
    THEN both are "ok": the hostile files fail for their defect, not for their origin."""
    assert intake_code(corpus.base_docx()) == "ok"
    assert intake_code(corpus.encrypted()) == "ok"


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(seed=st.integers(0, 2**32 - 1), flips=st.integers(1, 8))
def test_mutated_form_never_raises(seed: int, flips: int) -> None:
    """GIVEN the sample form with 1-8 random bytes changed
    WHEN inspected
    THEN the answer is None or a reason code, never an exception."""
    assert inspect_package(mutate(corpus.base_docx(), seed, flips), LIMITS) in INSPECT_CODES


_ENCRYPTED = corpus.encrypted(spin_count=10)


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(seed=st.integers(0, 2**32 - 1), flips=st.integers(1, 8))
def test_mutated_encrypted_file_never_raises(seed: int, flips: int) -> None:
    """GIVEN an encrypted form with 1-8 random bytes changed
    WHEN decrypted with its password
    THEN it opens (the change missed everything that matters) or fails with a code; it never
    raises, and whatever it opens still gets a code from inspection."""
    result = decrypt(mutate(_ENCRYPTED, seed, flips), [corpus.CORPUS_PASSWORD], LIMITS)
    if isinstance(result, Decrypted):
        assert inspect_package(result.read(), LIMITS) in INSPECT_CODES
    else:
        assert result.code in {"cannot_decrypt", "unreadable_document"}


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(data=st.binary(max_size=2048))
def test_random_bytes_never_raise(data: bytes) -> None:
    """GIVEN arbitrary bytes (including zip and OLE magic prefixes by chance)
    WHEN inspected and decrypted
    THEN both answer with a code and never raise."""
    for prefix in (b"", b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        assert inspect_package(prefix + data, LIMITS) in INSPECT_CODES - {None}
        result = decrypt(prefix + data, ["pw"], LIMITS)
        assert not isinstance(result, Decrypted)
