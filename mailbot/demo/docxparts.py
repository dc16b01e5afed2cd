"""Low-level OOXML pieces of a Word form: content controls, value runs, tick glyphs.

python-docx has no API for content controls (`w:sdt`) or Word 2010 tick boxes
(`w14:checkbox`), and those are exactly what partners' forms are made of. Building them here,
element by element, keeps the layout code in `formwriter` readable and lets the writer
produce the same XML Word does: the form reader is tested against these documents, so they
must look like the ones that arrive in the mailbox, down to the placeholder runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.table import _Cell

from mailbot import formdef

LABEL_FILL = "F2F2F2"
PLACEHOLDER_STYLE = "PlaceholderText"
PLACEHOLDER_COLOUR = "808080"
TICK_FONT = "MS Gothic"
CHECKED_CODE = "2612"  # ☒, as Word stores it in w14:checkedState
UNCHECKED_CODE = "2610"  # ☐
DATE_FORMAT = "dd/MM/yyyy"
DATE_LOCALE = "en-GB"


def element(tag: str, attrs: Mapping[str, str] | None = None) -> BaseOxmlElement:
    """A loose element `tag` ("w:sdt") with prefixed attributes ({"w:val": "x"})."""
    el: BaseOxmlElement = OxmlElement(tag, {qn(k): v for k, v in (attrs or {}).items()})
    return el


def sub(
    parent: BaseOxmlElement, tag: str, attrs: Mapping[str, str] | None = None
) -> BaseOxmlElement:
    """Append a new child element to `parent` and return it."""
    child = element(tag, attrs)
    parent.append(child)
    return child


def _text(parent: BaseOxmlElement, text: str, *, preserve: bool) -> None:
    t = sub(parent, "w:t", {"xml:space": "preserve"} if preserve else None)
    if text:
        t.text = text


def value_run(text: str) -> BaseOxmlElement:
    """A plain run holding `text`, each newline a `<w:br/>` as Word writes a multi-line value.

    Typed values always carry `xml:space="preserve"`, as Word does, so leading spaces survive.
    """
    run = element("w:r")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for i, line in enumerate(lines):
        if i:
            sub(run, "w:br")
        _text(run, line, preserve=True)
    return run


def glyph_run(text: str) -> BaseOxmlElement:
    """A run in the tick-box font: a ☒/☐ glyph, or a mark typed where a tick box was."""
    run = element("w:r")
    rpr = sub(run, "w:rPr")
    sub(rpr, "w:rFonts", {"w:ascii": TICK_FONT, "w:eastAsia": TICK_FONT, "w:hAnsi": TICK_FONT})
    _text(run, text, preserve=False)
    return run


def placeholder_run(text: str) -> BaseOxmlElement:
    """The grey placeholder run Word shows in an empty control."""
    run = element("w:r")
    rpr = sub(run, "w:rPr")
    sub(rpr, "w:rStyle", {"w:val": PLACEHOLDER_STYLE})
    sub(rpr, "w:color", {"w:val": PLACEHOLDER_COLOUR})
    _text(run, text, preserve=False)
    return run


def _control(
    tag: str, content: BaseOxmlElement, *, empty: bool
) -> tuple[BaseOxmlElement, BaseOxmlElement]:
    """An sdt named `tag` (tag and alias both, as the official form has) around `content`.

    Returns the sdt and its sdtPr so the caller can add the control's type element.
    """
    sdt = element("w:sdt")
    props = sub(sdt, "w:sdtPr")
    sub(props, "w:alias", {"w:val": tag})
    sub(props, "w:tag", {"w:val": tag})
    if empty:
        sub(props, "w:showingPlcHdr")
    sdt_content = sub(sdt, "w:sdtContent")
    sdt_content.append(content)
    return sdt, props


def _content(value: str, placeholder: str) -> BaseOxmlElement:
    return value_run(value) if value else placeholder_run(placeholder)


def text_control(tag: str, value: str, *, multiline: bool = False) -> BaseOxmlElement:
    """A plain-text control; multi-line ones allow the line breaks a value may hold."""
    sdt, props = _control(tag, _content(value, formdef.TEXT_PLACEHOLDER), empty=not value)
    sub(props, "w:text", {"w:multiLine": "1"} if multiline else None)
    return sdt


def _full_date(value: str) -> str | None:
    """Word's ISO `w:fullDate` for a dd/mm/yyyy value; None for anything else typed."""
    try:
        parsed = datetime.strptime(value.strip(), "%d/%m/%Y")
    except ValueError:
        return None
    return parsed.strftime("%Y-%m-%dT00:00:00Z")


def date_control(tag: str, value: str) -> BaseOxmlElement:
    """A date picker; Word records the picked date as `w:fullDate` beside the shown text."""
    sdt, props = _control(tag, _content(value, formdef.DATE_PLACEHOLDER), empty=not value)
    full = _full_date(value) if value else None
    date = sub(props, "w:date", {"w:fullDate": full} if full else None)
    sub(date, "w:dateFormat", {"w:val": DATE_FORMAT})
    sub(date, "w:lid", {"w:val": DATE_LOCALE})
    return sdt


def dropdown_control(tag: str, value: str, choices: Sequence[str]) -> BaseOxmlElement:
    """A drop-down list whose first item is Word's "Choose an item." (meaning empty)."""
    sdt, props = _control(tag, _content(value, formdef.CHOICE_PLACEHOLDER), empty=not value)
    items = sub(props, "w:dropDownList")
    sub(items, "w:listItem", {"w:displayText": formdef.CHOICE_PLACEHOLDER, "w:value": ""})
    for choice in choices:
        sub(items, "w:listItem", {"w:displayText": choice, "w:value": choice})
    return sdt


def checkbox_control(tag: str, checked: bool) -> BaseOxmlElement:
    """A Word 2010 tick box (`w14:checkbox`) showing ☒ or ☐ in MS Gothic."""
    glyph = formdef.CHECKED_GLYPH if checked else formdef.UNCHECKED_GLYPH
    sdt, props = _control(tag, glyph_run(glyph), empty=False)
    box = sub(props, "w14:checkbox")
    sub(box, "w14:checked", {"w14:val": "1" if checked else "0"})
    sub(box, "w14:checkedState", {"w14:val": CHECKED_CODE, "w14:font": TICK_FONT})
    sub(box, "w14:uncheckedState", {"w14:val": UNCHECKED_CODE, "w14:font": TICK_FONT})
    return sdt


def shade(cell: _Cell, fill: str = LABEL_FILL) -> None:
    """Give a label or header cell the form's light grey background."""
    tc_pr = cell._tc.get_or_add_tcPr()
    tc_pr.append(element("w:shd", {"w:val": "clear", "w:color": "auto", "w:fill": fill}))


def put(cell: _Cell, content: BaseOxmlElement) -> None:
    """Place a run or control in the cell's (first, empty) paragraph."""
    cell.paragraphs[0]._p.append(content)
