"""Find active content in a Word package: what makes Word run or fetch something on opening.

Macros and ActiveX controls are the well-known case (`macro_content`). The rest need no macro
and serve the same attacks (`active_content`): a template attached from a web server or file
share (Word fetches it, macros and all, when the document opens, and hands a share the user's
Windows credentials), a frame or sub-document loaded from elsewhere, DDE fields (Word offers
to run the program they name), and OLE objects, embedded or linked (they carry executables
and exploits for the programs that open them). A hyperlink is not active content: referral
forms hold web and email links, and Word follows one only when it is clicked. Nor is the
template a form was made from when it is a path on the author's own disk, as Word records it.

`ooxml` asks here after its own checks on the raw package, in three steps of rising cost:
part names (`in_names`), declared content types (`in_content_types`), then the markup of the
parts whose bytes mention a field, an object or an external target (`HINTS`, looked for while
`ooxml` inflates every part anyway), each streamed through expat with bounded memory
(`in_part`). Each answers a reason code and a one-line detail, or None.
"""

from __future__ import annotations

import re
import zipfile
from xml.parsers import expat

MACRO = "macro_content"
ACTIVE = "active_content"

_MACRO_NAMES = ("vbaproject.bin", "vbadata.xml")
# Relationship types that make Word load their target when it is external.
_REMOTE = {
    "attachedtemplate": "remote template",
    "oleobject": "linked OLE object",
    "frame": "remote frame",
    "subdocument": "remote sub-document",
}
# Word records the template a document was made from as an external relationship to a path
# on the author's own disk (file:///C:/Users/.../Templates/x.dotx): nothing to fetch on
# another computer, and common in partners' forms. A web address or a share is the attack.
_LOCAL_PATH = re.compile(r"(?:file:/{2,3})?[a-z]:[\\/]", re.IGNORECASE)
_DDE_FIELDS = frozenset({"DDE", "DDEAUTO"})
_WORD_OBJECTS = frozenset({"object", "objectEmbed", "objectLink"})  # w:object and Strict's
_INSTRUCTION_CHARS = 64  # of a field instruction: its first word names the field
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

Found = tuple[str, str] | None


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
    """External template, frame, sub-document or OLE relationships, DDE fields and OLE objects
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
    scanner.end_field()
    return (ACTIVE, scanner.found) if scanner.found else None


class _Scanner:
    """expat handlers: remember the first active content seen, as a one-line detail."""

    def __init__(self) -> None:
        self.found = ""
        self.in_instruction = False
        self.instruction = ""  # the current field's instruction, leading spaces dropped

    def start(self, name: str, attributes: dict[str, str]) -> None:
        namespace, _, local = name.rpartition(" ")
        if local == "Relationship":
            self.relationship(attributes)
        elif local == "instrText":
            self.in_instruction = True
        elif local == "fldChar":  # begin, separate or end: an instruction is complete
            self.end_field()
        elif local == "fldSimple":
            self.end_field()
            self.instruction = next(
                (v for k, v in attributes.items() if k.rpartition(" ")[2] == "instr"), ""
            ).lstrip()
            self.end_field()
        elif local == "OLEObject" or (
            local in _WORD_OBJECTS and "wordprocessingml" in namespace
        ):
            self.found = self.found or "OLE object in the document"

    def end(self, name: str) -> None:
        if name.rpartition(" ")[2] == "instrText":
            self.in_instruction = False

    def text(self, data: str) -> None:
        if self.in_instruction:  # Word joins an instruction split over runs
            self.instruction = (self.instruction + data).lstrip()[:_INSTRUCTION_CHARS]

    def end_field(self) -> None:
        words = self.instruction.split(maxsplit=1)
        if words and words[0].upper() in _DDE_FIELDS:
            self.found = self.found or "DDE field"
        self.instruction = ""

    def relationship(self, attributes: dict[str, str]) -> None:
        kind = attributes.get("Type", "").rstrip("/").rpartition("/")[2].lower()
        external = attributes.get("TargetMode", "").strip().lower() == "external"
        local = _LOCAL_PATH.match(attributes.get("Target", "").strip()) is not None
        if external and kind in _REMOTE and not (kind == "attachedtemplate" and local):
            self.found = self.found or f"{_REMOTE[kind]} (external {kind} relationship)"
