"""Take the message out of an opaque S/MIME signature, without verifying anything.

Secure gateways and some partners' mail clients sign referrals "opaquely": the whole message,
form included, travels inside one PKCS#7 (CMS) SignedData blob, sent as
`application/pkcs7-mime; smime-type=signed-data` (a `smime.p7m` file), either as the whole
body or as an attachment. Every client shows what is inside; mailbot must too, or it answers
"not a Word document" to a correct referral. Trust does not come from the signature here
(senders are judged by their address and the document by its password), so nothing is
verified: the encapsulated content is taken out and `mime` reads it as the MIME entity it is.

An encrypted S/MIME message (EnvelopedData) cannot be opened without a key mailbot does not
hold; `signed_content` says so (None) and `mime` reports it as a document it could not read.

Only the few elements on the way to the content are read, with a small BER reader of its own:
`cryptography` can build PKCS#7 but not take a SignedData apart, and asn1crypto (which can)
is not installed here and was last released in 2022. Signers write BER as well as DER
(indefinite lengths and content split into chunks when they stream), so both are read.
Nesting is followed to `MAX_DEPTH` elements at most, and an element is only passed over (to
reach the next one) at each level above it, so a hostile blob costs at most that many passes
over its bytes. Certificates and signatures, after the content, are never parsed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

_SEQUENCE, _OID, _OCTETS, _CONTEXT_0 = 0x30, 0x06, 0x04, 0xA0
_CONSTRUCTED = 0x20
_PKCS7 = bytes.fromhex("2a864886f70d0107")  # 1.2.840.113549.1.7: data, signedData, ...
_SMIME_TYPES = bytes.fromhex("2a864886f70d010910")  # 1.2.840.113549.1.9.16: RFC 5083 and on
SIGNED_DATA = _PKCS7 + b"\x02"
MAX_DEPTH = 24  # nested elements followed; a real signed message needs about 6
_MAX_LENGTH_BYTES = 4  # a length past 4 GB is not a length an email can hold


class NotPkcs7(ValueError):
    """The bytes are not the BER/DER encoding mailbot expected (damaged or not PKCS#7)."""


@dataclass(frozen=True, slots=True)
class _Element:
    tag: int  # the identifier octet (class, constructed bit and a low tag number)
    start: int  # where the contents begin
    length: int | None  # None: indefinite, ends at the end-of-contents octets 00 00

    @property
    def constructed(self) -> bool:
        return bool(self.tag & _CONSTRUCTED)


def is_pkcs7(data: bytes) -> bool:
    """Whether `data` starts as a CMS ContentInfo of a PKCS#7 or S/MIME content type.

    Looks only at the first few bytes, so any file can be asked about cheaply."""
    try:
        info = _element(data, 0)
        if info.tag != _SEQUENCE:
            return False
        kind = _element(data, info.start)
        oid = data[kind.start : kind.start + (kind.length or 0)]
    except NotPkcs7:
        return False
    return kind.tag == _OID and oid.startswith((_PKCS7, _SMIME_TYPES))


def signed_content(data: bytes) -> bytes | None:
    """The content a SignedData encapsulates (normally a MIME entity), not verified.

    None when `data` holds nothing that can be opened: an encrypted (enveloped) message, a
    signature whose content travels beside it (detached), or bytes that are not PKCS#7 at
    all or are damaged. Never raises."""
    try:
        return _signed_content(data)
    except (NotPkcs7, IndexError, RecursionError):
        return None


def _signed_content(data: bytes) -> bytes | None:
    info = _element(data, 0)
    content_type, content = _first_two(data, info, 0)
    if info.tag != _SEQUENCE or _oid(data, content_type) != SIGNED_DATA or content is None:
        return None
    if content.tag != _CONTEXT_0:
        return None
    signed = _element(data, content.start)
    if signed.tag != _SEQUENCE:
        return None
    fields = _children(data, signed, 1)
    next(fields, None)  # version
    next(fields, None)  # digestAlgorithms
    encapsulated = next(fields, None)
    if encapsulated is None or encapsulated.tag != _SEQUENCE:
        return None
    _, explicit = _first_two(data, encapsulated, 2)
    if explicit is None or explicit.tag != _CONTEXT_0:
        return None  # a detached signature: the content is not in here
    return _octets(data, _element(data, explicit.start), 3)


def _first_two(data: bytes, parent: _Element, depth: int) -> tuple[_Element, _Element | None]:
    children = _children(data, parent, depth)
    first = next(children, None)
    if first is None:
        raise NotPkcs7("empty")
    return first, next(children, None)


def _oid(data: bytes, element: _Element) -> bytes:
    if element.tag != _OID or element.length is None:
        raise NotPkcs7("not an object identifier")
    return data[element.start : element.start + element.length]


def _octets(data: bytes, element: _Element, depth: int) -> bytes:
    """An OCTET STRING's bytes: as one piece (DER), or its chunks joined (BER, streamed)."""
    if element.tag == _OCTETS and element.length is not None:
        return data[element.start : element.start + element.length]
    if element.tag != _OCTETS | _CONSTRUCTED:
        raise NotPkcs7("not an octet string")
    return b"".join(
        _octets(data, chunk, depth + 1) for chunk in _children(data, element, depth + 1)
    )


def _children(data: bytes, parent: _Element, depth: int) -> Iterator[_Element]:
    """The elements directly inside a constructed one, each read when it is reached."""
    if depth > MAX_DEPTH:
        raise NotPkcs7("nested too deeply")
    if not parent.constructed:
        raise NotPkcs7("not constructed")
    end = None if parent.length is None else parent.start + parent.length
    at = parent.start
    while True:
        if end is not None and at >= end:
            return
        if end is None and data[at : at + 2] == b"\0\0":
            return
        child = _element(data, at)
        yield child
        at = _end(data, child, depth + 1)
        if end is not None and at > end:
            raise NotPkcs7("element runs past its parent")


def _end(data: bytes, element: _Element, depth: int) -> int:
    """Where an element ends; for an indefinite length, after its end-of-contents octets."""
    if element.length is not None:
        return element.start + element.length
    at = element.start
    for child in _children(data, element, depth):
        at = _end(data, child, depth + 1)
    if data[at : at + 2] != b"\0\0":
        raise NotPkcs7("no end-of-contents")
    return at + 2


def _element(data: bytes, at: int) -> _Element:
    """The identifier and length octets of the element at `at`."""
    if at + 2 > len(data):
        raise NotPkcs7("truncated")
    tag, first = data[at], data[at + 1]
    if tag & 0x1F == 0x1F:
        raise NotPkcs7("high tag numbers are not used on the way to the content")
    if first < 0x80:
        length: int | None = first
        start = at + 2
    elif first == 0x80:
        if not tag & _CONSTRUCTED:
            raise NotPkcs7("indefinite length on a primitive element")
        length, start = None, at + 2
    else:
        count = first & 0x7F
        if count > _MAX_LENGTH_BYTES or at + 2 + count > len(data):
            raise NotPkcs7("bad length")
        length = int.from_bytes(data[at + 2 : at + 2 + count], "big")
        start = at + 2 + count
    if length is not None and start + length > len(data):
        raise NotPkcs7("element runs past the end")
    return _Element(tag, start, length)
