"""mailbot's one exception hierarchy.

Outcomes of processing an email are values (`Decision`), never exceptions: these are for the
truly exceptional (a configuration that cannot work, a broken database). Messages carry no
personal data and no secrets, because they end up in logs and on operators' screens.
"""

from __future__ import annotations


class MailbotError(Exception):
    """Base class: anything mailbot raises on purpose."""


class ConfigError(MailbotError):
    """The configuration or secrets file cannot be used. `key` names the offending setting."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}" if key else message)
        self.key = key


class StoreError(MailbotError):
    """The state database is unusable (wrong schema version, not writable)."""


class HistoryImportError(MailbotError):
    """A case-history CSV has bad rows; nothing was imported."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class StoreBusy(StoreError):
    """The database could not be written just now (locked by another process, read-only,
    full): nothing was decided, and the email waits in the Inbox for the next pass."""
