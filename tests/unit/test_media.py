"""Reading a form without its photographs (`ingest.media`).

python-docx loads every part it opens, so a referral with photos is read from a copy with its
large non-XML parts emptied. What must hold: the copy has every part under the same name,
every XML part byte for byte (however it is named or encoded), only large binary parts
emptied; an ordinary referral is not copied at all; and the form read is the same.
"""

from __future__ import annotations

import io
import zipfile
from typing import BinaryIO

from mailbot.ingest.document.media import MEDIA_PART_BYTES, without_media
from mailbot.ingest.form.reader import read_form
from tests import hostile_corpus as corpus
from tests.photos import form_with_photo, png


def parts(package: BinaryIO | bytes) -> dict[str, bytes]:
    source = io.BytesIO(package) if isinstance(package, bytes) else package
    source.seek(0)
    with zipfile.ZipFile(source) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def test_photo_emptied_everything_else_kept() -> None:
    """GIVEN the sample form with a 1 MB photo pasted in
    WHEN its media are left out
    THEN the copy has the same part names in the same order, the photo empty, and every
    other part (the 350 KB styles part among them) byte for byte."""
    original = form_with_photo(1024 * 1024)
    before = parts(original)
    photo = next(name for name in before if name.startswith("word/media/"))
    assert len(before[photo]) > MEDIA_PART_BYTES
    assert len(before["word/styles.xml"]) > MEDIA_PART_BYTES
    after = parts(without_media(io.BytesIO(original)))
    assert list(after) == list(before)
    assert after[photo] == b""
    assert {n: d for n, d in after.items() if n != photo} == {
        n: d for n, d in before.items() if n != photo
    }


def test_large_xml_part_kept_whatever_its_name_or_encoding() -> None:
    """GIVEN a package with a 300 KB UTF-16 XML part named like a binary file, and a 300 KB
    image under an .xml name
    WHEN its media are left out
    THEN the XML part is kept (recognised by its bytes) and the image emptied."""
    xml = "<?xml version='1.0' encoding='UTF-16'?><root>" + "x" * 150_000 + "</root>"
    package = corpus.build_zip(
        [
            *corpus.parts_of(corpus.minimal_docx()),
            ("customXml/item9.bin", xml.encode("utf-16")),
            ("word/media/disguised.xml", png(300_000)),
        ]
    )
    after = parts(without_media(io.BytesIO(package)))
    assert after["customXml/item9.bin"] == xml.encode("utf-16")
    assert after["word/media/disguised.xml"] == b""


def test_ordinary_referral_is_not_copied() -> None:
    """GIVEN the sample form, with no part over the media size
    WHEN its media are left out
    THEN the very same file is returned, rewound: nothing is copied."""
    source = io.BytesIO(corpus.base_docx())
    source.seek(100)
    assert without_media(source) is source
    assert source.tell() == 0


def test_form_read_the_same_with_and_without_photo() -> None:
    """GIVEN the sample form, and the same form with a 1 MB photo pasted in
    WHEN both are read
    THEN the form data are identical."""
    assert read_form(form_with_photo(1024 * 1024)) == read_form(corpus.base_docx())
