"""Settings of the mail backends: where mail comes from and how it goes out.

Apart from `mailbot.config.model` because each backend (Maildir, IMAP, Exchange) has its own
connection settings; `mailbox.kind` chooses one, validated eagerly like everything else.
Passwords and client secrets are never here: `*_credential` names a key of the secrets
file's [credentials] table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)


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
    """An IMAP mailbox. `auth = "password"` logs in with a password (LOGIN, or AUTHENTICATE
    PLAIN); `auth = "oauth2"` signs in with XOAUTH2 as an Entra app registration (client
    credentials through MSAL, a secret or a certificate), which is what Exchange Online
    accepts: it refuses passwords over IMAP."""

    kind: Literal["imap"]
    address: str
    host: str
    port: int = Field(default=993, ge=1, le=65535)
    security: Literal["tls", "starttls"] = "tls"
    username: str  # oauth2 with Exchange Online: the mailbox's address
    auth: Literal["password", "oauth2"] = "password"
    password_credential: str = "imap_password"
    tenant_id: str | None = None  # oauth2: the Entra directory (tenant) id
    client_id: str | None = None  # oauth2: the app registration's application (client) id
    client_secret_credential: str = "imap_client_secret"  # oauth2, unused with a certificate
    certificate_path: Path | None = None  # oauth2: PEM with the private key (and certificate)
    certificate_thumbprint: str | None = None  # SHA-1 thumbprint, hex, as Entra shows it
    certificate_passphrase_credential: str | None = None  # if the PEM key is encrypted
    oauth_scope: str = "https://outlook.office365.com/.default"  # Exchange Online's IMAP
    authority_host: str = "https://login.microsoftonline.com"
    ca_file: Path | None = None  # extra CA bundle (e.g. an internal CA); system CAs otherwise
    inbox: str = "INBOX"
    folders: FolderNames = FolderNames()
    idle_seconds: int = Field(default=300, ge=10, le=1740)  # re-IDLE before 29 minutes
    timeout_seconds: float = Field(default=30.0, gt=0)

    _paths = field_validator("ca_file", "certificate_path")(resolve_path)

    @model_validator(mode="after")
    def _oauth2_whole(self) -> ImapMailboxSettings:
        if self.auth == "oauth2":
            missing = [n for n in ("tenant_id", "client_id") if not getattr(self, n)]
            if missing:
                raise ValueError(f'auth = "oauth2" needs {" and ".join(missing)}')
        if (self.certificate_path is None) != (self.certificate_thumbprint is None):
            raise ValueError("certificate_path and certificate_thumbprint go together")
        if not self.authority_host.lower().startswith("https://"):
            raise ValueError("authority_host must be an https:// URL")
        return self


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


class GraphMailboxSettings(Settings):
    """Exchange Online through Microsoft Graph (app-only: an Entra app registration scoped to
    the referrals mailbox by an application access policy; see the README)."""

    kind: Literal["graph"]
    address: str  # the shared referrals mailbox (primary SMTP address or user id)
    tenant_id: str
    client_id: str
    client_secret_credential: str = "graph_client_secret"  # unused with a certificate
    certificate_path: Path | None = None  # PEM with the private key (and certificate)
    certificate_thumbprint: str | None = None  # SHA-1 thumbprint, hex, as Entra shows it
    certificate_passphrase_credential: str | None = None  # if the PEM key is encrypted
    folders: FolderNames = FolderNames()
    delta_poll_seconds: float = Field(default=5.0, ge=1.0, le=300.0)
    notification_url: str | None = None  # public https:// URL relayed to notification_listen
    notification_listen: str = "127.0.0.1:8765"  # host:port the notification receiver binds
    graph_url: str = "https://graph.microsoft.com/v1.0"  # national clouds differ
    authority_host: str = "https://login.microsoftonline.com"
    timeout_seconds: float = Field(default=60.0, gt=0)
    retry_budget_seconds: float = Field(default=120.0, ge=0)  # waits per operation, in all
    send_via_graph: bool = True  # send with sendMail (saved to Sent Items), not [sender]

    _paths = field_validator("certificate_path")(resolve_path)

    @model_validator(mode="after")
    def _certificate_whole(self) -> GraphMailboxSettings:
        if (self.certificate_path is None) != (self.certificate_thumbprint is None):
            raise ValueError("certificate_path and certificate_thumbprint go together")
        for name in ("notification_url", "graph_url", "authority_host"):
            value = getattr(self, name)
            if value is not None and not value.lower().startswith("https://"):
                raise ValueError(f"{name} must be an https:// URL")
        return self


MailboxSettings = Annotated[
    MaildirMailboxSettings | ImapMailboxSettings | ExchangeMailboxSettings | GraphMailboxSettings,
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


class WebSettings(Settings):
    """The exceptions-queue web page (`mailbot web`, or in the daemon when enabled)."""

    enabled: bool = False  # serve it from `mailbot run` too
    host: str = "127.0.0.1"  # loopback only unless a TLS reverse proxy is put in front
    port: int = Field(default=8080, ge=1, le=65535)
    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    session_max_hours: int = Field(default=8, ge=1, le=24)
    cookie_secure: bool = False  # true when people reach it over HTTPS (behind a proxy)
    allowed_hosts: tuple[str, ...] = ("127.0.0.1", "localhost")  # Host headers accepted
