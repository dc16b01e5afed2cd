"""Fuzzing the MIME layer: emails of random shape never make `parse_email` raise.

Each example is a MIME tree (multiparts of every subtype, nested, with odd boundaries) of
parts with every content type and transfer encoding, hostile file names and header values
(CR/LF, NUL, lone surrogates, broken encoded words), with LF or CRLF line ends. The parse must
return a `ParsedEmail` whose header values are one clean line and whose attachments stay
within the limits and within the input (`tests.fuzz.targets.parse_and_check`).
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.settings import fuzz
from tests.fuzz.strategies import emails
from tests.fuzz.targets import parse_and_check


@fuzz
@given(raw=emails())
def test_every_generated_email_parses_to_clean_values(raw: bytes) -> None:
    """GIVEN an email of random MIME shape with hostile headers, names and encodings
    WHEN parsed
    THEN a ParsedEmail comes back with clean one-line headers and bounded attachments."""
    parse_and_check(raw)


@fuzz
@given(raw=emails(), cut=st.integers(0, 10**6), junk=st.binary(max_size=64))
def test_a_cut_or_spliced_email_still_parses(raw: bytes, cut: int, junk: bytes) -> None:
    """GIVEN a generated email cut short at a random point with random bytes spliced in
    WHEN parsed
    THEN the same contract holds."""
    at = cut % (len(raw) + 1)
    parse_and_check(raw[:at] + junk + raw[at:][: len(raw) // 2])
