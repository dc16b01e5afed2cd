"""IMAP mailbox settings for Microsoft 365 (XOAUTH2): the commented example is valid, and an
incomplete app registration fails loudly when the configuration is read."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pydantic
import pytest

from mailbot.config.mail import ImapMailboxSettings

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "example.toml"
BASE = {
    "kind": "imap",
    "address": "marac_referrals@example.org",
    "host": "outlook.office365.com",
    "username": "marac_referrals@example.org",
}
TENANT = "6f1c2c4e-7b0d-4f8e-9d65-2f3f4a1b8c9d"


def _example(marker: str) -> dict[str, object]:
    text = EXAMPLE.read_text()
    start = text.index(marker)
    lines = []
    for line in text[text.rindex("# [mailbox]", 0, start) :].splitlines()[1:]:
        if line.startswith("# #"):
            continue
        if not line.startswith("# "):
            break
        lines.append(line[2:])
    return tomllib.loads("\n".join(lines))


def test_the_commented_microsoft_365_imap_example_is_valid() -> None:
    """GIVEN the commented-out Microsoft 365 IMAP example in config/example.toml
    WHEN it is uncommented and validated
    THEN it is an IMAP mailbox signing in with XOAUTH2 for Exchange Online's IMAP scope."""
    settings = ImapMailboxSettings.model_validate(_example('# auth = "oauth2"'))
    assert settings.auth == "oauth2"
    assert settings.host == "outlook.office365.com"
    assert settings.oauth_scope == "https://outlook.office365.com/.default"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"auth": "oauth2"}, 'auth = "oauth2" needs tenant_id and client_id'),
        ({"auth": "oauth2", "tenant_id": TENANT}, "needs client_id"),
        (
            {
                "auth": "oauth2",
                "tenant_id": TENANT,
                "client_id": TENANT,
                "certificate_path": "/etc/mailbot/imap.pem",
            },
            "go together",
        ),
        ({"authority_host": "http://login.example"}, "https://"),
        ({"auth": "kerberos"}, "auth"),
    ],
)
def test_an_incomplete_oauth2_setting_is_refused(changes: dict[str, object], message: str) -> None:
    """GIVEN IMAP settings with auth = "oauth2" but no tenant or client id, a certificate
    without its thumbprint, a plain-http authority, or an unknown auth
    WHEN validated THEN each is refused, saying what is missing."""
    with pytest.raises(pydantic.ValidationError, match=message):
        ImapMailboxSettings.model_validate(BASE | changes)


def test_password_remains_the_default() -> None:
    """GIVEN an existing IMAP configuration without `auth` WHEN read THEN it logs in with
    the password, as before."""
    assert ImapMailboxSettings.model_validate(BASE).auth == "password"
