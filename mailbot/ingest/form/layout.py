"""What a filled-in Word form shows, as the reader sees it: paragraphs, table rows, controls.

`docxtext` builds this picture from the document's XML; `locate` and `formtables` match the
referral form's fields against it. Keeping the picture in its own small module lets the
matching be read without any OOXML in view, and gives `locate` and `formtables` one reading
of a tick: a tick box's state when there is one, else a mark typed into the cell or control.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mailbot.ingest.form.typed import is_ticked


@dataclass(frozen=True, slots=True)
class Control:
    """A content control: its tag (or alias), visible text, and tick state if a tick box."""

    tag: str
    text: str  # "" when it shows its placeholder
    checked: bool | None


@dataclass(frozen=True, slots=True)
class Cell:
    text: str  # visible text: paragraphs and line breaks as "\n", tabs as "\t"
    col: int  # first grid column it covers
    span: int
    controls: tuple[Control, ...]


@dataclass(frozen=True, slots=True)
class Row:
    cells: tuple[Cell, ...]
    table: int  # tables numbered in document order, nested ones too
    section: str | None  # key ("1", "4a") of the nearest section heading above


@dataclass(frozen=True, slots=True)
class Paragraph:
    text: str
    section: str | None
    in_table: bool
    heading: bool  # styled Title or Heading


@dataclass
class Layout:
    paragraphs: list[Paragraph] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    controls: dict[str, list[Control]] = field(default_factory=dict)


def cell_at(row: Row, col: int) -> Cell | None:
    """The cell of `row` covering grid column `col` (merged cells cover several)."""
    for cell in row.cells:
        if cell.col <= col < cell.col + cell.span:
            return cell
    return None


def cell_text(row: Row, col: int) -> str:
    cell = cell_at(row, col)
    return cell.text if cell is not None else ""


def control_state(control: Control) -> bool:
    """A control read as a tick: its tick box state, or the mark typed into a text control."""
    return control.checked if control.checked is not None else is_ticked(control.text)


def cell_ticked(cell: Cell | None) -> bool:
    """A tick cell's state: its tick box control if it has one, else the mark typed in it."""
    if cell is None:
        return False
    boxes = [c.checked for c in cell.controls if c.checked is not None]
    return any(boxes) if boxes else is_ticked(cell.text)
