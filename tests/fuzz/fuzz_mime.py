"""Long fuzzing of the MIME layer with atheris (libFuzzer), by hand; CI runs the hypothesis
tests in this folder instead.

Each input is a raw email for `targets.parse_and_check`. Seed it with the golden and hostile
emails so libFuzzer starts from real MIME structure (the first folder is where it writes):

    pip install atheris
    mkdir -p fuzz-corpus/mime
    PYTHONPATH=. python tests/fuzz/fuzz_mime.py fuzz-corpus/mime tests/data/emails \\
        tests/data/hostile -max_len=250000 -timeout=20 -rss_limit_mb=2048 -max_total_time=3600

A crash is written as crash-<sha1>; copy it to tests/fuzz/regressions/mime/ (with a line in
that folder's README) and `test_fuzz_regressions.py` replays it in every CI run.
"""

from __future__ import annotations

import sys

import atheris  # type: ignore[import-untyped]  # no stubs; installed only to fuzz

with atheris.instrument_imports():
    from tests.fuzz.targets import parse_and_check


def test_one_input(data: bytes) -> None:
    parse_and_check(data)


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
