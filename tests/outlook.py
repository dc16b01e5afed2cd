"""Outlook items (.msg files) for the tests, written from scratch: a compound file writer.

No library on PyPI that mailbot may depend on writes .msg files (olefile only rewrites streams
of an existing file in place; extract-msg reads them, and is GPL), so this writes a compound
file ([MS-CFB] version 3: 512-byte sectors, streams under 4,096 bytes in the mini stream)
with the storages and streams [MS-OXMSG] lays out for a message: its properties, class,
subject and body, a recipient, the name-to-id map, and each attachment as a file
(`__substg1.0_37010102`) or as an embedded message (`__substg1.0_3701000D`). Directory
entries are arranged as the balanced binary tree the format requires, all black.

`python tests/outlook.py` writes the examples in `EXAMPLES` to `tests/data/outlook/`; the
tests check that olefile reads them without a defect and that they are rebuilt byte for byte.
"""

from __future__ import annotations

import math
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # so `python tests/outlook.py` finds the tests package
    sys.path.insert(0, str(ROOT))

OUTLOOK_DIR = Path(__file__).resolve().parent / "data" / "outlook"
SECTOR, MINI_SECTOR, MINI_CUTOFF = 512, 64, 4096
FREE, END, FAT_SECTOR, NONE = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
_HEADER = struct.Struct("<8s16sHHHHH6sIIIIIIIII109I")
_ENTRY = struct.Struct("<64sHBBIII16sIQQIQ")
_STORAGE, _STREAM, _ROOT = 1, 2, 5

Tree = dict[str, "bytes | Tree"]


@dataclass
class _Entry:
    name: str
    kind: int
    data: bytes = b""
    kids: list[int] = field(default_factory=list)
    left: int = NONE
    right: int = NONE
    child: int = NONE
    start: int = END
    size: int = 0


def compound_file(tree: Tree) -> bytes:
    """A compound file holding `tree`: a name maps to a stream's bytes or a storage's tree."""
    entries: list[_Entry] = []

    def add(name: str, node: bytes | Tree, kind: int) -> int:
        index = len(entries)
        entries.append(_Entry(name, kind, node if isinstance(node, bytes) else b""))
        if isinstance(node, dict):
            kids = [
                add(k, v, _STREAM if isinstance(v, bytes) else _STORAGE) for k, v in node.items()
            ]
            entries[index].kids = kids
            entries[index].child = _balance(
                entries, sorted(kids, key=lambda i: _order(entries[i].name))
            )
        return index

    add("Root Entry", tree, _ROOT)
    mini, mini_fat = bytearray(), []
    big: list[_Entry] = []
    for entry in entries:
        if entry.kind != _STREAM:
            continue
        entry.size = len(entry.data)
        if 0 < entry.size < MINI_CUTOFF:
            entry.start = len(mini) // MINI_SECTOR
            count = math.ceil(entry.size / MINI_SECTOR)
            mini_fat += [entry.start + i + 1 for i in range(count - 1)] + [END]
            mini += entry.data.ljust(count * MINI_SECTOR, b"\0")
        elif entry.size:
            big.append(entry)
    counts = {
        "dir": math.ceil(len(entries) * 128 / SECTOR),
        "mini_fat": math.ceil(len(mini_fat) * 4 / SECTOR),
        "mini": math.ceil(len(mini) / SECTOR),
    }
    stream_sectors = sum(math.ceil(e.size / SECTOR) for e in big)
    fat_count = 1
    while fat_count * SECTOR // 4 < fat_count + sum(counts.values()) + stream_sectors:
        fat_count += 1
    assert fat_count <= 109, "too large for a header-only FAT"
    fat: list[int] = [FAT_SECTOR] * fat_count
    body = bytearray()

    def chain(data: bytes) -> int:
        """Append `data` as whole sectors chained in the FAT; return its first sector."""
        first = fat_count + len(body) // SECTOR
        count = math.ceil(len(data) / SECTOR)
        fat.extend([first + i + 1 for i in range(count - 1)] + [END])
        body.extend(data.ljust(count * SECTOR, b"\0"))
        return first

    root = entries[0]
    dir_start = chain(b"\0" * counts["dir"] * SECTOR)  # written once the starts are known
    mini_fat += [FREE] * (counts["mini_fat"] * SECTOR // 4 - len(mini_fat))
    mini_fat_start = chain(struct.pack(f"<{len(mini_fat)}I", *mini_fat)) if mini_fat else END
    if mini:
        root.start, root.size = chain(bytes(mini)), len(mini)
    for entry in big:
        entry.start = chain(entry.data)
    unused = _ENTRY.pack(b"", 0, 0, 0, NONE, NONE, NONE, b"\0" * 16, 0, 0, 0, 0, 0)
    directory = b"".join(_entry_bytes(e) for e in entries)
    directory += unused * (counts["dir"] * SECTOR // 128 - len(entries))
    offset = (dir_start - fat_count) * SECTOR
    body[offset : offset + len(directory)] = directory
    fat += [FREE] * (fat_count * SECTOR // 4 - len(fat))
    difat = list(range(fat_count)) + [FREE] * (109 - fat_count)
    header = _HEADER.pack(
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        b"\0" * 16,
        0x3E,
        3,
        0xFFFE,
        9,
        6,
        b"\0" * 6,
        0,
        fat_count,
        dir_start,
        0,
        MINI_CUTOFF,
        mini_fat_start,
        counts["mini_fat"],
        END,
        0,
        *difat,
    )
    return header + struct.pack(f"<{len(fat)}I", *fat) + bytes(body)


def _order(name: str) -> tuple[int, str]:
    """The order [MS-CFB] gives siblings: shorter names first, then by upper case."""
    return len(name), name.upper()


def _balance(entries: list[_Entry], ordered: list[int]) -> int:
    if not ordered:
        return NONE
    middle = len(ordered) // 2
    node = entries[ordered[middle]]
    node.left = _balance(entries, ordered[:middle])
    node.right = _balance(entries, ordered[middle + 1 :])
    return ordered[middle]


def _entry_bytes(entry: _Entry) -> bytes:
    name = entry.name.encode("utf-16-le")
    assert len(name) <= 62, entry.name
    return _ENTRY.pack(
        name.ljust(64, b"\0"),
        len(name) + 2,
        entry.kind,
        1,
        entry.left,
        entry.right,
        entry.child,
        b"\0" * 16,
        0,
        0,
        0,
        entry.start,
        entry.size,
    )


# -- messages ----------------------------------------------------------------------------------

_PT_LONG, _PT_UNICODE, _PT_BINARY, _PT_OBJECT = 0x0003, 0x001F, 0x0102, 0x000D
ATTACH_BY_VALUE, ATTACH_BY_REFERENCE, ATTACH_EMBEDDED_MSG = 1, 2, 5


@dataclass
class Item:
    """A message to write: each attachment a file's bytes, an embedded message, or None (a
    link to a file elsewhere: Outlook's attach-by-reference, which holds no bytes)."""

    subject: str = "FW: MARAC referral"
    attachments: list[tuple[str, bytes | Item | None]] = field(default_factory=list)
    body: str = "Please see the referral below."


def msg_file(item: Item) -> bytes:
    """The .msg file Outlook would save for `item`."""
    return compound_file(_message(item, top=True))


def _text(value: str) -> bytes:
    return value.encode("utf-16-le")


def _properties(header: bytes, fixed: dict[int, int], sized: dict[int, int]) -> bytes:
    """A properties stream: `fixed` tag -> 32-bit value, `sized` tag -> byte count."""
    rows = [struct.pack("<IIIi", tag, 6, value, 0) for tag, value in fixed.items()]
    rows += [struct.pack("<IIIi", tag, 6, size, 0) for tag, size in sized.items()]
    return header + b"".join(rows)


def _prop_tag(prop_id: int, prop_type: int) -> int:
    return prop_id << 16 | prop_type


def _message(item: Item, *, top: bool) -> Tree:
    strings = {0x001A: "IPM.Note", 0x0037: item.subject, 0x1000: item.body}
    tree: Tree = {f"__substg1.0_{pid:04X}001F": _text(value) for pid, value in strings.items()}
    sized = {_prop_tag(pid, _PT_UNICODE): len(_text(v)) + 2 for pid, v in strings.items()}
    counts = struct.pack("<IIII", 1, len(item.attachments), 1, len(item.attachments))
    header = b"\0" * 8 + counts + (b"\0" * 8 if top else b"")
    tree["__properties_version1.0"] = _properties(header, {_prop_tag(0x0E07, _PT_LONG): 1}, sized)
    if top:
        tree["__nameid_version1.0"] = {f"__substg1.0_000{n}0102": b"" for n in (2, 3, 4)}
    address = "marac_referrals@west-midlands.pnn.police.uk"
    tree["__recip_version1.0_#00000000"] = {
        "__substg1.0_3001001F": _text("MARAC referrals"),
        "__substg1.0_39FE001F": _text(address),
        "__properties_version1.0": _properties(
            b"\0" * 8,
            {_prop_tag(0x0C15, _PT_LONG): 1},
            {_prop_tag(0x3001, _PT_UNICODE): 32, _prop_tag(0x39FE, _PT_UNICODE): 88},
        ),
    }
    for number, (name, content) in enumerate(item.attachments):
        tree[f"__attach_version1.0_#{number:08X}"] = _attachment(name, content)
    return tree


def _attachment(name: str, content: bytes | Item | None) -> Tree:
    short = (name.rpartition(".")[0][:8] + "." + name.rpartition(".")[2][:3]).upper()
    tree: Tree = {"__substg1.0_3707001F": _text(name), "__substg1.0_3704001F": _text(short)}
    sized = {
        _prop_tag(0x3707, _PT_UNICODE): len(_text(name)) + 2,
        _prop_tag(0x3704, _PT_UNICODE): len(_text(short)) + 2,
    }
    if isinstance(content, Item):
        method = ATTACH_EMBEDDED_MSG
        tree["__substg1.0_3701000D"] = _message(content, top=False)
        sized[_prop_tag(0x3701, _PT_OBJECT)] = 0xFFFFFFFF
    elif content is None:
        method = ATTACH_BY_REFERENCE
        path = _text(f"\\\\fileserver\\referrals\\{name}")
        tree["__substg1.0_3708001F"] = path  # PidTagAttachPathname: a link, no bytes
        sized[_prop_tag(0x3708, _PT_UNICODE)] = len(path) + 2
    else:
        method = ATTACH_BY_VALUE
        tree["__substg1.0_37010102"] = content
        sized[_prop_tag(0x3701, _PT_BINARY)] = len(content)
    tree["__properties_version1.0"] = _properties(
        b"\0" * 8, {_prop_tag(0x3705, _PT_LONG): method}, sized
    )
    return tree


# -- the committed examples --------------------------------------------------------------------


def _form() -> bytes:
    from tests.hostile_blocks import referral_docx

    return referral_docx(7001)


def _pdf() -> bytes:
    return b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


EXAMPLES: dict[str, Callable[[], bytes]] = {
    "form.msg": lambda: msg_file(Item(attachments=[("MARAC referral.docx", _form())])),
    "form-in-embedded.msg": lambda: msg_file(
        Item(
            subject="FW: FW: MARAC referral",
            attachments=[("MARAC referral", Item(attachments=[("referral.docx", _form())]))],
        )
    ),
    "no-form.msg": lambda: msg_file(Item(attachments=[("scan.pdf", _pdf())])),
}


def write_examples() -> None:
    OUTLOOK_DIR.mkdir(parents=True, exist_ok=True)
    for name, build in EXAMPLES.items():
        (OUTLOOK_DIR / name).write_bytes(build())


if __name__ == "__main__":
    write_examples()
