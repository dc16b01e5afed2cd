"""The minutes of a meeting: checking the administrators' PDFs and planning the emails.

PROCESS.md "Minutes": one PDF per case goes to the area's distribution list: as attachments
by the secure route, as an AES-256 zip with the agency's password by the password route,
split into numbered emails where one would exceed the recipient's size limit. Files that are
not PDFs are refused before anything is sent: a misnamed Word draft or a stray spreadsheet
sent to ten agencies cannot be called back, so every file is checked by content and by name
(it must be a case listed at that meeting) and one bad file stops the whole set.

The size limit is compared with the whole email as it will be sent (headers, body and
base64-encoded attachments), since that is what a mail server refuses. Sizes are computed
exactly without encoding every candidate split (`distribution.email_size`; AES zip entries
are independent, so a zip's size is the sum of its entries'). Pure: no database here.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import Field

from mailbot.dispatch.compose import FileAttachment, Planned
from mailbot.dispatch.distribution import Recipient, email_size
from mailbot.dispatch.routes import RouteKind
from mailbot.dispatch.templates import Templates
from mailbot.errors import MailbotError
from mailbot.ingest.document.sniff import classify
from mailbot.models import DocKind, Frozen

PDF_NAME = re.compile(r"^(MARAC-\d{4}-\d{5})\.pdf$", re.IGNORECASE)
PDF_TYPE = "application/pdf"
ZIP_TYPE = "application/zip"
_MAX_ROUNDS = 5


class MinutesRefused(MailbotError):
    """The set cannot be sent; `problems` says which file is wrong and why."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class MinutesFile(Frozen):
    reference: str
    filename: str
    data: bytes = Field(repr=False)


def check_files(
    folder: Path, listed: Collection[str], ignore: Collection[str] = ()
) -> list[MinutesFile]:
    """Every file in `folder` as a checked PDF of a listed case, or MinutesRefused."""
    if not folder.is_dir():
        raise MinutesRefused([f"{folder}: not a folder"])
    files: list[MinutesFile] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        if path.name in ignore:
            continue
        if not path.is_file():
            problems.append(
                f"{path.name}: not a file (minutes must be PDFs directly in the folder)"
            )
            continue
        data = path.read_bytes()
        wrong: list[str] = []
        kind = classify(data)
        if kind is not DocKind.PDF:
            wrong.append(f"not a PDF (its content is {kind.value}); save or print it as PDF")
        match = PDF_NAME.match(path.name)
        if match is None:
            wrong.append("not named after a case (name it like MARAC-2026-00012.pdf)")
        elif match.group(1).upper() not in listed:
            wrong.append(f"{match.group(1).upper()} is not listed at this meeting")
        elif match.group(1).upper() in seen:
            wrong.append(
                f"a second file for {match.group(1).upper()} (see {seen[match.group(1).upper()]})"
            )
        if wrong:
            problems.append(f"{path.name}: {'; '.join(wrong)}")
            continue
        assert match is not None
        seen[match.group(1).upper()] = path.name
        files.append(MinutesFile(reference=match.group(1).upper(), filename=path.name, data=data))
    if not files and not problems:
        problems.append(f"{folder}: no minutes in the folder")
    if problems:
        raise MinutesRefused(problems)
    return files


def zip_files(files: Sequence[MinutesFile], password: str) -> bytes:
    """An AES-256 (WinZip AE-2) zip of `files`, encrypted with `password`."""
    # Imported here, not at start-up: pyzipper and pycryptodomex are start-up time and memory
    # the daemon needs only when minutes actually go out by the password route.
    import pyzipper

    buffer = io.BytesIO()
    with pyzipper.AESZipFile(
        buffer, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES
    ) as archive:
        archive.setpassword(password.encode())
        archive.setencryption(pyzipper.WZ_AES, nbits=256)
        for f in files:
            archive.writestr(f.filename, f.data)
    return buffer.getvalue()


def pack(count: int, fits: Callable[[list[int], int, int], bool]) -> list[list[int]] | None:
    """Split items 0..count-1, in order, into emails; `fits(items, part, parts)`.

    Greedy, repeated until the number of parts it assumed for the "part k of n" labels is
    the number it made. None when one item cannot fit on its own.
    """
    parts = 1
    batches: list[list[int]] = []
    for _ in range(_MAX_ROUNDS):
        batches = []
        current: list[int] = []
        for i in range(count):
            if current and not fits([*current, i], len(batches) + 1, parts):
                batches.append(current)
                current = []
            if not current and not fits([i], len(batches) + 1, parts):
                return None
            current.append(i)
        batches.append(current)
        if len(batches) == parts:
            break
        parts = len(batches)
    ok = all(fits(b, k, len(batches)) for k, b in enumerate(batches, 1))
    return batches if ok else None


@dataclass(frozen=True)
class MinutesPlan:
    """How to write one recipient's minutes emails (everything but the run's number)."""

    templates: Templates
    context: dict[str, Any]  # meeting, team_address
    from_address: str
    now: datetime
    limit: int

    def emails(self, recipient: Recipient, files: Sequence[MinutesFile]) -> list[Planned]:
        """The recipient's emails, each within `limit`; MinutesRefused if one file is too big."""
        if recipient.route.kind is RouteKind.PASSWORD:
            base = len(zip_files([], "size"))
            entries = [len(zip_files([f], "size")) - base for f in files]

            def size(batch: list[int], part: int, parts: int) -> int:
                planned = self._planned(recipient, [files[i] for i in batch], part, parts, b"")
                return email_size(
                    planned,
                    None,
                    self.from_address,
                    self.now,
                    [base + sum(entries[i] for i in batch)],
                )
        else:

            def size(batch: list[int], part: int, parts: int) -> int:
                chosen = [files[i] for i in batch]
                planned = self._planned(recipient, chosen, part, parts, None)
                return email_size(
                    planned, None, self.from_address, self.now, [len(f.data) for f in chosen]
                )

        batches = pack(len(files), lambda b, k, n: size(b, k, n) <= self.limit)
        if batches is None:
            big = max(files, key=lambda f: len(f.data))
            raise MinutesRefused(
                [
                    f"{big.filename}: {len(big.data)} bytes is too large to"
                    f" email to {recipient.address} (its limit is {self.limit}"
                    " bytes a whole email)"
                ]
            )
        password = recipient.route.password
        return [
            self._planned(
                recipient,
                chosen,
                k,
                len(batches),
                zip_files(chosen, password) if password else None,
            )
            for k, chosen in enumerate(([files[i] for i in b] for b in batches), 1)
        ]

    def _planned(
        self,
        recipient: Recipient,
        chosen: list[MinutesFile],
        part: int,
        parts: int,
        archive: bytes | None,
    ) -> Planned:
        encrypted = recipient.route.kind is RouteKind.PASSWORD
        meeting = self.context["meeting"]
        subject, body = self.templates.render(
            "minutes_encrypted" if encrypted else "minutes",
            **self.context,
            part=part,
            parts=parts,
            files=[f.filename for f in chosen],
        )
        if encrypted:
            label = f" part {part} of {parts}" if parts > 1 else ""
            name = f"{meeting['area']} MARAC minutes {meeting['iso']}{label}.zip"
            attachments: tuple[FileAttachment, ...] = (
                FileAttachment(filename=name, data=archive or b"", content_type=ZIP_TYPE),
            )
        else:
            attachments = tuple(
                FileAttachment(filename=f.filename, data=f.data, content_type=PDF_TYPE)
                for f in chosen
            )
        return Planned(
            kind="minutes",
            recipient=recipient.address,
            subject=subject,
            body=body,
            attachments=attachments,
            variant=f"{part}/{parts}",
        )
