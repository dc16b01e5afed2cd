"""What an administrator may add to a returned referral's reply: reason codes and a note.

An administrator returning a held referral chooses the reasons from the same codes an
automatic decision uses (so the reply explains each in plain English with its rule), and may
add a free-text note. The note is written by a person and could hold personal data, and
replies may go to addresses that are not secure (PROCESS.md: no personal data there), so the
note is put only in replies to secure addresses; a reply to any other address says a note was
left out and how to get it. The administrator is told this before sending (CLI and web page).
"""

from __future__ import annotations

import textwrap
import unicodedata

from mailbot.codes import FieldProblem, Reason
from mailbot.dispatch.compose import Planned
from mailbot.formdef import FIELD_LABELS

# Reasons an administrator can return a referral for. `duplicate` is not here: it needs the
# earlier case, which only the automatic check finds.
RETURN_CODES: tuple[Reason, ...] = (
    Reason.THRESHOLD_NOT_MET,
    Reason.NO_REASON_TICKED,
    Reason.VICTIM_UNDER_16,
    Reason.WRONG_FORM,
    Reason.NOT_WORD_DOCUMENT,
    Reason.LEGACY_WORD_FORMAT,
    Reason.MACRO_CONTENT,
    Reason.ACTIVE_CONTENT,
    Reason.UNREADABLE_DOCUMENT,
    Reason.NO_ATTACHMENT,
)
FIELD_CODE_KINDS: tuple[FieldProblem, ...] = (FieldProblem.MISSING, FieldProblem.INVALID)
MAX_NOTE_CHARS = 2000
NOTE_HEADING = "Note from the MARAC Coordination Team:"
NOTE_WITHHELD = (
    "The MARAC Coordination Team added a note to this reply. It is not included here because"
    " this email address is not on a secure email service: please contact the team for it."
)
_WIDTH = 76


def is_return_code(code: str) -> bool:
    """Whether `code` is one an administrator may return a referral with."""
    kind, _, field_id = code.partition(":")
    if kind in FIELD_CODE_KINDS:
        return field_id in FIELD_LABELS
    return code in RETURN_CODES


def clean_note(text: str) -> str:
    """The note as it will be sent: control characters removed, lines trimmed.

    Raises ValueError when it is longer than MAX_NOTE_CHARS (the message names no content).
    """
    kept = "".join(
        c for c in text.replace("\r\n", "\n") if c == "\n" or unicodedata.category(c)[0] != "C"
    )
    lines = [" ".join(line.split()) for line in kept.split("\n")]
    note = "\n".join(lines).strip()
    if len(note) > MAX_NOTE_CHARS:
        raise ValueError(f"the note is longer than {MAX_NOTE_CHARS} characters")
    return note


def with_note(planned: Planned, note: str, *, secure: bool) -> Planned:
    """`planned` (a reply) with the note, or with the notice that it was left out.

    Only rejections carry notes. The block goes before "How to resubmit" (or the signature)
    so it reads with the problems it adds to; a template edited beyond recognition gets it
    at the end rather than not at all.
    """
    if planned.kind != "rejection" or not note:
        return planned
    paragraphs = note.split("\n") if secure else [NOTE_WITHHELD]
    wrapped = [textwrap.fill(p, _WIDTH) if p else "" for p in paragraphs]
    block = "\n".join([NOTE_HEADING, *wrapped]) if secure else wrapped[0]
    lines = planned.body.rstrip("\n").split("\n")
    at = _insertion_line(lines)
    body = (
        "\n".join([*lines[:at], block, "", *lines[at:]])
        if at is not None
        else "\n".join([*lines, "", block])
    )
    return planned.model_copy(update={"body": body + "\n"})


def _insertion_line(lines: list[str]) -> int | None:
    for i, line in enumerate(lines):
        if line.startswith("How to resubmit"):
            return i
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].startswith("MARAC Coordination Team"):
            return i
    return None
