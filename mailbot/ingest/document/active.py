"""Find active content in a Word package: what makes Word run or fetch something on opening.

Macros and ActiveX controls are the well-known case (`macro_content`). The rest need no macro
and serve the same attacks (`active_content`): anything Word fetches from elsewhere when the
document opens hands a web server the fact and time of opening, and a file share the user's
Windows credentials (the hash cracks offline). So: an attached template, a frame or
sub-document, a linked picture or any other external relationship but a hyperlink; fields
that fetch (INCLUDEPICTURE, INCLUDETEXT, LINK and their old names, DATABASE) or run programs
(DDE), also when another field computes their name; OLE objects, embedded or linked (they
carry executables and exploits); and an altChunk, a part in another format (RTF, HTML, MHT)
that Word converts on opening, carrying any of these in its own syntax, or a whole Word
package, which cannot be checked here. A hyperlink is not active content: referral forms hold
web and email links, and Word follows one only when it is clicked. Nor is the template a form
was made from when it is a path on the author's own disk, as Word records it.

`ooxml` asks here after its own checks on the raw package, in rising cost: part names
(`in_names`), declared content types (`in_content_types`), then the markup of the parts
whose bytes mention a field, an object or an external target (`HINTS`, looked for while
`ooxml` inflates every part anyway), streamed through expat with bounded memory (`in_part`),
and last the parts Word would import as altChunks (`is_chunk`, `in_chunk`: none in an
ordinary referral). Each answers a reason code and a one-line detail, or None.
"""

from __future__ import annotations

import itertools
import re
import zipfile
from xml.parsers import expat

from lxml import etree  # type: ignore[import-untyped]

from mailbot.codes import Reason

MACRO = Reason.MACRO_CONTENT
ACTIVE = Reason.ACTIVE_CONTENT
UNREADABLE = Reason.UNREADABLE_DOCUMENT

_MACRO_NAMES = ("vbaproject.bin", "vbadata.xml")
# The only external relationships Word does not follow on opening (transitional, strict).
_HYPERLINKS = frozenset(
    {
        "http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink",
        "http://purl.oclc.org/ooxml/officeDocument/relationships/hyperlink",
    }
)
_KINDS = {  # how the detail names the usual external relationships; any other is "content"
    "attachedtemplate": "remote template",
    "oleobject": "linked OLE object",
    "frame": "remote frame",
    "subdocument": "remote sub-document",
    "image": "linked image",
}
# Word records the template a document was made from as an external relationship to a path
# on the author's own disk (file:///C:/Users/.../Templates/x.dotx): nothing to fetch on
# another computer, and common in partners' forms. A web address or a share is the attack.
_LOCAL_PATH = re.compile(r"(?:file:/{2,3})?[a-z]:[\\/]", re.IGNORECASE)
_DDE_FIELDS = frozenset({"DDE", "DDEAUTO"})
# Fields that read a file or a database when Word shows or updates them (INCLUDE and IMPORT
# are the old names of INCLUDETEXT and INCLUDEPICTURE, still understood).
_FETCHING_FIELDS = frozenset(
    {"INCLUDEPICTURE", "INCLUDETEXT", "INCLUDE", "IMPORT", "LINK", "DATABASE"}
)
_FIELD_NAME = re.compile(r"""[\s"']*([A-Za-z]+)""")  # Word reads the name up to a non-letter
_COMPUTED = "field whose name another field computes"
_WORD_OBJECTS = frozenset({"object", "objectEmbed", "objectLink"})  # w:object and Strict's
_INSTRUCTION_CHARS = 64  # of a field instruction: its first word names the field
_MAX_FIELD_NESTING = 64
_CHUNK = 64 * 1024
# Element and attribute names (never written as character references) that the markup
# checks look for, lower-cased, in every encoding `ooxml` lets through. An element name
# follows "<" or a prefix's ":", which keeps "objects" in a form's own wording (the DASH asks
# about weapons or objects) from sending every referral through expat.
HINT_WORDS = ("instrtext", "fldsimple", "<object", ":object", "oleobject", "targetmode")
HINTS = tuple(
    word.encode(codec)
    for word in HINT_WORDS
    for codec in ("ascii", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
)
MAX_SCAN_BYTES = 64 * 1024 * 1024  # of mentioning parts per package: ~3 s through expat

# Content types Word imports as an altChunk (w:altChunk, an aFChunk relationship), lower case.
_RTF_TYPES = frozenset({"application/rtf", "text/rtf", "application/x-rtf", "text/richtext"})
_MIME_TYPES = frozenset({"message/rfc822", "multipart/related", "application/x-mimearchive"})
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_PACKAGE_TYPES = frozenset(
    {  # a whole Word document, imported with all it links to
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.template",
        "application/vnd.ms-word.document.macroenabled.12",
        "application/vnd.ms-word.template.macroenabledtemplate",
    }
)
CHUNK_TYPES = _RTF_TYPES | _MIME_TYPES | _HTML_TYPES | _PACKAGE_TYPES
_MIME_STARTS = (b"mime-version:", b"content-type:", b"from:")
# Of all altChunks in a package: each is read whole by the HTML and MIME parsers, and token
# by token in RTF (4 MB of the costliest RTF: ~2 s). A converted form is far smaller.
MAX_CHUNK_BYTES = 4 * 1024 * 1024
_MAX_RTF_DEPTH = 1000  # groups inside groups
# Encodings in which markup is written in ASCII bytes (UTF-16 is decoded here first): in any
# other (UTF-7, EBCDIC, ISO-2022) the HTML parser and Word could read different markup.
_ASCII_CHARSETS = re.compile(
    r"(?:utf-?8|us-ascii|ascii|iso[-_]?8859-\d{1,2}|(?:windows|cp)-?125\d|latin-?1"
    r"|utf-?16(?:le|be)?|unicode)"
)
_CHARSET = re.compile(rb"""charset\s*=\s*["']?\s*([\w.:-]{0,40})""")
_ABSOLUTE = re.compile(r"(?:[a-z][a-z0-9+.-]*:|[\\/]{2})")  # a scheme, a drive or a share
_EMBEDDED_SCHEMES = ("cid:", "mid:", "data:", "#")  # inside the chunk: nothing is fetched
_URL = re.compile(r"""(?:url\(|@import)\s*["']?\s*([^"')\s;]*)""")

Found = tuple[Reason, str] | None


def in_names(infos: list[zipfile.ZipInfo]) -> Found:
    """Macro projects, ActiveX controls and OLE objects, from part names alone."""
    names = [info.filename.lower() for info in infos]
    for name in names:
        basename = name.rpartition("/")[2]
        if basename in _MACRO_NAMES:
            return MACRO, "VBA project part"
        if "/activex/" in f"/{name}" or basename.startswith("activex"):
            return MACRO, "ActiveX control part"
    for name in names:
        basename = name.rpartition("/")[2]
        if basename.startswith("oleobject") or (
            "/embeddings/" in f"/{name}" and basename.endswith(".bin")
        ):
            return ACTIVE, "embedded OLE object part"
    return None


def in_content_types(content_types: dict[str, str]) -> Found:
    """Macro, ActiveX and OLE object types declared in [Content_Types].xml (lower case)."""
    for content_type in content_types.values():
        if any(word in content_type for word in ("macroenabled", "vbaproject", "vbadata")):
            return MACRO, "macro-enabled content type"
        if "activex" in content_type:
            return MACRO, "ActiveX content type"
    if any("oleobject" in content_type for content_type in content_types.values()):
        return ACTIVE, "OLE object content type"
    return None


def has_hint(lowered: bytes, hints: tuple[bytes, ...] = HINTS) -> bool:
    """Whether these lower-cased bytes of a part mention what `in_part` looks for (`hints`:
    those of the part's own encoding, when `ooxml` knows it)."""
    return any(hint in lowered for hint in hints)


def in_part(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Found:
    """External relationships other than hyperlinks, fetching and DDE fields and OLE objects
    in one part's markup. The part must have passed `ooxml`'s checks (size, CRC, no DTD), so
    expat expands nothing; markup expat cannot parse is left for the form reader to refuse."""
    scanner = _Scanner()
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler = scanner.start
    parser.EndElementHandler = scanner.end
    parser.CharacterDataHandler = scanner.text
    try:
        with archive.open(info) as stream:
            for _ in range(info.file_size // _CHUNK + 2):  # bounded even if the stream lies
                chunk = stream.read(_CHUNK)
                parser.Parse(chunk, not chunk)
                if not chunk or scanner.found:
                    break
    except expat.ExpatError:
        pass
    scanner.end_instruction()
    return (ACTIVE, scanner.found) if scanner.found else None


def field_found(instruction: str) -> str:
    """The detail for a field instruction that fetches or runs something, else ''."""
    match = _FIELD_NAME.match(instruction)
    name = match.group(1).upper() if match else ""
    if name in _DDE_FIELDS:
        return "DDE field"
    return f"{name} field" if name in _FETCHING_FIELDS else ""


class _Fields:
    """Nesting of fields (begin, separate, end), for the markup and HTML scanners. A field
    nested where its parent's name should be computes that name (QUOTE 68 68 69 spells DDE),
    so what the parent does is known only when Word runs it: that is refused too."""

    def __init__(self) -> None:
        self.naming: list[bool] = []  # per open field: is its name still to come?
        self.found = ""

    def field_begin(self) -> None:
        if self.naming and self.naming[-1]:
            self.found = self.found or _COMPUTED
        if len(self.naming) < _MAX_FIELD_NESTING:
            self.naming.append(True)

    def field_named(self) -> None:  # its instruction text, or its result, has begun
        if self.naming:
            self.naming[-1] = False

    def field_end(self) -> None:
        if self.naming:
            self.naming.pop()


class _Scanner(_Fields):
    """expat handlers: remember the first active content seen, as a one-line detail."""

    def __init__(self) -> None:
        super().__init__()
        self.in_instruction = False
        self.instruction = ""  # the current field's instruction, leading spaces dropped

    def start(self, name: str, attributes: dict[str, str]) -> None:
        namespace, _, local = name.rpartition(" ")
        if local == "Relationship":
            self.relationship(attributes)
        elif local == "instrText":
            self.in_instruction = True
        elif local == "fldChar":  # begin, separate or end: an instruction is complete
            self.end_instruction()
            kind = _attribute(attributes, "fldCharType")
            if kind == "begin":
                self.field_begin()
            elif kind == "separate":
                self.field_named()
            elif kind == "end":
                self.field_end()
        elif local == "fldSimple":
            self.end_instruction()
            self.instruction = _attribute(attributes, "instr").lstrip()
            self.end_instruction()
        elif local == "OLEObject" or (local in _WORD_OBJECTS and "wordprocessingml" in namespace):
            self.found = self.found or "OLE object in the document"

    def end(self, name: str) -> None:
        if name.rpartition(" ")[2] == "instrText":
            self.in_instruction = False

    def text(self, data: str) -> None:
        if self.in_instruction:  # Word joins an instruction split over runs
            self.instruction = (self.instruction + data).lstrip()[:_INSTRUCTION_CHARS]
            if self.instruction:
                self.field_named()

    def end_instruction(self) -> None:
        self.found = self.found or field_found(self.instruction)
        self.instruction = ""

    def relationship(self, attributes: dict[str, str]) -> None:
        external = attributes.get("TargetMode", "").strip().lower() == "external"
        kind_uri = attributes.get("Type", "").strip()
        if not external or kind_uri in _HYPERLINKS:
            return
        kind = kind_uri.rstrip("/").rpartition("/")[2].lower()
        if kind == "attachedtemplate" and _LOCAL_PATH.match(attributes.get("Target", "").strip()):
            return
        label = _KINDS.get(kind, "linked content")
        self.found = self.found or f"{label} (external {kind} relationship)"


def _attribute(attributes: dict[str, str], local: str) -> str:
    return next((v for k, v in attributes.items() if k.rpartition(" ")[2] == local), "")


# -- altChunks: parts in another format, converted by Word on opening ------------------------


def is_chunk(content_type: str, head: bytes) -> bool:
    """Whether Word may import this part as an altChunk: by its declared content type, or by
    its first bytes when they are RTF, a MIME archive or HTML (whatever the declared type)."""
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return (
        content_type.partition(";")[0].strip() in CHUNK_TYPES
        or start.startswith((b"{\\rt", *_MIME_STARTS))
        or b"<html" in start
    )


def in_chunk(archive: zipfile.ZipFile, info: zipfile.ZipInfo, content_type: str) -> Found:
    """What an altChunk part would make Word fetch or run, read in its own syntax. A Word
    package is refused whole: these checks do not open a package inside a package."""
    kind = content_type.partition(";")[0].strip()
    if kind in _PACKAGE_TYPES:
        return ACTIVE, "Word document imported whole (altChunk), not checked inside"
    too_large = (UNREADABLE, "imported part (altChunk) too large to check")
    if info.file_size > MAX_CHUNK_BYTES:
        return too_large
    with archive.open(info) as stream:
        data = stream.read(MAX_CHUNK_BYTES + 1)
    if len(data) > MAX_CHUNK_BYTES:
        return too_large
    start = data[:256].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    try:
        if start.startswith(b"{\\rt"):
            syntax, found = "RTF", _in_rtf(data)
        elif kind in _MIME_TYPES or start.startswith(_MIME_STARTS):
            syntax, found = "MHT", _in_mime(data)
        else:
            syntax, found = "HTML", _in_html(data)
    except Exception as error:  # a parser failing on hostile input: nothing was checked
        return UNREADABLE, f"imported part (altChunk) not checkable ({type(error).__name__})"
    if found is None or found[0] != ACTIVE:
        return found
    return ACTIVE, f"{found[1]} in an imported {syntax} part (altChunk)"


# RTF: control words (with their parameter and the space that ends them), hex-escaped and
# other escaped characters, braces, and runs of text (a picture's hex is one run).
_RTF_TOKEN = re.compile(
    rb"\\([a-z]{1,32})(-?\d{1,10})? ?|\\'([0-9a-fA-F]{2})|\\(.)|([{}])|([^\\{}]+)", re.DOTALL
)
_RTF_SPACES = frozenset(
    {"tab", "par", "line", "sect", "page", "cell", "row", "emspace", "enspace", "qmspace"}
)
_RTF_DESTINATIONS = frozenset({"fldinst", "template", "sn"})
_RTF_LINKED_OBJECTS = frozenset({"objlink", "objautlink"})
_RTF_TEXT_CHARS = 512  # of a destination's text: a field name, a template path, a name


def _in_rtf(data: bytes) -> Found:
    scanner = _Rtf()
    position, end = 0, len(data)
    while position < end and not scanner.found:
        if scanner.skip_bytes:  # \binN: N bytes of binary data, not RTF
            position, scanner.skip_bytes = position + scanner.skip_bytes, 0
            continue
        match = _RTF_TOKEN.match(data, position)
        if match is None:  # a lone backslash at the very end
            break
        scanner.token(match)
        position = match.end()
    while (scanner.stack or scanner.owner) and not scanner.found:  # Word closes what is open
        scanner.close_group()
    if scanner.too_deep:
        return UNREADABLE, "imported RTF part (altChunk) nested too deeply to check"
    if scanner.objects and not scanner.found:
        scanner.found = "OLE object"
    return (ACTIVE, scanner.found) if scanner.found else None


class _Rtf:
    """RTF tokens read as Word reads fields and objects: groups and their destinations; the
    text of a field instruction (escaped characters decoded, Unicode fallbacks skipped,
    formatting dropped), of an attached template and of a shape property's name; objects,
    and whether they are linked."""

    def __init__(self) -> None:
        self.stack: list[tuple[list[str] | None, str, int, bool]] = []
        self.text: list[str] | None = None  # [text] of the destination being read
        self.kind = ""  # which destination: fldinst, template or sn
        self.owner = False  # whether this group began that destination
        self.uc = 1  # fallback characters that follow a \uN
        self.skip_chars = 0
        self.skip_bytes = 0
        self.objects = False
        self.too_deep = False
        self.found = ""

    def token(self, match: re.Match[bytes]) -> None:
        word, parameter, hexa, symbol, brace, text = match.groups()
        if word is not None:
            self.control(word.decode(), int(parameter) if parameter else None)
        elif hexa is not None:
            self.add(chr(int(hexa, 16)))
        elif symbol is not None:
            self.add(symbol.decode() if symbol in b"\\{}" else " " if symbol in b"~\r\n" else "")
        elif brace == b"{":
            if len(self.stack) >= _MAX_RTF_DEPTH:
                self.too_deep, self.found = True, "too deep"
            self.stack.append((self.text, self.kind, self.uc, self.owner))
            self.owner = False
        elif brace == b"}":
            self.close_group()
        elif self.text is not None or self.skip_chars:
            self.add(text.decode("latin-1").replace("\r", "").replace("\n", ""))

    def control(self, word: str, parameter: int | None) -> None:
        if word in _RTF_DESTINATIONS:
            self.text, self.kind, self.owner = [""], word, True
        elif word == "field" and self.kind == "fldinst" and not "".join(self.text or ()).strip():
            self.found = self.found or _COMPUTED
        elif word in _RTF_LINKED_OBJECTS:
            self.found = self.found or "linked OLE object"
        elif word == "object":
            self.objects = True
        elif word == "bin" and parameter:
            self.skip_bytes = max(parameter, 0)
        elif word == "uc" and parameter is not None:
            self.uc = max(parameter, 0)
        elif word == "u" and parameter is not None:
            self.add(chr(parameter % 65536), fallback=False)
            self.skip_chars = self.uc
        elif word in _RTF_SPACES:
            self.add(" ", fallback=False)

    def add(self, characters: str, *, fallback: bool = True) -> None:
        if fallback and self.skip_chars:  # the fallback of a \uN is not read
            dropped = min(self.skip_chars, len(characters) or 1)
            self.skip_chars -= dropped
            characters = characters[dropped:]
        if characters and self.text is not None:
            self.text[0] = (self.text[0] + characters)[:_RTF_TEXT_CHARS]

    def close_group(self) -> None:
        if self.owner:
            self.close_destination()
        self.owner = False
        if self.stack:
            self.text, self.kind, self.uc, self.owner = self.stack.pop()

    def close_destination(self) -> None:
        text = "".join(self.text or ()).strip()
        if self.kind == "fldinst":
            self.found = self.found or field_found(text)
        elif self.kind == "template" and text and not _LOCAL_PATH.match(text):
            self.found = self.found or "remote template"
        elif self.kind == "sn" and text.lower() == "pibname":  # only a linked picture's
            self.found = self.found or "linked picture (shape)"


def _in_mime(data: bytes) -> Found:
    """An MHT archive: each HTML or RTF part in it; a reference to one of the archive's own
    parts (by its Content-Location) is not fetched."""
    import email

    from mailbot.ingest.mime import bounds as mimebounds

    too_complex = (UNREADABLE, "imported MHT part (altChunk) too complex to check")
    if mimebounds.too_costly(data):
        return too_complex
    message = email.message_from_bytes(data)
    parts = list(itertools.islice(message.walk(), mimebounds.MAX_PARTS + 1))
    if len(parts) > mimebounds.MAX_PARTS:
        return too_complex
    inside = frozenset(_squeeze(str(part.get("Content-Location", ""))) for part in parts)
    for part in parts:
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        found: Found = None
        if payload.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{\\rt"):
            found = _in_rtf(payload)
        elif part.get_content_type() in _HTML_TYPES:
            found = _in_html(payload, part.get_content_charset() or "", inside - {""})
        if found:
            return found
    return None


_HTML_OBJECTS = frozenset({"object", "embed", "applet", "iframe", "frame", "oleobject"})
_HTML_FETCHING = frozenset(
    {
        "src",
        "srcset",
        "href",
        "background",
        "lowsrc",
        "dynsrc",
        "poster",
        "data",
        "codebase",
        "archive",
    }
)
_HTML_LINKS = frozenset({"a", "area"})  # their href is followed only when clicked


def _in_html(data: bytes, charset: str = "", inside: frozenset[str] = frozenset()) -> Found:
    """HTML as Word imports it: elements that load something from elsewhere, objects and
    frames, styles with url() or @import, and Word's own field markup (mso-element), also in
    the conditional comments Word reads (<!--[if supportFields]>, <!--[if gte vml 1]>)."""
    unexpected = (UNREADABLE, "imported HTML part (altChunk) in an unexpected encoding")
    text: bytes | str = data
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16", "replace")
    elif data[1:2] == b"\x00":  # UTF-16 without a byte order mark, as Word also reads it
        text = data.decode("utf-16-le", "replace")
    elif data[:1] == b"\x00":
        text = data.decode("utf-16-be", "replace")
    if isinstance(text, str):
        if "\x00" in text:  # UTF-32, or worse
            return unexpected
    elif b"\x00" in data or not _ascii_compatible(charset, data):
        return unexpected
    scanner = _Html(inside)
    scanner.read(text)
    scanner.end_instruction()
    return (ACTIVE, scanner.found) if scanner.found else None


def _ascii_compatible(charset: str, data: bytes) -> bool:
    """Whether the charset a MIME part and the markup itself declare writes markup in ASCII."""
    declared = [charset.encode("ascii", "replace"), *_CHARSET.findall(data.lower())]
    return all(
        _ASCII_CHARSETS.fullmatch(name.decode().strip()) for name in declared if name.strip()
    )


class _Html(_Fields):
    """lxml parser target: the first element, style or field that makes Word fetch or run
    something, as a one-line detail."""

    def __init__(self, inside: frozenset[str]) -> None:
        super().__init__()
        self.inside = inside
        self.instruction: list[str] | None = None  # of the field being read
        self.styles = 0  # open <style> elements
        self.depth = 0  # comments being read as markup

    def read(self, markup: bytes | str) -> None:
        parser = etree.HTMLParser(target=self, no_network=True)
        parser.feed(markup)
        parser.close()

    def start(self, tag: str, attributes: dict[str, str]) -> None:
        local = tag.lower().rpartition(":")[2]
        if local in _HTML_OBJECTS:
            self.found = self.found or f"embedded object or frame (<{local}>)"
        self.styles += local == "style"
        for raw, value in attributes.items():
            name = raw.lower().rpartition(":")[2]
            if name == "style":
                self.style(value)
            elif (
                name in _HTML_FETCHING
                and not (name == "href" and local in _HTML_LINKS)
                and self.remote(value)
            ):
                self.found = self.found or f"linked {name} of <{local}>"

    def end(self, tag: str) -> None:
        if tag.lower() == "style" and self.styles:
            self.styles -= 1

    def data(self, text: str) -> None:
        if self.instruction is not None and len(self.instruction) < _INSTRUCTION_CHARS:
            self.instruction.append(text)
            if text.strip():
                self.field_named()
        if self.styles:
            self.urls(text)

    def comment(self, text: str) -> None:
        if "<" in text and self.depth < 2:  # markup Word may read (conditional comments)
            self.depth += 1
            self.read(text)
            self.depth -= 1

    def close(self) -> None:
        return None

    def style(self, value: str) -> None:
        squeezed = _squeeze(value)
        if "mso-element:field-begin" in squeezed:
            self.end_instruction()
            self.field_begin()
            self.instruction = []
        elif "mso-element:field-separator" in squeezed:
            self.end_instruction()
            self.field_named()
        elif "mso-element:field-end" in squeezed:
            self.end_instruction()
            self.field_end()
        self.urls(value)

    def end_instruction(self) -> None:
        if self.instruction is not None:
            self.found = self.found or field_found("".join(self.instruction))
        self.instruction = None

    def urls(self, css: str) -> None:
        if any(self.remote(target) for target in _URL.findall(css.lower())):
            self.found = self.found or "linked style resource (url() or @import)"

    def remote(self, value: str) -> bool:
        target = _squeeze(value)
        if not target or target in self.inside or target.startswith(_EMBEDDED_SCHEMES):
            return False
        return _ABSOLUTE.match(target) is not None


def _squeeze(value: str) -> str:
    """A URL as a browser or Word reads it: no whitespace or control characters, lower case."""
    return re.sub(r"[\x00-\x20\x7f]+", "", value).lower()
