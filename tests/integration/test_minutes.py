"""Minutes end to end: checked before anything goes, split by size, encrypted by route.

Three cases are listed at the Wolverhampton MARAC of 11 November 2026; the administrators
write one real PDF per case. Every zip sent is opened with the agency's password and its
PDFs compared byte for byte with the originals.
"""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
import pyzipper
from click.testing import CliRunner

from mailbot.app import App, SystemClock, open_app
from mailbot.cases.casebook import CaseRecord
from mailbot.cli import main
from mailbot.dispatch.outbox import OutboxMessage
from mailbot.meetings.minutes import MinutesRefused
from mailbot.meetings.minutes_jobs import Minutes
from tests.conftest import FixedClock
from tests.integration.conftest import Send
from tests.integration.papers import (
    AFTER_MEETING,
    HOMES,
    MEETING,
    Run,
    attachments,
    body,
    list_cases,
    parse,
    password_for,
    rows,
)
from tests.pdfs import make_pdf
from tests.pii import leaks, personal_values

NHS = "rwt.marac@nhs.net"


@pytest.fixture
def cases(app: App, send: Send, run: Run) -> dict[str, CaseRecord]:
    return list_cases(app, send, run)


def _folder(tmp_path: Path, cases: dict[str, CaseRecord], size: int = 20_000) -> Path:
    folder = tmp_path / "minutes"
    folder.mkdir(exist_ok=True)
    for n, case in enumerate(cases.values()):
        (folder / f"{case.reference}.pdf").write_bytes(
            make_pdf(f"Minutes of {case.reference}", extra_bytes=size + n, seed=n)
        )
    return folder


def _originals(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def _received(app: App, row: OutboxMessage) -> dict[str, bytes]:
    """The PDFs one minutes email carries, unzipped with the agency password if zipped."""
    out: dict[str, bytes] = {}
    for name, data in attachments(row):
        if name.endswith(".zip"):
            with pyzipper.AESZipFile(io.BytesIO(data)) as archive:
                archive.setpassword(password_for(app, str(row.recipient)).encode())
                for info in archive.infolist():
                    assert info.wz_aes_strength == 3  # AES-256
                    assert info.wz_aes_version == 2  # WinZip AE-2
                    out[info.filename] = archive.read(info.filename)
        else:
            assert app.config.is_secure_address(str(row.recipient))
            out[name] = data
    return out


def _send(app: App, folder: Path, **kw: object) -> object:
    return Minutes(app.ctx).send(
        "Wolverhampton",
        MEETING,
        folder,
        actor="admin",
        now=AFTER_MEETING,
        **kw,  # type: ignore[arg-type]
    )


def test_minutes_reach_everyone_intact_by_route(
    app: App, cases: dict[str, CaseRecord], tmp_path: Path
) -> None:
    """GIVEN one PDF per listed case, well under every size limit
    WHEN the minutes are sent
    THEN each of the six recipients gets one email: the secure ones the PDFs attached, the
    password-route one an AES-256 zip that opens with its agency's password, with 7-Zip
    instructions; every PDF arrives byte for byte; no personal data reaches a non-secure
    address."""
    folder = _folder(tmp_path, cases)
    _send(app, folder)
    sent = rows(app, "minutes")
    assert len(sent) == 6
    for row in sent:
        assert parse(row)["X-Mailbot-Kind"] == "minutes"
        assert "part" not in parse(row)["Subject"]
        assert _received(app, row) == _originals(folder)
    [homes] = [r for r in sent if r.recipient == HOMES]
    assert [n for n, _ in attachments(homes)] == ["Wolverhampton MARAC minutes 2026-11-11.zip"]
    text = body(homes)
    assert "7-Zip" in text
    assert "cannot open AES-encrypted zip files" in text
    assert password_for(app, HOMES) not in homes.raw.decode(errors="replace")
    values = set().union(*(personal_values(c.form) for c in cases.values() if c.form))
    for row in rows(app):
        if not app.config.is_secure_address(str(row.recipient)):
            assert leaks(row.raw, values) == [], row.kind


def _limited(workspace: Path, limit: int) -> App:
    """mailbot reopened with this email size limit for the NHS trust and Wolverhampton Homes."""
    path = workspace / "mailbot.toml"
    text = re.sub(
        r"\[minutes\.agency_max_email_bytes\]\n(?:.*\n)*?\n",
        f"[minutes.agency_max_email_bytes]\nrwt = {limit}\nwolvhomes = {limit}\n\n",
        path.read_text(),
        count=1,
    )
    path.write_text(text)
    return open_app(path, FixedClock(AFTER_MEETING))


@pytest.mark.parametrize("recipient", [NHS, HOMES], ids=["secure", "password"])
def test_a_set_that_fits_exactly_goes_in_one_email_and_one_byte_over_splits(
    workspace: Path, app: App, cases: dict[str, CaseRecord], tmp_path: Path, recipient: str
) -> None:
    """GIVEN the size of the one email that carries the whole set to a recipient
    WHEN the limit is exactly that size, then one byte less
    THEN the set goes in one email, then in two numbered ones ("part 1 of 2"), each within
    the limit and together carrying every PDF intact."""
    folder = _folder(tmp_path, cases)
    _send(app, folder)
    [whole] = [r for r in rows(app, "minutes") if r.recipient == recipient]
    size = len(whole.raw)
    app.close()
    for limit, parts in ((size, 1), (size - 1, 2)):
        limited = _limited(workspace, limit)
        before = {r.id for r in rows(limited, "minutes")}
        _send(limited, folder, again=True)
        mine = [
            r for r in rows(limited, "minutes") if r.id not in before and r.recipient == recipient
        ]
        assert len(mine) == parts
        carried: dict[str, bytes] = {}
        for n, row in enumerate(mine, 1):
            assert len(row.raw) <= limit
            if parts > 1:
                assert f"(part {n} of {parts})" in parse(row)["Subject"]
                assert f"this is part {n}\nof {parts}" in body(row)
            carried.update(_received(limited, row))
        assert carried == _originals(folder)
        if parts == 1:
            assert len(mine[0].raw) == limit  # exactly at the boundary
        limited.close()


def test_a_file_too_big_for_any_email_is_refused(
    workspace: Path, app: App, cases: dict[str, CaseRecord], tmp_path: Path
) -> None:
    """GIVEN a recipient whose limit is smaller than one PDF's email
    WHEN the minutes are sent
    THEN nothing is sent to anyone, and the refusal names the file and the recipient."""
    folder = _folder(tmp_path, cases)
    app.close()
    limited = _limited(workspace, 5_000)
    with pytest.raises(MinutesRefused) as refused:
        _send(limited, folder)
    assert "too large to email to" in str(refused.value)
    assert rows(limited, "minutes") == []
    limited.close()


@pytest.mark.parametrize(
    ("name", "data", "why"),
    [
        ("MARAC-2026-00001.pdf", b"PK\x03\x04 a Word file renamed", "not a PDF"),
        ("MARAC-2026-09999.pdf", make_pdf("stray"), "MARAC-2026-09999 is not listed"),
        ("minutes.pdf", make_pdf("unnamed"), "not named after a case"),
        ("notes.txt", b"typed notes", "not a PDF"),
    ],
    ids=["renamed-docx", "unlisted-case", "unnamed", "text-file"],
)
def test_one_wrong_file_stops_the_whole_set(
    workspace: Path,
    app: App,
    cases: dict[str, CaseRecord],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    data: bytes,
    why: str,
) -> None:
    """GIVEN good PDFs and one wrong file in the folder
    WHEN `mailbot minutes send` runs
    THEN it exits non-zero naming the file and why, and nothing at all is queued."""
    folder = _folder(tmp_path, cases)
    (folder / name).write_bytes(data)
    monkeypatch.setattr(SystemClock, "now", lambda self: AFTER_MEETING)
    result = CliRunner().invoke(
        main,
        [
            "--config",
            str(workspace / "mailbot.toml"),
            "minutes",
            "send",
            "Wolverhampton",
            "2026-11-11",
            str(folder),
        ],
    )
    assert result.exit_code == 1
    assert f"{name}: " in result.output
    assert why in result.output
    assert "nothing was sent" in result.output
    assert rows(app, "minutes") == []


def test_the_command_sends_once_and_needs_again_for_a_second_set(
    workspace: Path,
    app: App,
    cases: dict[str, CaseRecord],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """GIVEN minutes for two of the three listed cases
    WHEN the command runs, then runs again without and with --again
    THEN the first sends and names the case without minutes, the second is refused, the
    third sends a new set."""
    folder = _folder(tmp_path, {k: cases[k] for k in ("new", "repeat")})
    monkeypatch.setattr(SystemClock, "now", lambda self: AFTER_MEETING)
    args = [
        "--config",
        str(workspace / "mailbot.toml"),
        "minutes",
        "send",
        "wolverhampton",
        "2026-11-11",
        str(folder),
    ]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    assert f"no minutes for: {cases['info'].reference}" in first.output
    assert len(rows(app, "minutes")) == 6
    second = CliRunner().invoke(main, args)
    assert second.exit_code == 1
    assert "already sent" in second.output
    third = CliRunner().invoke(main, [*args, "--again"])
    assert third.exit_code == 0, third.output
    assert len(rows(app, "minutes")) == 12


def test_minutes_before_the_meeting_are_refused(
    app: App, cases: dict[str, CaseRecord], tmp_path: Path
) -> None:
    """GIVEN the meeting has not happened yet
    WHEN minutes are sent for it
    THEN they are refused."""
    with pytest.raises(MinutesRefused, match="has not happened yet"):
        Minutes(app.ctx).send(
            "Wolverhampton",
            MEETING,
            _folder(tmp_path, cases),
            actor="admin",
            now=AFTER_MEETING - timedelta(days=1),
        )


def test_the_team_is_reminded_once_when_minutes_are_late(
    app: App, cases: dict[str, CaseRecord], run: Run, clock: FixedClock
) -> None:
    """GIVEN the 11 November meeting (10:00) and no minutes sent
    WHEN the daemon runs just before and after 48 hours, and again later
    THEN the team gets exactly one reminder, after the 48 hours."""

    def reminders() -> list[OutboxMessage]:
        return [
            r for r in rows(app, "team_notice") if "minutes are late" in str(parse(r)["Subject"])
        ]

    clock.current = AFTER_MEETING.replace(day=13, hour=9, minute=59)
    run()
    assert reminders() == []
    clock.current = AFTER_MEETING.replace(day=13, hour=10, minute=0)
    run()
    clock.current += timedelta(days=3)
    run()
    [reminder] = reminders()
    assert "mailbot minutes send Wolverhampton 2026-11-11" in body(reminder)


def test_the_watch_folder_sends_a_ready_folder_and_reports_a_bad_one(
    workspace: Path, app: App, cases: dict[str, CaseRecord], tmp_path: Path
) -> None:
    """GIVEN a configured watch folder with the minutes in "Wolverhampton 2026-11-11" and a
    stray Word file among them
    WHEN the daemon runs before READY is added, after, and after the Word file is removed
    and READY added again
    THEN nothing goes until READY; the bad set sends nothing, gets a FAILED report beside
    it and the team is told once; the corrected set goes and the folder moves to Sent."""
    watch = tmp_path / "watch"
    folder = watch / "Wolverhampton 2026-11-11"
    folder.parent.mkdir()
    _folder(tmp_path, cases).rename(folder)
    (folder / "minutes.docx").write_bytes(b"PK\x03\x04")
    path = workspace / "mailbot.toml"
    path.write_text(
        path.read_text().replace('# watch_dir = "/srv/marac/minutes"', f'watch_dir = "{watch}"')
    )
    app.close()
    watching = open_app(path, FixedClock(AFTER_MEETING))
    watching.runner().run_once()
    assert rows(watching, "minutes") == []
    (folder / "ready.txt").write_text("")
    watching.runner().run_once()
    watching.runner().run_once()
    assert rows(watching, "minutes") == []
    report = watch / f"{folder.name}.FAILED.txt"
    assert "minutes.docx: not a PDF" in report.read_text()
    notices = [r for r in rows(watching, "team_notice") if "watch folder" in body(r)]
    assert len(notices) == 1
    (folder / "minutes.docx").unlink()
    (folder / "READY").write_text("")
    watching.runner().run_once()
    watching.runner().run_once()
    assert len(rows(watching, "minutes")) == 6
    assert not folder.exists()
    assert not report.exists()
    assert (watch / "Sent" / folder.name / f"{cases['new'].reference}.pdf").exists()
    watching.close()


def test_no_meeting_no_minutes(app: App, tmp_path: Path) -> None:
    """GIVEN no case listed on a day
    WHEN minutes are sent for it
    THEN they are refused."""
    with pytest.raises(MinutesRefused, match="no cases are listed"):
        Minutes(app.ctx).send(
            "Coventry", date(2026, 11, 10), tmp_path, actor="admin", now=AFTER_MEETING
        )
