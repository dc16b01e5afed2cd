"""`mailbot check`'s word on EWS in Exchange Online, by date (`backends.exchange_online_ews`)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from mailbot.config import Config, load_config
from mailbot.service.backends import exchange_online_ews

ONLINE = "https://outlook.office365.com/EWS/Exchange.asmx"


def _exchange(workspace: Path, ews_url: str) -> Config:
    config = load_config(workspace / "mailbot.toml")
    mailbox = {
        "kind": "exchange",
        "address": config.mailbox.address,
        "ews_url": ews_url,
        "auth": "basic",
        "username": "svc-mailbot@example.org",
    }
    return config.model_validate(config.model_dump() | {"mailbox": mailbox})


@pytest.mark.parametrize(
    ("today", "notes", "problems", "words"),
    [
        (date(2026, 9, 30), 1, 0, "will block EWS by default from 1 October 2026"),
        (date(2026, 10, 1), 1, 0, "blocks EWS by default since 1 October 2026"),
        (date(2027, 3, 31), 1, 0, "switches it off on 1 April 2027"),
        (date(2027, 4, 1), 0, 1, "switched EWS off on 1 April 2027"),
    ],
)
def test_the_dates_microsoft_gives_decide_note_or_problem(
    workspace: Path, today: date, notes: int, problems: int, words: str
) -> None:
    """GIVEN an exchange mailbox on Exchange Online's EWS endpoint
    WHEN checked on either side of Microsoft's dates (blocked by default from 1 October
    2026 unless allowed, switched off 1 April 2027)
    THEN it is a note (one line, naming the backend to use) until the switch-off, and a
    problem from then on."""
    found, failing = exchange_online_ews(_exchange(workspace, ONLINE), today)
    assert (len(found), len(failing)) == (notes, problems)
    [line] = found + failing
    assert words in line
    assert "\n" not in line
    assert 'kind = "graph"' in line


def test_an_on_premises_endpoint_gets_no_word(workspace: Path) -> None:
    """GIVEN an on-premises EWS endpoint WHEN checked after the switch-off THEN nothing."""
    config = _exchange(workspace, "https://mail.example.org/EWS/Exchange.asmx")
    assert exchange_online_ews(config, date(2027, 5, 1)) == ([], [])
