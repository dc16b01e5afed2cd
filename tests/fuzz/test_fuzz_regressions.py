"""Every input a fuzzer ever broke a contract with, replayed on every run (see the README)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fuzz.targets import parse_and_check, read_and_check

REGRESSIONS = Path(__file__).resolve().parent / "regressions"
CASES = sorted(p for p in REGRESSIONS.glob("*/*") if p.is_file())


@pytest.mark.timeout(30)
@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}/{p.name}" for p in CASES])
def test_a_fuzzer_finding_stays_fixed(path: Path) -> None:
    """GIVEN an input a fuzzer found breaking the reader's or the MIME layer's contract
    WHEN it is replayed
    THEN the contract holds."""
    if path.parent.name == "mime":
        parse_and_check(path.read_bytes())
    else:
        read_and_check(path.read_bytes())


def test_every_finding_is_documented() -> None:
    """GIVEN the regressions folder
    WHEN its README is read
    THEN every kept input has its row (what broke, where it was fixed)."""
    readme = (REGRESSIONS / "README.md").read_text()
    assert CASES
    for path in CASES:
        assert f"`{path.parent.name}/{path.name}`" in readme
