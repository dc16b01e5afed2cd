"""Unit tests for `mailbot.ingest.document.ooxml.inspect_package`: each check on its own.

Most tests tighten one limit (or build one defect) so that exactly one check can fire, and read
the private one-line detail (`ooxml._check`) to prove it was that check and not another.
"""

from __future__ import annotations

import io
import random
import tracemalloc
import warnings
import zipfile

import pytest

from mailbot.ingest.document import ooxml
from mailbot.ingest.document.ooxml import inspect_package
from mailbot.models import DocumentLimits
from tests import hostile_corpus as corpus

LIMITS = DocumentLimits()
MACRO = "macro_content"
UNREADABLE = "unreadable_document"


def detail(data: bytes, limits: DocumentLimits = LIMITS) -> str:
    """Why the package is refused: the same whether it is given as bytes or as a file (as a
    decrypted package is), so every check here covers both ways of reading it."""
    found = ooxml._check(data, limits)
    assert found is not None, "expected the package to be rejected"
    assert ooxml._check(io.BufferedReader(io.BytesIO(data)), limits) == found
    return found[1]


def incompressible(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


# -- the happy path --------------------------------------------------------------------------


def test_official_sample_form_is_safe() -> None:
    """GIVEN the official sample referral form (a real Word document)
    WHEN it is inspected with the default limits
    THEN it is safe to hand to python-docx (None)."""
    assert inspect_package(corpus.base_docx(), LIMITS) is None


def test_minimal_package_is_safe() -> None:
    """GIVEN the smallest package python-docx can open
    WHEN it is inspected
    THEN it is safe: the checks do not demand anything Word does not need."""
    assert inspect_package(corpus.minimal_docx(), LIMITS) is None


def test_image_part_is_not_scanned_for_a_dtd() -> None:
    """GIVEN a package with a PNG part whose bytes happen to contain '<!DOCTYPE'
    WHEN it is inspected
    THEN it is safe: image parts are never parsed as XML, so only their CRC is checked."""
    png = b"\x89PNG\r\n\x1a\n" + b"<!DOCTYPE" + bytes(64)
    data = corpus.add_part(corpus.base_docx(), "word/media/image1.png", png)
    types = dict(corpus.parts_of(data))["[Content_Types].xml"]
    types = types.replace(
        b"<Default ", b'<Default Extension="png" ContentType="image/png"/><Default ', 1
    )
    assert inspect_package(corpus.replace_part(data, "[Content_Types].xml", types), LIMITS) is None


# -- size, count and ratio limits ------------------------------------------------------------


def test_attachment_over_size_limit() -> None:
    """GIVEN a valid form larger than max_attachment_bytes
    WHEN it is inspected
    THEN it is unreadable for its size, before any parsing."""
    limits = DocumentLimits(max_attachment_bytes=10_000)
    assert detail(corpus.base_docx(), limits) == "attachment over the size limit"


@pytest.mark.parametrize("data", [b"", b"not a zip at all", b"PK\x03\x04" + bytes(100)])
def test_not_a_zip(data: bytes) -> None:
    """GIVEN empty bytes, text, or a lone local-header signature
    WHEN inspected
    THEN unreadable_document, without raising."""
    assert inspect_package(data, LIMITS) == UNREADABLE


def test_too_many_entries_counted_before_zipfile_parses() -> None:
    """GIVEN a package with more entries than max_zip_entries
    WHEN inspected
    THEN unreadable for the count (checked on raw signatures, before zipfile builds objects)."""
    assert detail(corpus.too_many_entries()) == "too many zip entries"
    small = DocumentLimits(max_zip_entries=5)
    assert detail(corpus.base_docx(), small) == "too many zip entries"


def test_total_declared_size_over_limit() -> None:
    """GIVEN the sample form (about 940 KB of parts) and a 500 KB uncompressed budget
    WHEN inspected
    THEN unreadable for the total declared size."""
    limits = DocumentLimits(max_uncompressed_bytes=500_000)
    assert detail(corpus.base_docx(), limits) == "total uncompressed size over the limit"


def test_part_over_size_limit() -> None:
    """GIVEN the sample form (styles.xml is ~350 KB) and a 200 KB part limit
    WHEN inspected
    THEN unreadable for that part's size."""
    limits = DocumentLimits(max_part_bytes=200_000)
    assert detail(corpus.base_docx(), limits) == "entry over the part size limit"


def test_declared_one_gib_part() -> None:
    """GIVEN a form whose directory claims document.xml inflates to 1 GiB
    WHEN inspected
    THEN unreadable from the directory alone (nothing is inflated)."""
    assert detail(corpus.declared_size_bomb()) == "entry over the part size limit"


def test_entry_ratio_bomb() -> None:
    """GIVEN document.xml padded with 40 MB of whitespace (~1000:1)
    WHEN inspected
    THEN unreadable for that entry's compression ratio."""
    assert detail(corpus.ratio_bomb()) == "entry compression ratio too high"


def test_overall_ratio_catches_many_small_entries() -> None:
    """GIVEN 30 parts of 90 KB of spaces each: every one below the 'tiny' threshold
    WHEN inspected
    THEN unreadable for the overall ratio, which the per-entry rule alone would miss."""
    parts = corpus.parts_of(corpus.minimal_docx())
    parts += [(f"word/pad{n}.xml", b" " * 90_000) for n in range(30)]
    assert detail(corpus.build_zip(parts)) == "overall compression ratio too high"


def test_real_form_ratios_are_far_below_the_limit() -> None:
    """GIVEN the sample form, whose styles parts compress about 30:1
    WHEN inspected with a ratio limit of 40
    THEN it is still safe: the default of 200 leaves a wide margin for real documents."""
    assert inspect_package(corpus.base_docx(), DocumentLimits(max_compression_ratio=40)) is None


def test_ratio_ignores_tiny_entries() -> None:
    """GIVEN a package with one 50 KB part of spaces (ratio ~1000, but tiny)
    WHEN inspected
    THEN it is safe: a tiny part cannot be a bomb, and small XML often compresses well."""
    data = corpus.add_part(corpus.minimal_docx(), "word/pad.xml", b" " * 50_000)
    assert inspect_package(data, LIMITS) is None


# -- layout: overlaps, names, truncation -----------------------------------------------------


def test_fifield_quoted_overlap_is_detected() -> None:
    """GIVEN David Fifield's overlapping-entry construction over an incompressible kernel
    (so sizes and ratios all look innocent)
    WHEN inspected
    THEN unreadable because the entries' local ranges overlap."""
    data = corpus.overlap_bomb_quoted(files=6, kernel=incompressible(20_000))
    assert detail(data) == "overlapping zip entries (zip bomb)"


def test_entries_sharing_one_local_header_are_detected() -> None:
    """GIVEN several central-directory entries that all point at one local header
    WHEN inspected
    THEN unreadable as overlapping."""
    data = corpus.overlap_bomb_shared_header(copies=5, payload=incompressible(20_000))
    assert detail(data) == "overlapping zip entries (zip bomb)"


def test_data_before_first_entry() -> None:
    """GIVEN a valid form with junk prepended (a polyglot)
    WHEN inspected
    THEN unreadable."""
    assert detail(b"%PDF-1.7 junk" + corpus.base_docx()) == "data before the first entry"


@pytest.mark.parametrize(
    "name", ["../evil.xml", "/etc/evil.xml", "word/../../evil.xml", "word\\evil.xml", "C:/evil.xml"]
)
def test_path_traversal_names(name: str) -> None:
    """GIVEN a package with a part whose name escapes the package
    WHEN inspected
    THEN unreadable for the unsafe name."""
    data = corpus.add_part(corpus.minimal_docx(), name, b"<x/>")
    assert detail(data) == "unsafe entry name (path traversal)"


@pytest.mark.parametrize("second", ["word/document.xml", "WORD/Document.xml"])
def test_duplicate_names(second: str) -> None:
    """GIVEN a package with document.xml twice (exactly, or differing only in case)
    WHEN inspected
    THEN unreadable: which copy a reader uses would be anyone's guess."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns about the duplicate
        data = corpus.add_part(corpus.minimal_docx(), second, b"<evil/>")
    assert detail(data) == "duplicate entry name"


def test_truncated_and_crc_corrupt() -> None:
    """GIVEN the first half of a form, and a form with a wrong CRC on document.xml
    WHEN inspected
    THEN both are unreadable (the CRC one only once the part is actually inflated)."""
    assert detail(corpus.truncated_docx()) == "not a zip file"
    assert detail(corpus.crc_corrupt_docx()) == "corrupt part data (bad CRC or compressed stream)"


def test_header_claiming_less_than_the_data_inflates_to() -> None:
    """GIVEN a part whose directory says 1 KB but whose stream inflates to ~98 KB
    WHEN inspected
    THEN unreadable: reading stops at the declared size and the CRC then fails."""
    data = corpus.patch_entry(corpus.base_docx(), "word/document.xml", file_size=1024)
    assert inspect_package(data, LIMITS) == UNREADABLE


def test_header_claiming_more_than_the_data_inflates_to() -> None:
    """GIVEN a part whose directory claims 10 MB but whose stream inflates to ~98 KB
    WHEN inspected
    THEN unreadable (the part ends early)."""
    data = corpus.patch_entry(corpus.base_docx(), "word/document.xml", file_size=10 * 1024 * 1024)
    assert inspect_package(data, DocumentLimits(max_compression_ratio=10_000)) == UNREADABLE


@pytest.mark.parametrize("missing", ["word/document.xml", "[Content_Types].xml", "_rels/.rels"])
def test_missing_required_part(missing: str) -> None:
    """GIVEN a form without one of the parts python-docx needs
    WHEN inspected
    THEN unreadable, naming the missing part."""
    parts = [(n, d) for n, d in corpus.parts_of(corpus.base_docx()) if n != missing]
    assert detail(corpus.build_zip(parts)) == f"missing part {missing}"


def test_unsupported_compression_and_zip_encryption() -> None:
    """GIVEN a form re-zipped with bzip2, and one whose entry claims zip-level encryption
    WHEN inspected
    THEN both are unreadable (Word writes only stored/deflated, never zip encryption)."""
    parts = corpus.parts_of(corpus.minimal_docx())
    assert detail(corpus.build_zip(parts, compression=zipfile.ZIP_BZIP2)) == (
        "unsupported compression method"
    )
    data = bytearray(corpus.minimal_docx())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        central = archive.start_dir
    data[central + 8] |= 0x01  # general-purpose flag bit 0: encrypted
    assert detail(bytes(data)) == "zip-level encrypted entry"


# -- XML: DTDs anywhere, in any encoding -----------------------------------------------------


def test_billion_laughs_in_document() -> None:
    """GIVEN document.xml with a billion-laughs DTD
    WHEN inspected
    THEN unreadable: no DTD is ever needed in a Word part."""
    assert detail(corpus.billion_laughs()) == "DTD (DOCTYPE/ENTITY) in an XML part"


def test_external_entity_in_rels() -> None:
    """GIVEN a .rels part declaring an external entity (XXE)
    WHEN inspected
    THEN unreadable."""
    assert detail(corpus.xxe_rels()) == "DTD (DOCTYPE/ENTITY) in an XML part"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16-le", "utf-16-be", "utf-32-le"])
def test_dtd_found_in_any_encoding(encoding: str) -> None:
    """GIVEN a settings part holding '<!doctype' (lower case) in UTF-8, UTF-16 or UTF-32
    WHEN inspected
    THEN unreadable: the scan does not depend on the part's encoding or letter case."""
    xml = '<!doctype x [<!entity a "b">]><x/>'.encode(encoding)
    data = corpus.add_part(corpus.minimal_docx(), "word/settings.xml", xml)
    assert detail(data) == "DTD (DOCTYPE/ENTITY) in an XML part"


def test_dtd_straddling_a_read_chunk_is_found() -> None:
    """GIVEN '<!DOCTYPE' placed across the 64 KB boundary between two streamed reads
    WHEN inspected
    THEN it is still found."""
    xml = b" " * (64 * 1024 - 4) + b"<!DOCTYPE x><x/>"
    data = corpus.add_part(corpus.minimal_docx(), "word/settings.xml", xml)
    assert detail(data) == "DTD (DOCTYPE/ENTITY) in an XML part"


def test_dtd_in_a_part_with_no_xml_extension() -> None:
    """GIVEN a DTD in a part named .bin (content type application/octet-stream by default)
    WHEN inspected
    THEN unreadable: any non-image part may be parsed as XML, so every one is scanned."""
    data = corpus.add_part(corpus.minimal_docx(), "word/x.bin", b"<!ENTITY x 'y'>")
    assert detail(data) == "DTD (DOCTYPE/ENTITY) in an XML part"


@pytest.mark.parametrize(
    "xml",
    [
        b'<?xml version="1.0" encoding="UTF-7"?><x/>',
        "<?xml version='1.0' encoding='cp500'?><x/>".encode("cp500"),  # EBCDIC, detected
    ],
    ids=["utf-7-declared", "ebcdic"],
)
def test_exotic_encoding_is_refused(xml: bytes) -> None:
    """GIVEN an XML part in UTF-7 or EBCDIC (where a DTD could hide from a byte scan)
    WHEN inspected
    THEN unreadable."""
    data = corpus.add_part(corpus.minimal_docx(), "word/settings.xml", xml)
    assert detail(data) == "XML part in an unexpected encoding"


def test_ascii_compatible_declared_encoding_is_accepted() -> None:
    """GIVEN an XML part declaring ISO-8859-1 (a DTD would still be plain ASCII bytes)
    WHEN inspected
    THEN it is safe."""
    xml = b"<?xml version='1.0' encoding='ISO-8859-1'?><x>caf\xe9</x>"
    data = corpus.add_part(corpus.minimal_docx(), "word/settings.xml", xml)
    assert inspect_package(data, LIMITS) is None


def test_dtd_in_content_types() -> None:
    """GIVEN a [Content_Types].xml with a DOCTYPE
    WHEN inspected
    THEN unreadable before it is parsed."""
    types = dict(corpus.parts_of(corpus.minimal_docx()))["[Content_Types].xml"]
    hostile = types.replace(b"?>", b'?><!DOCTYPE t [<!ENTITY e "x">]>', 1)
    data = corpus.replace_part(corpus.minimal_docx(), "[Content_Types].xml", hostile)
    assert detail(data) == "DTD in [Content_Types].xml"


# -- macros ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("word/vbaProject.bin", "VBA project part"),
        ("word/VBAPROJECT.BIN", "VBA project part"),
        ("word/vbaData.xml", "VBA project part"),
        ("word/activeX/activeX1.xml", "ActiveX control part"),
    ],
)
def test_macro_parts(name: str, expected: str) -> None:
    """GIVEN a valid form carrying a VBA or ActiveX part (any case)
    WHEN inspected
    THEN macro_content."""
    data = corpus.add_part(corpus.base_docx(), name, b"<x/>")
    assert ooxml._check(data, LIMITS) == (MACRO, expected)


def test_macro_enabled_content_type() -> None:
    """GIVEN a form whose main part is declared macroEnabled (a .docm), without a VBA part
    WHEN inspected
    THEN macro_content."""
    assert ooxml._check(corpus.docm_content_type(), LIMITS) == (MACRO, "macro-enabled content type")


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("application/vnd.ms-office.activeX+xml", "ActiveX content type"),
        ("application/vnd.ms-word.vbaData+xml", "macro-enabled content type"),
        ("application/vnd.ms-office.vbaProject", "macro-enabled content type"),
    ],
)
def test_macro_content_types(content_type: str, expected: str) -> None:
    """GIVEN content types declaring an ActiveX, VBA data or VBA project type (no such part)
    WHEN inspected
    THEN macro_content."""
    types = dict(corpus.parts_of(corpus.minimal_docx()))["[Content_Types].xml"]
    extra = f'<Default Extension="zz" ContentType="{content_type}"/></Types>'.encode()
    data = corpus.replace_part(
        corpus.minimal_docx(), "[Content_Types].xml", types.replace(b"</Types>", extra)
    )
    assert ooxml._check(data, LIMITS) == (MACRO, expected)


# -- bounded resources -----------------------------------------------------------------------


@pytest.mark.timeout(10)
def test_inflating_is_streamed_not_buffered() -> None:
    """GIVEN a 30 MB part of whitespace that passes every directory check
    WHEN inspected (so it is inflated and scanned)
    THEN peak Python memory stays far below the part size: parts are streamed in chunks."""
    data = corpus.add_part(
        corpus.minimal_docx(), "word/big.xml", b"<x>" + b" " * (30 << 20) + b"</x>"
    )
    limits = DocumentLimits(max_compression_ratio=10_000)
    tracemalloc.start()
    try:
        assert inspect_package(data, limits) is None
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20
