"""The configuration: one validated model read from a TOML file (`model`), with the mail
backends' and the web page's sections apart (`mail`), each with its own connection settings.

Secrets are never here (`mailbot.credentials`). What the rest of mailbot imports is named
below, so `from mailbot.config import Config` reads the same wherever the model lives.
"""

from mailbot.config.model import (
    WEEKDAYS,
    Config,
    IdvaService,
    MeetingSchedule,
    ThresholdSettings,
    config_error,
    load_config,
    read_toml,
)

__all__ = [
    "WEEKDAYS",
    "Config",
    "IdvaService",
    "MeetingSchedule",
    "ThresholdSettings",
    "config_error",
    "load_config",
    "read_toml",
]
