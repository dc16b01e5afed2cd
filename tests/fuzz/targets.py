"""The two fuzz targets, shared by the hypothesis tests (CI) and the atheris scripts (by hand).

Each target states a contract that must hold for any input, and fails loudly when it does not:
the form reader answers every package that passed the zip-safety check with a value (a form,
"wrong form" or "unreadable"), and what it reads can be validated without an exception; the
MIME layer answers every byte string with a `ParsedEmail` whose header values are one clean
line and whose attachments are bounded by the limits and by the input. An exception or a
broken invariant from either is a bug; `tests/fuzz/regressions/` keeps each one found.
"""

from __future__ import annotations

from datetime import date

from mailbot.config import Config, load_config
from mailbot.ingest.document.ooxml import inspect_package
from mailbot.ingest.form.reader import Unreadable, WrongForm, read_form
from mailbot.ingest.mime.parse import is_oversized, parse_email
from mailbot.intake import stages
from mailbot.models import DocumentLimits, FormData, ParsedEmail
from tests.conftest import ROOT

LIMITS = DocumentLimits()
TODAY = date(2026, 11, 2)
_CONFIG: list[Config] = []
_UNSAFE = ("\r", "\n", "\x00")


def config() -> Config:
    if not _CONFIG:
        _CONFIG.append(load_config(ROOT / "config" / "example.toml"))
    return _CONFIG[0]


def read_and_check(docx: bytes) -> FormData | WrongForm | Unreadable | None:
    """Read `docx` as the pipeline does (package check first); None if the check refused it."""
    if inspect_package(docx, LIMITS) is not None:
        return None
    result = read_form(docx)
    assert isinstance(result, FormData | WrongForm | Unreadable), type(result)
    if isinstance(result, FormData):
        stages.check_referral(result, config(), TODAY)
    return result


def parse_and_check(raw: bytes) -> ParsedEmail:
    parsed = parse_email(raw, LIMITS)
    assert isinstance(parsed, ParsedEmail)
    assert parsed.message_id.startswith("<")
    assert parsed.message_id.endswith(">")
    for value in (parsed.message_id, parsed.sender, parsed.subject):
        assert not any(c in value for c in _UNSAFE), value
    assert parsed.sender == parsed.sender.lower()
    assert len(parsed.attachments) <= LIMITS.max_attachments
    assert sum(len(a.data) for a in parsed.attachments) <= len(raw)
    for attachment in parsed.attachments:
        name = attachment.filename
        assert name is None or (
            "/" not in name and len(name) <= 255 and not any(c in name for c in _UNSAFE)
        ), name
        assert is_oversized(attachment) or len(attachment.data) <= LIMITS.max_attachment_bytes
    return parsed
