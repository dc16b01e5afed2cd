"""What typed text on a form means: labels compared loosely, values tidied, tick marks read.

Partners type labels with trailing colons and odd spacing, values with stray spaces and
Word's placeholders left in, and ticks as anything from ☒ to "Yes" to a Wingdings symbol.
These rules live in one place so the cell reader and the field matcher agree on them; the
marks themselves come from `formdef`, the single definition of the form.
"""

from __future__ import annotations

import re

from mailbot import formdef

_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_SPACES = re.compile(r"[^\S\n]+")
_TOKENS = re.compile(r"\w+|[^\w\s]")
_LONGEST_MARK = 60  # a cell with more text than this is a comment, not a tick
# Symbol-font characters Word stores as `w:sym` (Insert > Symbol), by font, as the marks
# they show. The char code is Unicode private use: 0xF000 plus the font's code point.
_SYMBOLS = {
    "wingdings": {
        0xFC: "✓",
        0xFB: "✗",
        0xFD: "☒",
        0xFE: "☑",
        0x78: "☒",
        0xA8: "☐",
        0x6F: "☐",
        0x71: "☐",
        0x6E: "■",
    },
    "wingdings 2": {
        0x50: "✓",
        0x4F: "✗",
        0x51: "✗",
        0x52: "☑",
        0x53: "☒",
        0x54: "☒",
        0xA3: "☐",
        0x2A: "☐",
    },
    "symbol": {0xD6: "✓"},
}


def normalise(text: str) -> str:
    """Compare labels loosely: case-folded, punctuation and runs of spaces as one space."""
    folded = text.casefold().replace("'", "").replace("\u2019", "")
    return " ".join(re.sub(r"[\W_]+", " ", folded).split())


def clean(text: str, *, multiline: bool) -> str:
    """A value as typed: placeholders removed, spaces collapsed, lines kept if `multiline`."""
    for placeholder in formdef.PLACEHOLDERS:
        if placeholder in text:
            text = text.replace(placeholder, "")
    lines = [_SPACES.sub(" ", line).strip() for line in _ZERO_WIDTH.sub("", text).split("\n")]
    if not multiline:
        return " ".join(line for line in lines if line)
    kept: list[str] = []
    for line in lines:
        if line or (kept and kept[-1]):  # one blank line between paragraphs at most
            kept.append(line)
    return "\n".join(kept).strip("\n")


def is_ticked(text: str) -> bool:
    """Whether a tick box's visible text or a typed mark ("X", "Yes", "[✓]") means ticked."""
    mark = text.strip().casefold()
    if not mark or len(mark) > _LONGEST_MARK or mark in formdef.UNTICKED_MARKS:
        return False
    if mark in formdef.TICKED_MARKS:
        return True
    return any(token in formdef.TICKED_MARKS for token in _TOKENS.findall(mark))


def is_mark(text: str) -> bool:
    """Whether `text` is one of the form's tick marks, ticked or not."""
    mark = text.strip().casefold()
    return mark in formdef.TICKED_MARKS or mark in formdef.UNTICKED_MARKS


def split_mark(text: str) -> tuple[str, str]:
    """A mark typed in front of a label ("☒ Visible high risk"), and the rest; else ("", text)."""
    stripped = text.strip()
    if stripped and not stripped[0].isalnum() and is_mark(stripped[0]):
        return stripped[0], stripped[1:]
    head, _, rest = stripped.partition(" ")
    if rest and is_mark(head):
        return head, rest
    return "", text


def symbol_mark(font: str, code: int) -> str:
    """The character a `w:sym` shows: a tick mark for the symbol fonts' boxes and ticks."""
    mark = _SYMBOLS.get(font.strip().casefold(), {}).get(code & 0xFF if code >= 0xF000 else code)
    if mark is not None:
        return mark
    return chr(code) if 0x20 <= code < 0xE000 else ""
