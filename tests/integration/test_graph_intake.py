"""End to end on the Graph backend: the intake runs on Exchange Online as on a Maildir.

Graph is mocked at the HTTP boundary (respx): the inbox's delta round lists the referral
emails and `$value` serves their MIME; the whole intake and runner then run for real.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import respx

from mailbot.config import Config
from mailbot.context import Context
from mailbot.credentials import load_secrets
from mailbot.demo.sample_mail import compose, docx_attachment
from mailbot.ingest.graph.mailbox import GraphMailbox
from mailbot.intake.process import Intake
from mailbot.logs import get_logger
from mailbot.models import Folder, Outcome
from mailbot.runner import Runner
from mailbot.store import Store
from tests.conftest import DATA, NOW, FixedClock
from tests.integration.graph_mocks import (
    CREATED_ID,
    MAILBOX,
    PROCESSED_ID,
    USER,
    FakeTime,
    mock_delta_round,
    mock_login,
    mock_value,
    open_mailbox,
    reply,
)

POLICE = "pc.lee.adams@west-midlands.pnn.police.uk"
HOMES = "tenancy@wolverhamptonhomes.org.uk"
SAMPLES = DATA / "forms" / "samples"
REFS = [entry["id"] for entry in reply("delta-page-1.json")["value"][::-1]] + [
    reply("delta-page-2.json")["value"][0]["id"]
]  # oldest arrival first


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    database = Store(tmp_path / "state.db")
    yield database
    database.close()


def _referral(n: int, sender: str, sample: str) -> bytes:
    form = (SAMPLES / sample).read_bytes()
    return compose(
        sender=sender,
        to=MAILBOX,
        subject="MARAC referral",
        attachments=[docx_attachment("MARAC referral.docx", form)],
        message_id=f"<graph-{n}@{sender.rpartition('@')[2]}>",
        sent_at=NOW,
    )


def _intake(config: Config, store: Store, mailbox: GraphMailbox) -> Intake:
    return Intake(
        Context.of(config, load_secrets(config, environ={}), store, FixedClock(), get_logger()),
        mailbox,
    )


def test_the_intake_pipeline_runs_on_graph(config: Config, store: Store) -> None:
    """GIVEN the accepted sample referral emailed by West Midlands Police, a referral whose
    password mailbot does not know and one missing fields, in the Exchange Online inbox
    WHEN the runner processes the inbox once
    THEN the first case is accepted and moved to Processed, the second held and moved to
    Exceptions (created, as it was missing), the third returned and moved to Processed, and
    the delta link is saved."""
    time = FakeTime()
    with respx.mock(assert_all_called=False) as router:
        mock_login(router)
        mock_delta_round(router)
        mock_value(router, REFS[0], _referral(1, POLICE, "01-accepted-controls.docx"))
        mock_value(router, REFS[1], _referral(2, HOMES, "08-encrypted-unknown-password.docx"))
        mock_value(router, REFS[2], _referral(3, POLICE, "04-returned-missing-fields.docx"))
        router.get(f"{USER}/mailFolders", params={"$filter": "displayName eq 'Processed'"}).respond(
            json=reply("mail-folders-processed.json")
        )
        router.get(f"{USER}/mailFolders").respond(json=reply("mail-folders-none.json"))
        created = router.post(f"{USER}/mailFolders").respond(
            201, json=reply("mail-folder-created.json")
        )
        moves = [
            router.post(f"{USER}/messages/{ref}/move").respond(
                201, json={**reply("message-moved.json"), "id": ref}
            )
            for ref in REFS
        ]
        mailbox = open_mailbox(store, time, max_bytes=config.limits.max_email_bytes)
        intake = _intake(config, store, mailbox)
        try:
            assert Runner(intake, mailbox, get_logger()).run_once() == 3
        finally:
            mailbox.close()

    cases = {case.message_id: case for case in intake.ctx.casebook.cases()}
    accepted = cases[f"<graph-1@{POLICE.rpartition('@')[2]}>"]
    held = cases[f"<graph-2@{HOMES.rpartition('@')[2]}>"]
    assert accepted.decision.outcome is Outcome.ACCEPTED
    assert accepted.decision.criteria == ("visible_high_risk",)
    assert held.decision.reasons == ("cannot_decrypt",)
    assert cases[f"<graph-3@{POLICE.rpartition('@')[2]}>"].decision.outcome is Outcome.RETURNED
    assert json.loads(moves[0].calls[0].request.content) == {"destinationId": PROCESSED_ID}
    assert json.loads(moves[1].calls[0].request.content) == {"destinationId": CREATED_ID}
    assert json.loads(moves[2].calls[0].request.content) == {"destinationId": PROCESSED_ID}
    assert created.call_count == 1
    entry = store.ledger_get(accepted.message_key)
    assert entry is not None
    assert entry.folder == Folder.PROCESSED.value
    assert (
        store.state_get(f"graph:{MAILBOX}:inbox:delta_link")
        == reply("delta-page-2.json")["@odata.deltaLink"]
    )
