"""The Graph backend against a real Exchange Online mailbox, when credentials are given."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mailbot.config.mail import GraphMailboxSettings
from mailbot.ingest.graph.mailbox import GraphMailbox
from mailbot.store import Store

ENV = "MAILBOT_LIVE_GRAPH_"


@pytest.mark.live
def test_live_graph_mailbox_checks_and_reads(tmp_path: Path) -> None:
    """GIVEN a real mailbox and app registration (MAILBOT_LIVE_GRAPH_TENANT_ID, _CLIENT_ID,
    _CLIENT_SECRET and _ADDRESS)
    WHEN mailbot checks it and reads its inbox once
    THEN the check finds nothing wrong and the delta round completes, every message read as
    MIME; nothing is moved or sent."""
    names = ("TENANT_ID", "CLIENT_ID", "CLIENT_SECRET", "ADDRESS")
    missing = [ENV + name for name in names if not os.environ.get(ENV + name)]
    if missing:
        pytest.skip(f"{', '.join(missing)} not set")
    live = GraphMailboxSettings(
        kind="graph",
        address=os.environ[ENV + "ADDRESS"],
        tenant_id=os.environ[ENV + "TENANT_ID"],
        client_id=os.environ[ENV + "CLIENT_ID"],
    )
    database = Store(tmp_path / "live.db")
    mailbox = GraphMailbox(
        live, {"graph_client_secret": os.environ[ENV + "CLIENT_SECRET"]}, database
    )
    try:
        assert mailbox.check(sending=False) == []
        for message in mailbox.fetch_new():
            assert message.raw
        assert database.state_get(f"graph:{live.address}:inbox:delta_link")
    finally:
        mailbox.close()
        database.close()
