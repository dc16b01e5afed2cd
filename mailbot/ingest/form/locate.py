"""Find the label/value fields and tick boxes of the referral form, however it was filled in.

A content control tagged with the field id is the surest source, but forms come back with
the controls stripped, so every field can also be found by its label: in the left-hand cell
of a table row (the value in the next cells), beside a tick mark, or typed as "Label: value".
Labels are compared loosely (case, spaces, punctuation, trailing colons); the one-word ones
("Date", "Agency") count only under their own section heading or beside their section's
other rows, so a stray "Date" row elsewhere cannot fill the declaration date.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from mailbot import formdef
from mailbot.formdef import FieldDef, Kind
from mailbot.ingest.form.layout import Layout, cell_ticked, control_state
from mailbot.ingest.form.typed import clean, is_ticked, normalise, split_mark

_LONGEST_LABEL = 300
_MAX_SPLITS = 8
_KEY = re.compile(r"section (\d+[a-z]?)\b")


def section_key(title: str) -> str:
    """ "4a" for "Section 4a: Children ...": how headings are told apart, whatever the wording."""
    match = _KEY.match(normalise(title))
    assert match is not None, title  # formdef's headings all start "Section N"
    return match.group(1)


def _field_sections() -> dict[str, str]:
    groups: list[tuple[str, Iterable[FieldDef]]] = [(s.title, s.fields) for s in formdef.SECTIONS]
    groups += [
        (formdef.CHILDREN_HEADING, (formdef.NO_CHILDREN, formdef.PREGNANCY)),
        (formdef.REASONS_HEADING, (*formdef.REASONS, *formdef.RISK_FIELDS)),
        (formdef.SUPPORT.title, formdef.SUPPORT.fields),
        (formdef.DECLARATION.title, formdef.DECLARATION.fields),
    ]
    return {f.id: section_key(title) for title, fields in groups for f in fields}


FIELD_SECTION = _field_sections()
SECTION_KEYS = frozenset({*FIELD_SECTION.values(), section_key(formdef.DASH_HEADING)})
_LABELS: dict[str, list[FieldDef]] = defaultdict(list)
for _field in (*formdef.VALUE_FIELDS, *formdef.tick_fields()):
    _LABELS[normalise(_field.label)].append(_field)
_GLYPHS = frozenset(
    m for m in formdef.TICKED_MARKS | formdef.UNTICKED_MARKS if len(m) == 1 and not m.isalnum()
)
# A reason is also recognised by its name alone ("Visible high risk"), but only as a whole cell.
_REASON_NAMES = {normalise(re.split(r":| \(", r.label)[0]): r for r in formdef.REASONS}


@dataclass(frozen=True, slots=True)
class _Hit:
    value: str  # typed text; for a tick field "1" when ticked
    in_section: bool
    in_row: bool  # a label cell, rather than "Label: value" typed in a paragraph
    table: int | None
    order: int


def _label_of(text: str) -> tuple[list[FieldDef], str] | None:
    """The fields a label cell or paragraph names, and any value typed after the label."""
    head = text[:_LONGEST_LABEL]
    if len(text) <= _LONGEST_LABEL:
        name = normalise(text)
        # Normalising drops a glyph typed with the label ("No children ...: ☒"): keep it.
        glyphs = "".join(ch for ch in text if ch in _GLYPHS)
        if name in _LABELS:
            fields = _LABELS[name]
            return fields, glyphs if all(f.kind is Kind.TICK for f in fields) else ""
        if name in _REASON_NAMES:
            return [_REASON_NAMES[name]], glyphs
        mark, rest = split_mark(text)
        fields = _LABELS.get(normalise(rest)) or []
        if mark and fields and all(f.kind is Kind.TICK for f in fields):
            return fields, mark
    first, newline, _ = head.partition("\n")
    if newline and normalise(first) in _LABELS:
        return _LABELS[normalise(first)], text[len(first) + 1 :]
    splits = [m.start() for m in re.finditer(r"[:\t]", head)][:_MAX_SPLITS]
    for at in splits:
        name = normalise(head[:at])
        if name in _LABELS:
            return _LABELS[name], text[at + 1 :]
    return None


def _collect_hits(layout: Layout) -> dict[str, list[_Hit]]:
    hits: dict[str, list[_Hit]] = defaultdict(list)
    order = 0
    for row in layout.rows:
        cells = row.cells
        labels = [_label_of(c.text) for c in cells]
        i = 0
        while i < len(cells):
            found = labels[i]
            if found is None:
                i += 1
                continue
            fields, rest = found
            end = i + 1
            if any(f.kind is not Kind.TICK for f in fields):
                # The next cell is the value even if it looks like a label; later cells are
                # part of the value until the next label (a split or four-column layout).
                end = i + 2
                while end < len(cells) and labels[end] is None:
                    end += 1
            parts = [rest, *(c.text for c in cells[i + 1 : end])]
            value = "\n".join(p for p in parts if p.strip())
            ticked = is_ticked(rest) or any(
                cell_ticked(cells[j]) for j in (i - 1, i + 1) if 0 <= j < len(cells)
            )
            for f in fields:
                order += 1
                typed = ("1" if ticked else "") if f.kind is Kind.TICK else value
                in_section = FIELD_SECTION[f.id] == row.section
                hits[f.id].append(_Hit(typed, in_section, True, row.table, order))
            i = end
    # "Label: value" typed as a paragraph, outside tables or among a cell's paragraphs (a form
    # pasted into a layout table). These rank below label cells, so they only fill gaps.
    for paragraph in layout.paragraphs:
        if not paragraph.text.strip():
            continue
        found = _label_of(paragraph.text)
        if found is None:
            continue
        fields, rest = found
        for f in fields:
            order += 1
            typed = ("1" if is_ticked(rest) else "") if f.kind is Kind.TICK else rest
            in_section = FIELD_SECTION[f.id] == paragraph.section
            hits[f.id].append(_Hit(typed, in_section, False, None, order))
    return hits


def _needs_context(field: FieldDef) -> bool:
    return len(normalise(field.label).split()) < 2


def best_hits(layout: Layout) -> dict[str, _Hit]:
    """Each field's most trustworthy label match: under its own heading, in a table row,
    filled, first. One-word labels count only in their section or beside its other rows."""
    hits = _collect_hits(layout)
    table_sections: dict[int, set[str]] = defaultdict(set)
    for field_id, found in hits.items():
        if not _needs_context(formdef.FIELDS_BY_ID[field_id]):
            for hit in found:
                if hit.table is not None:
                    table_sections[hit.table].add(FIELD_SECTION[field_id])
    best: dict[str, _Hit] = {}
    for field_id, found in hits.items():
        section = FIELD_SECTION[field_id]
        if _needs_context(formdef.FIELDS_BY_ID[field_id]):
            found = [
                h
                for h in found
                if h.in_section or (h.table is not None and section in table_sections[h.table])
            ]
        if found:
            best[field_id] = min(
                found, key=lambda h: (not h.in_section, not h.in_row, not h.value, h.order)
            )
    return best


def read_fields(layout: Layout) -> tuple[dict[str, str], dict[str, bool], int]:
    """Every value field ('' when empty) and tick box, and how many of them were found at all.

    A control's non-empty text wins; else the best label match. A tick box with a control is
    read from it (its glyph, else its flag), otherwise from the mark beside its label.
    """
    hits = best_hits(layout)
    found = 0
    values: dict[str, str] = {}
    for field in formdef.VALUE_FIELDS:
        controls = layout.controls.get(field.id, [])
        hit = hits.get(field.id)
        found += bool(controls or hit)
        typed = [clean(c.text, multiline=field.multiline) for c in controls]
        from_label = clean(hit.value, multiline=field.multiline) if hit else ""
        values[field.id] = next((t for t in typed if t), from_label)
    ticks: dict[str, bool] = {}
    for field in formdef.tick_fields():
        controls = layout.controls.get(field.id, [])
        hit = hits.get(field.id)
        found += bool(controls or hit)
        if controls:
            ticks[field.id] = any(control_state(c) for c in controls)
        else:
            ticks[field.id] = hit is not None and bool(hit.value)
    return values, ticks, found
