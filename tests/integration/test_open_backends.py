"""Opening what the configuration names: the mailbox (`mailbot.ingest.open`) and the sender
(`mailbot.dispatch.send.open`).

Each backend is imported only when configured, inside these two functions, so a typo in a
lazy import would pass every other test that builds its backend directly: these open each
kind the way the daemon does, and check that none connects before it is used.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
import requests_mock
import respx
from pydantic import SecretStr

from mailbot.config import Config
from mailbot.config.mail import ExchangeMailboxSettings, SenderSettings
from mailbot.credentials import Secrets
from mailbot.dispatch.send.ews import ExchangeSender
from mailbot.dispatch.send.graph import GraphSender
from mailbot.dispatch.send.maildir import MaildirSender
from mailbot.dispatch.send.open import open_outgoing
from mailbot.dispatch.send.smtp import SmtpSender
from mailbot.errors import ConfigError
from mailbot.ingest.exchange.mailbox import ExchangeMailbox
from mailbot.ingest.graph.mailbox import GraphMailbox
from mailbot.ingest.maildir import MaildirMailbox
from mailbot.ingest.open import open_mailbox
from mailbot.models import Folder
from mailbot.store import Store
from tests.integration import graph_mocks

EWS_URL = "https://mail.west-midlands.example/EWS/Exchange.asmx"
ADDRESS = "marac_referrals@west-midlands.pnn.police.uk"
RAW = (
    f"From: <{ADDRESS}>\r\nTo: <jane.chair@agency.example.net>\r\n"
    "Subject: Referral accepted\r\n\r\nThank you.\r\n"
).encode()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    database = Store(tmp_path / "state.db")
    yield database
    database.close()


def _secrets(**plain: str) -> Secrets:
    return Secrets(credentials={name: SecretStr(value) for name, value in plain.items()})


def test_the_embedded_default_opens_the_maildirs(config: Config, store: Store) -> None:
    """GIVEN the example configuration (Maildir in, Outbox Maildir out)
    WHEN the mailbox and the sender are opened
    THEN they are the Maildir backends, and a message sent lands in the Outbox of the
    configured mail directory."""
    with (
        closing(open_mailbox(config, Secrets(), store)) as mailbox,
        closing(open_outgoing(config, Secrets(), mailbox)) as sender,
    ):
        assert isinstance(mailbox, MaildirMailbox)
        assert isinstance(sender, MaildirSender)
        sender.send(RAW, ADDRESS, ["jane.chair@agency.example.net"])
    [sent] = (config.mail_dir / Folder.OUTBOX.value / "new").iterdir()
    assert sent.read_bytes() == RAW


def test_an_smtp_sender_is_opened_with_its_password_from_the_secrets(
    config: Config, store: Store
) -> None:
    """GIVEN `[sender]` set to an SMTP relay with a username
    WHEN the sender is opened with its password in the secrets, then without it
    THEN the first is an SmtpSender that has not connected yet; the second is refused
    with a ConfigError naming the missing credential."""
    smtp = SenderSettings(kind="smtp", host="relay.example.org", username="mailbot")
    config = config.model_copy(update={"sender": smtp})
    mailbox = open_mailbox(config, Secrets(), store)

    with closing(open_outgoing(config, _secrets(smtp_password="s3cret"), mailbox)) as sender:
        assert isinstance(sender, SmtpSender)
        assert "relay.example.org" in repr(sender)
        assert "s3cret" not in repr(sender)
    with pytest.raises(ConfigError, match=r"secrets\.credentials\.smtp_password"):
        open_outgoing(config, Secrets(), mailbox)


def test_an_exchange_mailbox_with_send_via_ews_sends_through_its_own_login(
    config: Config, store: Store
) -> None:
    """GIVEN an Exchange mailbox with `send_via_ews`, its password in the secrets
    WHEN the mailbox and the sender are opened
    THEN they are an ExchangeMailbox and an ExchangeSender on that mailbox's connection,
    and no request has gone to the server yet."""
    settings = ExchangeMailboxSettings(
        kind="exchange",
        address=ADDRESS,
        ews_url=EWS_URL,
        auth="basic",
        username="WMP\\svc-marac",
        send_via_ews=True,
    )
    config = config.model_copy(update={"mailbox": settings})
    with requests_mock.Mocker() as server:
        with closing(open_mailbox(config, _secrets(exchange_password="pw"), store)) as mailbox:
            sender = open_outgoing(config, Secrets(), mailbox)
            assert isinstance(mailbox, ExchangeMailbox)
            assert isinstance(sender, ExchangeSender)
            assert sender._connection is mailbox.connection
        assert server.call_count == 0


def test_a_graph_mailbox_with_send_via_graph_sends_through_its_own_client(
    config: Config, store: Store
) -> None:
    """GIVEN a Graph mailbox (`send_via_graph` is its default)
    WHEN the mailbox and the sender are opened
    THEN they are a GraphMailbox and a GraphSender on that mailbox's client, and no request
    has gone to Graph or to the login service yet."""
    config = config.model_copy(update={"mailbox": graph_mocks.settings()})
    with respx.mock(assert_all_called=False) as router:
        graph_mocks.mock_login(router)
        with closing(open_mailbox(config, _secrets(**graph_mocks.SECRETS), store)) as mailbox:
            sender = open_outgoing(config, Secrets(), mailbox)
            assert isinstance(mailbox, GraphMailbox)
            assert isinstance(sender, GraphSender)
            assert sender._client is mailbox.client
        assert router.calls.call_count == 0
