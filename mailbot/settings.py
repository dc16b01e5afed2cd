"""Settings of the mail backends: where mail comes from and how it goes out.

Split from `mailbot.config` because each backend (Maildir, IMAP, Exchange) has its own
connection settings; `mailbox.kind` chooses one, validated eagerly like everything else.
Passwords and client secrets are never here: `*_credential` names a key of the secrets
file's [credentials] table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def resolve_path(value: Path | None, info: ValidationInfo) -> Path | None:
    """Relative paths in a config file resolve against that file's directory."""
    base = (info.context or {}).get("base")
    if value is None or value.is_absolute() or base is None:
        return value
    return (Path(base) / value).resolve()


class FolderNames(Settings):
    processed: str = "Processed"
    exceptions: str = "Exceptions"


class MaildirMailboxSettings(Settings):
    kind: Literal["maildir"] = "maildir"
    address: str
    path: Path | None = None  # default: <state_dir>/mail

    _paths = field_validator("path")(resolve_path)


class ImapMailboxSettings(Settings):
    kind: Literal["imap"]
    address: str
    host: str
    port: int = Field(default=993, ge=1, le=65535)
    security: Literal["tls", "starttls"] = "tls"
    username: str
    password_credential: str = "imap_password"
    ca_file: Path | None = None  # extra CA bundle (e.g. an internal CA); system CAs otherwise
    inbox: str = "INBOX"
    folders: FolderNames = FolderNames()
    idle_seconds: int = Field(default=300, ge=10, le=1740)  # re-IDLE before 29 minutes
    timeout_seconds: float = Field(default=30.0, gt=0)

    _paths = field_validator("ca_file")(resolve_path)


class ExchangeMailboxSettings(Settings):
    kind: Literal["exchange"]
    address: str  # the shared referrals mailbox (primary SMTP address)
    ews_url: str  # fixed EWS endpoint, e.g. https://mail.example.org/EWS/Exchange.asmx
    autodiscover: bool = False
    auth: Literal["oauth2", "ntlm", "basic"] = "oauth2"
    username: str | None = None  # ntlm/basic: DOMAIN\\user or user@domain
    password_credential: str = "exchange_password"
    tenant_id: str | None = None  # oauth2
    client_id: str | None = None  # oauth2
    client_secret_credential: str = "exchange_client_secret"
    access: Literal["impersonation", "delegate"] = "delegate"
    folders: FolderNames = FolderNames()
    send_via_ews: bool = False  # send through EWS (so replies appear in Sent Items)
    timeout_seconds: float = Field(default=60.0, gt=0)


MailboxSettings = Annotated[
    MaildirMailboxSettings | ImapMailboxSettings | ExchangeMailboxSettings,
    Field(discriminator="kind"),
]


class SenderSettings(Settings):
    """How outgoing mail leaves: the Outbox Maildir (embedded default) or SMTP."""

    kind: Literal["maildir", "smtp"] = "maildir"
    host: str = "localhost"
    port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True  # required unless the host is localhost
    username: str | None = None
    password_credential: str = "smtp_password"
    timeout_seconds: float = Field(default=30.0, gt=0)
    max_attempts: int = Field(default=8, ge=1)  # transient failures, across loop passes
    ca_file: Path | None = None  # CA bundle to trust instead of the system CAs (internal relay)

    _paths = field_validator("ca_file")(resolve_path)

    @field_validator("starttls")
    @classmethod
    def _tls_unless_local(cls, value: bool, info: ValidationInfo) -> bool:
        host = str(info.data.get("host", ""))
        if not value and host not in ("localhost", "127.0.0.1", "::1"):
            raise ValueError("STARTTLS is required for an SMTP server that is not localhost")
        return value
