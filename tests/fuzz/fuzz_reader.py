"""Long fuzzing of the form reader with atheris (libFuzzer), by hand; CI runs the hypothesis
tests in this folder instead.

libFuzzer mutates bytes, and bytes that are not a zip stop at the first check, so each input
here is a replacement document.xml: the first byte picks one of the real referral packages
(shared samples, generated forms in each fill style), the rest becomes its document.xml, and
the package goes through `targets.read_and_check` (package check, reader, validation).

    pip install atheris
    PYTHONPATH=. python tests/fuzz/fuzz_reader.py --make-corpus fuzz-corpus/reader
    PYTHONPATH=. python tests/fuzz/fuzz_reader.py fuzz-corpus/reader -max_len=400000 \\
        -timeout=20 -rss_limit_mb=2048 -max_total_time=3600

A crash is written as crash-<sha1>; copy it to tests/fuzz/regressions/reader/ (with a line
in that folder's README) and `test_fuzz_regressions.py` replays it in every CI run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris  # type: ignore[import-untyped]  # no stubs; installed only to fuzz

with atheris.instrument_imports():
    from tests.fuzz.strategies import DOCUMENT, base_documents
    from tests.fuzz.targets import read_and_check
    from tests.hostile_blocks import build_zip, parts_of


def package(data: bytes) -> bytes:
    """Input bytes as a referral package: byte 0 picks the base, the rest is document.xml."""
    bases = base_documents()
    base = bases[data[0] % len(bases)] if data else bases[0]
    parts = dict(parts_of(base))
    parts[DOCUMENT] = data[1:]
    return build_zip(list(parts.items()))


def test_one_input(data: bytes) -> None:
    read_and_check(package(data))


def make_corpus(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for n, base in enumerate(base_documents()):
        (directory / f"seed-{n}").write_bytes(bytes([n]) + dict(parts_of(base))[DOCUMENT])


if __name__ == "__main__":
    if sys.argv[1:2] == ["--make-corpus"]:
        make_corpus(Path(sys.argv[2]))
    elif sys.argv[1:2] == ["--to-docx"]:
        Path(sys.argv[3]).write_bytes(package(Path(sys.argv[2]).read_bytes()))
    else:
        atheris.Setup(sys.argv, test_one_input)
        atheris.Fuzz()
