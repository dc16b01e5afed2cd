"""Hypothesis strategies that build inputs close enough to real ones to reach deep code.

Random bytes stop at the first check (not a zip, no headers), so the fuzzers build the
structure and mutate inside it: Word packages are real referrals (every fill style) whose
document.xml has text replaced, rows duplicated, tables removed or junk spliced in; emails are
MIME trees of random shape with hostile header values, boundaries, encodings and names.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from functools import cache
from xml.sax.saxutils import escape

from hypothesis import strategies as st

from mailbot.demo.formwriter import FillStyle, render_form
from mailbot.demo.samples import sample_form
from tests.hostile_blocks import build_zip, parts_of
from tests.integration.conftest import sample

DOCUMENT = "word/document.xml"
SAMPLES = (
    "01-accepted-controls.docx",
    "04-returned-missing-fields.docx",
    "05-returned-below-threshold.docx",
    "06-accepted-professional-judgement.docx",
    "07-accepted-young-person.docx",
)
_TEXT = re.compile(r"(<w:t(?: [^>]*)?>)([^<]*)(</w:t>)")
_BLOCK = {
    "row": re.compile(r"<w:tr[ >].*?</w:tr>", re.S),
    "table": re.compile(r"<w:tbl>.*?</w:tbl>", re.S),
    "paragraph": re.compile(r"<w:p[ >].*?</w:p>", re.S),
}


@cache
def base_documents() -> tuple[bytes, ...]:
    """The unencrypted shared samples and one generated referral in each fill style."""
    form = sample_form(random.Random(2024))
    return (*(sample(name) for name in SAMPLES), *(render_form(form, style) for style in FillStyle))


xml_text = st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=60)
field_words = st.sampled_from(
    [
        "",
        "Yes",
        "No",
        "Not known",
        "N/A",
        "☒",
        "☐",
        "X",
        "01/02/1990",
        "31/02/2026",
        "1990-02-01",
        "Victim",
        "Surname",
        "Date of birth",
        "MARAC",
        "Birmingham",
        "99",
        "-1",
        "\u200b",
        "😀",
    ]
)


@dataclass(frozen=True)
class Edit:
    kind: str
    index: int
    text: str = ""


edits = st.one_of(
    st.builds(Edit, st.just("text"), st.integers(0, 2000), st.one_of(xml_text, field_words)),
    st.builds(
        Edit,
        st.sampled_from(
            ["dup-row", "drop-row", "drop-table", "dup-paragraph", "drop-paragraph", "swap-text"]
        ),
        st.integers(0, 500),
    ),
    st.builds(
        Edit,
        st.just("junk"),
        st.integers(0, 10**6),
        st.text(st.sampled_from("<>/&;=\"' wxyz:"), max_size=12),
    ),
)


def apply(xml: str, edit: Edit) -> str:
    if edit.kind == "text" or edit.kind == "swap-text":
        found = list(_TEXT.finditer(xml))
        if not found:
            return xml
        target = found[edit.index % len(found)]
        text = (
            escape(edit.text)
            if edit.kind == "text"
            else found[(edit.index * 7 + 1) % len(found)].group(2)
        )
        return xml[: target.start(2)] + text + xml[target.end(2) :]
    if edit.kind == "junk":
        at = edit.index % (len(xml) + 1)
        return xml[:at] + edit.text + xml[at:]
    action, _, block = edit.kind.partition("-")
    found = list(_BLOCK[block].finditer(xml))
    if not found:
        return xml
    target = found[edit.index % len(found)]
    replacement = target.group(0) * 2 if action == "dup" else ""
    return xml[: target.start()] + replacement + xml[target.end() :]


@st.composite
def mutated_forms(draw: st.DrawFn) -> bytes:
    """A real referral package with 1-8 edits to its document.xml."""
    package = base_documents()[draw(st.integers(0, len(base_documents()) - 1))]
    parts = dict(parts_of(package))
    xml = parts[DOCUMENT].decode()
    for edit in draw(st.lists(edits, min_size=1, max_size=8)):
        xml = apply(xml, edit)
    parts[DOCUMENT] = xml.encode("utf-8", "surrogatepass")
    return build_zip(list(parts.items()))


# -- emails ----------------------------------------------------------------------------------

header_values = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        [
            "=?utf-8?q?a=0D=0AB?=",
            "=?x-unknown?b?AAAA?=",
            "=?utf-8?b?!!!?=",
            "<>",
            "a@b\r\nBcc: c@d",
            "\x00",
            "\udcff",
            "<a@b> (comment (nested))",
            "@",
            '"quoted\\" <x@y>"',
            "Mon, 99 Foo 2026 99:99:99 +9999",
        ]
    ),
)
header_names = st.sampled_from(
    [
        "From",
        "To",
        "Subject",
        "Message-ID",
        "Date",
        "Reply-To",
        "In-Reply-To",
        "X-Junk",
        "Content-ID",
        "Sender",
    ]
)
filenames = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.sampled_from(
        [
            "../../etc/passwd.docx",
            "C:\\x\\form.docx",
            ".hidden.docx",
            "a\r\nb.docx",
            "=?utf-8?q?r=E9f.docx?=",
            "winmail.dat",
            "form.docx" * 40,
        ]
    ),
)
content_types = st.sampled_from(
    [
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/octet-stream",
        "application/ms-tnef",
        "text/plain",
        "text/html",
        "image/png",
        "message/rfc822",
        "application/pkcs7-signature",
        "multipart/mixed",
        'x/y; a="',
        "",
    ]
)
encodings = st.sampled_from(
    ["base64", "quoted-printable", "7bit", "8bit", "binary", "x-uuencode", "BASE64", ""]
)


@dataclass(frozen=True)
class Leaf:
    content_type: str
    encoding: str
    filename: str | None
    payload: bytes


@dataclass(frozen=True)
class Multi:
    subtype: str
    boundary: str
    children: tuple[Leaf | Multi, ...]


payloads = st.one_of(st.binary(max_size=200), st.just(0).map(lambda _: base_documents()[0]))
leaves = st.builds(Leaf, content_types, encodings, filenames, payloads)
trees = st.recursive(
    leaves,
    lambda inner: st.builds(
        Multi,
        st.sampled_from(["mixed", "related", "alternative", "signed", "digest"]),
        st.text(st.sampled_from("abcXYZ=_-'()+,./:?"), min_size=0, max_size=20),
        st.lists(inner, max_size=4).map(tuple),
    ),
    max_leaves=10,
)


def render(node: Leaf | Multi, eol: bytes) -> bytes:
    if isinstance(node, Multi):
        head = f'Content-Type: multipart/{node.subtype}; boundary="{node.boundary}"'
        body = b"".join(
            b"--" + node.boundary.encode() + eol + render(c, eol) + eol for c in node.children
        )
        return _line(head, eol) + eol + body + b"--" + node.boundary.encode() + b"--" + eol
    lines = [f"Content-Type: {node.content_type}", f"Content-Transfer-Encoding: {node.encoding}"]
    if node.filename is not None:
        lines.append(f'Content-Disposition: attachment; filename="{node.filename}"')
    payload = node.payload
    if node.encoding.lower() == "base64":
        import base64

        payload = base64.encodebytes(payload)
    return b"".join(_line(line, eol) for line in lines) + eol + payload


def _line(text: str, eol: bytes) -> bytes:
    return text.encode("utf-8", "surrogateescape") + eol


@st.composite
def emails(draw: st.DrawFn) -> bytes:
    """A whole email: hostile headers over a MIME tree, LF or CRLF line ends."""
    eol = draw(st.sampled_from([b"\n", b"\r\n"]))
    headers = draw(st.lists(st.tuples(header_names, header_values), max_size=8))
    head = b"".join(_line(f"{name}: {value}", eol) for name, value in headers)
    return head + b"MIME-Version: 1.0" + eol + render(draw(trees), eol)
