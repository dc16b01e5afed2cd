"""Read a filled-in West Midlands MARAC referral form into `FormData`, or say why not.

This is the one stage between a (decrypted, zip-checked) Word attachment and the checks. It
first decides whether the document is the official form at all, as REFERRAL-FORM.md says it
is recognised: the core properties, or, when a re-save lost those, the page header and the
title. Anything else (a letter, the national form, an old local form, the blank template) is
`WrongForm`, so the referrer is told to use the right form rather than to fill in fields.
Then every field is read however the partner filled it (`locate`), and returned exactly as
typed: dates, "not known" words and choices are judged by validation, not here, so that one
place decides what is acceptable and this one only reports what is there.

Partners paste a covering letter (or a whole email thread) above the form. What comes before
the form's title is not the form: it is set aside before the document is read, so a long
preamble neither hides the title ("first heading") nor spends the bounded reading of
`docxtext` (20,000 paragraphs, 5,000 rows) before the form begins. Finding the title is one
pass over at most `MAX_PREAMBLE_PARAGRAPHS` paragraphs, reading only their text runs; a
document with more paragraphs than that and no title among them is too long to look at
(`Unreadable`, which the referrer is told is too large), never taken for the wrong form.

The result is a value, never an exception: a package python-docx cannot open is `Unreadable`.
Details never quote the document, because they are logged and shown to administrators.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import BinaryIO

from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml.parser import parse_xml
from docx.package import Package
from docx.parts.document import DocumentPart
from lxml import etree  # type: ignore[import-untyped]

from mailbot import formdef
from mailbot.ingest.document.media import without_media
from mailbot.ingest.form.docxtext import BODY, P, scan, scan_text
from mailbot.ingest.form.layout import Layout
from mailbot.ingest.form.locate import SECTION_KEYS, read_fields
from mailbot.ingest.form.tables import read_children, read_dash
from mailbot.ingest.form.typed import normalise
from mailbot.models import FormData, Frozen

NOT_WORD = "not a Word document package"
CANNOT_OPEN = "the Word package cannot be opened (corrupt or truncated)"
NOT_THE_FORM = "not the West Midlands MARAC referral form"
OLD_VERSION = "an old or unsupported version of the referral form"
NO_FIELDS = "the referral form's fields were not found in the document"
BLANK = "blank template"
TOO_LONG = "the form's title is not within the paragraphs looked at: the document is too long"

# Paragraphs looked at for the form's title: a covering letter has tens, the form about 300.
MAX_PREAMBLE_PARAGRAPHS = 100_000
_TEXT = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}t"

_TITLE = normalise(formdef.FORM_TITLE)
_TITLE_WITHIN = 3  # paragraphs
_VERSION = re.compile(re.escape(formdef.FORM_CODE) + r"\s*(v\d+(?:\.\d+)*)", re.IGNORECASE)
_HYPHENS = re.compile("[\u2010-\u2015\u2212]")
# A Word template (.dotx) or macro-free document saved as one: python-docx leaves it unparsed.
_TEMPLATE_TYPES = frozenset(
    {"application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml"}
)


class WrongForm(Frozen):
    """The document is readable but is not a filled-in official referral form."""

    detail: str  # why, in fixed words: never document text


class Unreadable(Frozen):
    """The package cannot be opened as a Word document (corrupt, truncated, not a zip)."""

    detail: str


@dataclass(frozen=True)
class _Opened:
    body: etree._Element
    title: str
    subject: str
    headers: tuple[etree._Element, ...]


def read_form(docx: bytes | BinaryIO) -> FormData | WrongForm | Unreadable:
    """Read a referral form from .docx bytes (or a seekable file of them, such as a decrypted
    package) that have passed the zip-safety check.

    Returns `FormData` with an entry for every field of `formdef.VALUE_FIELDS` ('' when
    empty), every tick box and DASH questions 1-24; `WrongForm` when the document is not the
    official form in an accepted version, or is the blank template; `Unreadable` when the
    package cannot be opened. Raises nothing for any input: every python-docx, lxml and
    zipfile error on opening is caught and becomes `Unreadable`.
    """
    opened = _open(docx)
    if not isinstance(opened, _Opened):
        return opened
    if not _drop_preamble(opened.body):
        return Unreadable(detail=TOO_LONG)
    layout = scan(opened.body, SECTION_KEYS)
    version = _version(opened, layout)
    if version is None:
        return WrongForm(detail=NOT_THE_FORM)
    if version not in formdef.ACCEPTED_VERSIONS:
        return WrongForm(detail=OLD_VERSION)
    return _assemble(layout, version)


def _open(data: bytes | BinaryIO) -> _Opened | WrongForm | Unreadable:
    try:
        package = Package.open(without_media(io.BytesIO(data) if isinstance(data, bytes) else data))
        part = package.main_document_part
        if isinstance(part, DocumentPart):
            root = part.element
        elif part.content_type in _TEMPLATE_TYPES:
            root = parse_xml(part.blob)
        else:
            return WrongForm(detail=NOT_WORD)
        properties = package.core_properties
        title, subject = properties.title or "", properties.subject or ""
        headers = tuple(
            rel.target_part.element
            for rel in part.rels.values()
            if rel.reltype == RT.HEADER
            and not rel.is_external
            and hasattr(rel.target_part, "element")
        )
    # A corrupt package fails inside python-docx, zipfile or lxml with almost any exception
    # type (KeyError, ValueError, BadZipFile, XMLSyntaxError, zlib.error, ...).
    except Exception:
        return Unreadable(detail=CANNOT_OPEN)
    body = root.find(BODY)
    return _Opened(body if body is not None else etree.Element(BODY), title, subject, headers)


def _drop_preamble(body: etree._Element) -> bool:
    """Remove from `body` the blocks before the one holding the form's title, when the title
    is there. False when no title was found in the first `MAX_PREAMBLE_PARAGRAPHS`
    paragraphs and more follow (the document was not looked at to its end)."""
    for count, paragraph in enumerate(body.iter(P)):
        if count >= MAX_PREAMBLE_PARAGRAPHS:
            return False
        text = "".join(paragraph.itertext(_TEXT, with_tail=False))
        if len(text) < 4 * len(_TITLE) and normalise(text) == _TITLE:
            block = paragraph
            while block.getparent() is not body:  # a title inside a table: the whole table
                block = block.getparent()
            del body[: body.index(block)]
            return True
    return True


def _version(opened: _Opened, layout: Layout) -> str | None:
    """The form version the document declares, or None when it is not the form at all."""
    if normalise(opened.title) == _TITLE:
        declared = _VERSION.search(_HYPHENS.sub("-", opened.subject))
        if declared:
            return declared.group(1).lower()
    if not _starts_with_title(layout):
        return None
    for header in opened.headers:
        declared = _VERSION.search(_HYPHENS.sub("-", scan_text(header)))
        if declared:
            return declared.group(1).lower()
    return None


def _starts_with_title(layout: Layout) -> bool:
    """Whether the form title opens the document: the first heading, or one of the first few
    paragraphs (a partner may type a marking such as OFFICIAL-SENSITIVE above it)."""
    texts = (p for p in layout.paragraphs if p.text.strip())
    opening = [p for _, p in zip(range(_TITLE_WITHIN), texts, strict=False)]
    heading = next((p for p in layout.paragraphs if p.heading and p.text.strip()), None)
    candidates = [*opening, *([heading] if heading is not None else [])]
    return any(normalise(p.text) == _TITLE for p in candidates)


def _assemble(layout: Layout, version: str) -> FormData | WrongForm:
    values, ticks, found = read_fields(layout)
    if found * 2 < len(values) + len(ticks):
        return WrongForm(detail=NO_FIELDS)
    dash, comments = read_dash(layout)
    children = read_children(layout)
    filled = (
        any(values.values()) or any(ticks.values()) or any(dash.values()) or comments or children
    )
    if not filled:
        return WrongForm(detail=BLANK)
    return FormData(
        version=version,
        values=values,
        ticks=ticks,
        dash=dash,
        dash_comments=comments,
        children=children,
    )
