"""The secrets mailbot needs, kept apart from the configuration.

Agency passwords and server credentials must never sit in the config file or the repo: they
live in a separate file private to the service account (mode 0600, or mailbot refuses to
start), or come from systemd's credentials directory (LoadCredential=), which takes
precedence. Values are SecretStr, so no repr or log line can show them.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from mailbot.config import Config, config_error, read_toml
from mailbot.errors import ConfigError

CREDENTIAL_NAME = "secrets"  # systemd: LoadCredential=secrets:/etc/mailbot/secrets.toml


class Secrets(BaseModel):
    """Agency passwords (current first, then previous) and service credentials."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    agencies: dict[str, AgencySecrets] = {}
    credentials: dict[str, SecretStr] = {}

    def passwords_for(self, agency_id: str | None) -> list[str]:
        if agency_id is None or agency_id not in self.agencies:
            return []
        return [p.get_secret_value() for p in self.agencies[agency_id].passwords]


class AgencySecrets(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    passwords: tuple[SecretStr, ...] = ()


Secrets.model_rebuild()


def credential(secrets: Secrets, name: str, *, required: bool = True) -> str | None:
    """The service credential `name` in plain text, for a backend that logs in with it; a
    missing one is a ConfigError if `required`, else None."""
    value = secrets.credentials.get(name)
    if value is None and required:
        raise ConfigError(f"secrets.credentials.{name}", "is missing from the secrets file")
    return value.get_secret_value() if value is not None else None


def load_secrets(config: Config, environ: dict[str, str] | None = None) -> Secrets:
    """Load secrets from systemd's credentials directory, else the configured file."""
    env = os.environ if environ is None else environ
    cred_dir = env.get("CREDENTIALS_DIRECTORY")
    path = Path(cred_dir) / CREDENTIAL_NAME if cred_dir else config.service.secrets_file
    if path is None:
        return Secrets()
    if not cred_dir:
        _check_private(path)
    try:
        data = read_toml(path, "secrets")
    except OSError as exc:  # not FileNotFoundError: `read_toml` says that one itself
        key = "" if cred_dir else "service.secrets_file"
        raise ConfigError(
            key,
            f"the secrets file {path} cannot be read ({exc.strerror}); it must be a file"
            " owned by the service user with mode 0600 (chown mailbot, chmod 600)",
        ) from None
    try:
        secrets = Secrets.model_validate(data)
    except ValidationError as exc:
        raise config_error(exc, prefix="secrets", source=path, model=Secrets, data=data) from None
    known = {a.id for a in config.agencies}
    stray = sorted(set(secrets.agencies) - known)
    if stray:
        raise ConfigError("secrets.agencies", f"no agency with id {stray} in the config")
    return secrets


def _check_private(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ConfigError(
            "service.secrets_file",
            f"{path} does not exist; create it (mode 0600, owned by the service user)"
            " or correct the path",
        ) from None
    except OSError as exc:  # a folder on the way the service user may not enter
        raise ConfigError(
            "service.secrets_file",
            f"{path} cannot be read ({exc.strerror}); the service user must be able to"
            " reach and read it",
        ) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            "service.secrets_file",
            f"{path} is readable by others (mode {stat.S_IMODE(mode):04o}); run: chmod 600 {path}",
        )
