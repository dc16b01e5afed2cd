"""Read the two grids of the referral form: the DASH checklist and the children table.

Both are found by their header rows (or, through content controls, by their `dash_qNN_*` and
`child_*` tags), never by their position in the document, so rows added, left blank, deleted
or split into a second table read the same. Columns are located by header text and grid
position, so merged cells and a deleted column do not shift the answers into the wrong box.

A table that follows the children table with no paragraph between is joined to it by
LibreOffice (and by Word, once the paragraph is deleted): the due-date row then sits under the
children, its label stretched over the name and birth-date columns. A row like that, or a note
typed across the table, is another field's row, never a child.
"""

from __future__ import annotations

import re

from mailbot import formdef
from mailbot.ingest.form.layout import Layout, Row, cell_at, cell_text, cell_ticked, control_state
from mailbot.ingest.form.locate import section_key
from mailbot.ingest.form.typed import clean, normalise
from mailbot.models import ChildRow, DashAnswer

MAX_CHILD_ROWS = 500
DASH_SECTION = section_key(formdef.DASH_HEADING)
CHILDREN_SECTION = section_key(formdef.CHILDREN_HEADING)
_QUESTION_NUMBER = re.compile(r"(?:q\s*)?(\d{1,2})[.):]?", re.IGNORECASE)
_QUESTIONS = {normalise(q): n for n, q in enumerate(formdef.DASH_QUESTIONS, 1)}
_YES, _NO = frozenset({"yes", "y"}), frozenset({"no", "n"})
_DONT_KNOW = frozenset({"dont know", "do not know", "dk", "not known", "unknown"})
_NUMBER = frozenset({"no", "number", "q", "question no", "n"})
_DEFAULT_DASH = {"number": 0, "yes": 2, "no": 3, "dont_know": 4, "comment": 5}
# Every label of the form's other fields: a cell holding one is a field's row, not a child's.
_FIELD_LABELS = frozenset(
    normalise(f.label) for f in (*formdef.VALUE_FIELDS, *formdef.tick_fields())
)
_CHILD_HEADERS = {
    "name": ("full name", "name", "child name", "childs name", "child s name"),
    "dob": ("date of birth", "dob", "d o b", "birth"),
    "gender": ("gender", "sex"),
    "address": ("address",),
    "school": ("school", "nursery", "education"),
    "relationship": ("relationship",),
}


def read_dash(layout: Layout) -> tuple[dict[int, DashAnswer | None], dict[int, str]]:
    """The 24 DASH answers (the one box ticked; None when none or several) and the comments
    typed. A box's control decides when it has one, else the cell in the box's column."""
    rows = _dash_rows(layout)
    answers: dict[int, DashAnswer | None] = {}
    comments: dict[int, str] = {}
    for n in range(1, len(formdef.DASH_QUESTIONS) + 1):
        located = rows.get(n)
        ticked: list[str] = []
        for key in formdef.DASH_ANSWER_KEYS:
            controls = layout.controls.get(formdef.dash_tag(n, key), [])
            if controls:
                state = any(control_state(c) for c in controls)
            else:
                state = located is not None and cell_ticked(cell_at(located[0], located[1][key]))
            if state:
                ticked.append(key)
        answers[n] = DashAnswer(ticked[0]) if len(ticked) == 1 else None
        typed = next(
            (c.text for c in layout.controls.get(formdef.dash_tag(n, "comment"), []) if c.text),
            "",
        )
        if not typed and located is not None and "comment" in located[1]:
            typed = cell_text(located[0], located[1]["comment"])
        comment = clean(typed, multiline=True)
        if comment:
            comments[n] = comment
    return answers, comments


def _dash_header(row: Row) -> dict[str, int] | None:
    """The DASH header's columns by grid position, or None when `row` is no DASH header.

    "No" heads both the number column ("No.") and the answer column: the answer is the one
    right of "Yes", the number the one left of it.
    """
    names = [(normalise(c.text), c.col) for c in row.cells]
    yes = next((col for name, col in names if name in _YES), None)
    dont_know = next((col for name, col in names if name in _DONT_KNOW), None)
    if yes is None or dont_know is None:
        return None
    answer_no = [col for name, col in names if name in _NO and col > yes]
    if not answer_no:
        return None
    number = [col for name, col in names if name in _NUMBER and col < yes]
    found = {
        "yes": yes,
        "no": answer_no[0],
        "dont_know": dont_know,
        "number": number[0] if number else 0,
    }
    comment = [col for name, col in names if name.startswith("comment")]
    if comment:
        found["comment"] = comment[0]
    return found


def _question_number(row: Row, columns: dict[str, int]) -> tuple[int | None, bool]:
    """The DASH question a row holds, and whether its question text confirmed it."""
    for cell in row.cells:
        name = normalise(cell.text)
        if name in _QUESTIONS:
            return _QUESTIONS[name], True
    match = _QUESTION_NUMBER.fullmatch(cell_text(row, columns.get("number", 0)).strip())
    if match and 1 <= int(match.group(1)) <= len(formdef.DASH_QUESTIONS):
        return int(match.group(1)), False
    return None, False


def _dash_rows(layout: Layout) -> dict[int, tuple[Row, dict[str, int]]]:
    """Rows of the DASH table by question number, with the column layout they follow."""
    headers: dict[int, dict[str, int]] = {}
    last: dict[str, int] | None = None
    rows: dict[int, tuple[Row, dict[str, int], bool]] = {}
    for row in layout.rows:
        header = _dash_header(row)
        if header is not None:
            headers[row.table] = last = header
            continue
        columns = headers.get(row.table) or last or _DEFAULT_DASH
        number, confirmed = _question_number(row, columns)
        in_dash = row.table in headers or row.section == DASH_SECTION
        if number is None or not (confirmed or in_dash):
            continue
        # The first row in the checklist wins; a question quoted elsewhere only as a fallback.
        if number not in rows or (in_dash and not rows[number][2]):
            rows[number] = (row, columns, in_dash)
    return {n: (row, columns) for n, (row, columns, _) in rows.items()}


def _child_header(row: Row) -> dict[str, int] | None:
    columns: dict[str, int] = {}
    for cell in row.cells:
        name = normalise(cell.text)
        for key, starts in _CHILD_HEADERS.items():
            if key not in columns and name.startswith(starts):
                columns[key] = cell.col
                break
    if "name" in columns and "dob" in columns and len(columns) >= 3:
        return columns
    return None


def read_children(layout: Layout) -> tuple[ChildRow, ...]:
    """The non-blank rows of the children table, found by its header row or `child_*` tags.
    Blank rows, and rows showing only placeholders, are skipped."""
    children: list[ChildRow] = []
    columns: dict[str, int] | None = None
    table: int | None = None
    looked = 0
    for row in layout.rows:
        header = _child_header(row)
        if header is not None:
            columns, table = header, row.table
            continue
        tagged: dict[str, str] = {}
        for cell in row.cells:
            for control in cell.controls:
                key = control.tag.removeprefix("child_")
                if control.tag.startswith("child_") and control.text and key not in tagged:
                    tagged[key] = control.text
        continues = columns is not None and row.section == CHILDREN_SECTION and len(row.cells) >= 3
        in_table = columns is not None and (row.table == table or continues)
        if not tagged and (not in_table or _not_a_child(row, columns)):
            continue
        looked += 1
        if looked > MAX_CHILD_ROWS:
            break
        typed: dict[str, str] = {}
        for column in formdef.CHILD_COLUMNS:
            text = tagged.get(column.key, "")
            if not text and in_table and columns is not None and column.key in columns:
                text = cell_text(row, columns[column.key])
            typed[column.key] = clean(text, multiline=column.key == "address")
        if any(typed.values()):
            children.append(ChildRow(**typed))
    return tuple(children)


def _not_a_child(row: Row, columns: dict[str, int] | None) -> bool:
    """Whether a row inside the children table is some other field's: one cell covering both
    the name and the birth-date columns (a joined table's row, a note typed across), or a
    cell that is another field's label."""
    if columns is not None:
        name = cell_at(row, columns["name"])
        if name is not None and name is cell_at(row, columns["dob"]):
            return True
    return any(normalise(cell.text) in _FIELD_LABELS for cell in row.cells)
