"""Turn a Word body into what a person sees: paragraphs, table rows of cell texts, controls.

Partners' forms arrive filled through content controls, with the controls stripped, with tick
boxes replaced by typed marks, pasted into layout tables, with rows added and cells merged.
The form reader should not care which: it wants each cell's visible text, the nearest
section heading above it and the content controls by tag. This module makes that picture
(a `layout.Layout`) in one pass over the XML (python-docx's `table.cell()` is far too slow
for every referral), with every loop bounded so a hostile document costs at most a few
thousand rows of work.

Nothing here knows the referral form's fields: `locate` and `formtables` do the matching.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from lxml import etree  # type: ignore[import-untyped]

from mailbot import formdef
from mailbot.ingest.form.layout import Cell, Control, Layout, Paragraph, Row
from mailbot.ingest.form.typed import is_ticked, normalise, symbol_mark

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_W14 = "{http://schemas.microsoft.com/office/word/2010/wordml}"
_MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
BODY, P, TBL, TR, TC = _W + "body", _W + "p", _W + "tbl", _W + "tr", _W + "tc"
SDT = _W + "sdt"
_SDT_PR, _SDT_CONTENT = _W + "sdtPr", _W + "sdtContent"
_T, _TAB, _PTAB, _SYM, _FLD_CHAR = _W + "t", _W + "tab", _W + "ptab", _W + "sym", _W + "fldChar"
_BREAKS = frozenset({_W + "br", _W + "cr"})
_HYPHEN = _W + "noBreakHyphen"
_VAL, _W14_VAL = _W + "val", _W14 + "val"
# Property elements hold no visible text (a `w:tab` inside `w:pPr/w:tabs` is a tab stop),
# tracked deletions and moves-away are not what the partner left, and mc:Fallback repeats
# what mc:Choice shows.
_SKIP = frozenset(
    _W + name
    for name in (
        "pPr",
        "rPr",
        "sdtPr",
        "tblPr",
        "trPr",
        "tcPr",
        "sectPr",
        "tblGrid",
        "del",
        "moveFrom",
    )
) | {_MC + "Fallback"}
_DELETED_ROW = f"{_W}trPr/{_W}del"

MAX_ROWS = 5000  # the official form has under 100 rows
MAX_ROWS_PER_TABLE = 600  # room for the 500 children rows the reader looks at
MAX_CELLS = 64
MAX_PARAGRAPHS = 20000
MAX_CONTROLS = 20000
_SECTION = re.compile(r"section (\d+[a-z]?)\b")


def scan(body: etree._Element, section_keys: frozenset[str]) -> Layout:
    """The layout of a `w:body` (or any block container). Never raises on odd markup."""
    scanner = _Scanner(section_keys)
    scanner.blocks(body, in_table=False)
    return scanner.layout


def scan_text(element: etree._Element) -> str:
    """All visible text of a part such as a page header, paragraphs joined by "\n"."""
    layout = scan(element, frozenset())
    return "\n".join(p.text for p in layout.paragraphs)


class _Scanner:
    def __init__(self, section_keys: frozenset[str]) -> None:
        self.layout = Layout()
        self.section_keys = section_keys
        self.section: str | None = None
        self.tables = 0
        self.controls = 0
        self.cell_controls: list[list[Control]] = []

    def blocks(self, parent: etree._Element, *, in_table: bool) -> list[str]:
        """Walk block content; return the text of its paragraphs, in order."""
        texts: list[str] = []
        for child in parent:
            tag = child.tag
            if tag == P:
                if len(self.layout.paragraphs) < MAX_PARAGRAPHS:
                    texts.append(self.paragraph(child, in_table=in_table))
            elif tag == TBL:
                self.table(child)
            elif tag == SDT:
                inner = self.blocks(_content(child), in_table=in_table)
                shown = self.control(child, "\n".join(inner))
                texts.extend(inner if shown else [])
            elif tag not in _SKIP and isinstance(tag, str):
                texts.extend(self.blocks(child, in_table=in_table))  # customXml, ins, ...
        return texts

    def paragraph(self, p: etree._Element, *, in_table: bool) -> str:
        pieces: list[str] = []
        self.inline(p, pieces)
        text = "".join(pieces)
        style = p.find(f"{_W}pPr/{_W}pStyle")
        style_id = (style.get(_VAL) or "").casefold() if style is not None else ""
        heading = style_id.startswith(("heading", "title"))
        if heading or not in_table:
            key = self._section_key(text)
            if key is not None:
                self.section = key
        self.layout.paragraphs.append(Paragraph(text, self.section, in_table, heading))
        return text

    def _section_key(self, text: str) -> str | None:
        if len(text) > 150:
            return None
        match = _SECTION.match(normalise(text))
        key = match.group(1) if match else None
        return key if key in self.section_keys else None

    def inline(self, parent: etree._Element, out: list[str]) -> None:
        for child in parent:
            tag = child.tag
            if tag == _T:
                out.append(child.text or "")
            elif tag in _BREAKS:
                out.append("\n")
            elif tag in (_TAB, _PTAB):
                out.append("\t")
            elif tag == _HYPHEN:
                out.append("-")
            elif tag == _SYM:
                out.append(_symbol(child))
            elif tag == _FLD_CHAR:
                out.append(_legacy_checkbox(child))
            elif tag == SDT:
                pieces: list[str] = []
                self.inline(_content(child), pieces)
                text = "".join(pieces)
                out.append(text if self.control(child, text) else "")
            elif tag == P:  # a text box's paragraphs inside a run
                self.inline(child, out)
                out.append("\n")
            elif tag not in _SKIP and isinstance(tag, str):
                self.inline(child, out)

    def control(self, sdt: etree._Element, text: str) -> bool:
        """Record a control; return False when it shows its placeholder (so reads empty)."""
        props = sdt.find(_SDT_PR)
        if props is None:
            return True
        shown = not _showing_placeholder(props) and text.strip() not in formdef.PLACEHOLDERS
        name = props.find(_W + "tag")
        if name is None or not (name.get(_VAL) or "").strip():
            name = props.find(_W + "alias")
        tag = (name.get(_VAL) or "").strip() if name is not None else ""
        if self.controls >= MAX_CONTROLS:
            return shown
        self.controls += 1
        control = Control(tag, text if shown else "", _checkbox(props, text))
        if tag:
            self.layout.controls.setdefault(tag, []).append(control)
        if self.cell_controls:
            self.cell_controls[-1].append(control)
        return shown

    def table(self, tbl: etree._Element) -> None:
        self.tables += 1
        number = self.tables
        for count, tr in enumerate(_children(tbl, TR)):
            if count >= MAX_ROWS_PER_TABLE or len(self.layout.rows) >= MAX_ROWS:
                break
            if tr.find(_DELETED_ROW) is None:  # a row deleted with track changes on
                self.row(tr, number)

    def row(self, tr: etree._Element, table: int) -> None:
        section = self.section
        cells: list[Cell] = []
        col = _int_attr(tr.find(f"{_W}trPr/{_W}gridBefore"), default=0, low=0)
        for tc in _children(tr, TC):
            if len(cells) >= MAX_CELLS:
                break
            span = _int_attr(tc.find(f"{_W}tcPr/{_W}gridSpan"), default=1, low=1)
            self.cell_controls.append([])
            texts = self.blocks(tc, in_table=True)
            cells.append(Cell("\n".join(texts), col, span, tuple(self.cell_controls.pop())))
            col += span
        self.layout.rows.append(Row(tuple(cells), table, section))


def _children(parent: etree._Element, tag: str) -> Iterator[etree._Element]:
    """Direct children `tag`, looking through row/cell-level controls and customXml."""
    for child in parent:
        if child.tag == tag:
            yield child
        elif child.tag == SDT:
            yield from _children(_content(child), tag)
        elif child.tag == _W + "customXml":
            yield from _children(child, tag)


def _content(sdt: etree._Element) -> etree._Element:
    content = sdt.find(_SDT_CONTENT)
    return content if content is not None else etree.Element(_SDT_CONTENT)


def _showing_placeholder(props: etree._Element) -> bool:
    flag = props.find(_W + "showingPlcHdr")
    return flag is not None and (flag.get(_VAL) or "1").lower() not in ("0", "false", "off")


def _on(element: etree._Element | None, attr: str) -> bool:
    """An OOXML on/off element: present means on unless its value says otherwise."""
    return element is not None and (element.get(attr) or "1").lower() in ("1", "true", "on")


def _checkbox(props: etree._Element, text: str) -> bool | None:
    """A tick box's state, trusting the visible glyph over the `w14:checked` flag."""
    box = props.find(_W14 + "checkbox")
    if box is None:
        return None
    shown = text.strip()
    if shown:
        if shown == _state_glyph(box, "checkedState"):
            return True
        if shown == _state_glyph(box, "uncheckedState"):
            return False
        if is_ticked(shown):
            return True
        if shown.casefold() in formdef.UNTICKED_MARKS:
            return False
    return _on(box.find(_W14 + "checked"), _W14_VAL)


def _state_glyph(box: etree._Element, name: str) -> str | None:
    state = box.find(_W14 + name)
    try:
        return chr(int(state.get(_W14_VAL) or "", 16)) if state is not None else None
    except (ValueError, OverflowError):
        return None


def _symbol(sym: etree._Element) -> str:
    try:
        code = int(sym.get(_W + "char") or "", 16)
    except ValueError:
        return ""
    return symbol_mark(sym.get(_W + "font") or "", code)


def _legacy_checkbox(fld_char: etree._Element) -> str:
    """A Word 97 FORMCHECKBOX field shows no text: its state is in `w:ffData`."""
    box = fld_char.find(f"{_W}ffData/{_W}checkBox")
    if box is None:
        return ""
    checked = box.find(_W + "checked")
    state = _on(checked, _VAL) if checked is not None else _on(box.find(_W + "default"), _VAL)
    return formdef.CHECKED_GLYPH if state else formdef.UNCHECKED_GLYPH


def _int_attr(element: etree._Element | None, *, default: int, low: int) -> int:
    if element is None:
        return default
    try:
        return max(low, min(int(element.get(_VAL) or ""), MAX_CELLS))
    except ValueError:
        return default
