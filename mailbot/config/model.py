"""One validated configuration, loaded from TOML, and the secrets that must never be in it.

Everything a deployment can change is a field here, checked eagerly when mailbot starts, so
a typo fails at once with the key named instead of as a wrong decision weeks later. Secrets
(agency passwords, server credentials) are loaded separately, by `mailbot.credentials`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from mailbot.config.explain import explain, toml_syntax_error
from mailbot.config.mail import (
    MailboxSettings,
    MaildirMailboxSettings,
    SenderSettings,
    Settings,
    WebSettings,
    resolve_path,
)
from mailbot.errors import ConfigError
from mailbot.formdef import AREAS
from mailbot.models import DocumentLimits

DEFAULT_SECURE_DOMAINS = (
    "cjsm.net",
    "pnn.police.uk",
    "police.uk",
    "nhs.net",
    "gcsx.gov.uk",
    "gsi.gov.uk",
    "gsx.gov.uk",
    "gse.gov.uk",
)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")


class ServiceSettings(Settings):
    state_dir: Path
    secrets_file: Path | None = None
    timezone: str = "Europe/London"
    log_format: Literal["json", "console"] = "json"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    poll_interval_seconds: float = Field(default=1.0, gt=0, le=60)
    templates_dir: Path | None = None  # the team's edited message templates, if any
    # Processes opening referrals when there is a backlog (None: one per CPU; 1: none).
    workers: int | None = Field(default=None, ge=1, le=64)

    _paths = field_validator("state_dir", "secrets_file", "templates_dir")(resolve_path)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use a name like Europe/London"
            ) from None
        return value


class TeamSettings(Settings):
    address: str


class SecuritySettings(Settings):
    secure_domains: tuple[str, ...] = DEFAULT_SECURE_DOMAINS
    password_email_window_hours: int = Field(default=72, ge=1, le=24 * 30)
    # Key derivations (one per password tried on one encrypted document, each some 50 ms of
    # CPU) that one password email may spend on its sender's waiting referrals, and that one
    # sender may spend in a day: what is past either waits for an administrator.
    password_email_max_attempts: int = Field(default=48, ge=1, le=10_000)
    password_attempts_per_sender_per_day: int = Field(default=144, ge=1, le=100_000)

    @field_validator("secure_domains")
    @classmethod
    def _lower(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(d.strip().lower().lstrip(".") for d in value)


class ThresholdSettings(Settings):
    dash_yes_minimum: int = Field(default=14, ge=1, le=24)
    escalation_callouts_minimum: int = Field(default=3, ge=1)
    pj_rationale_min_words: int = Field(default=20, ge=1)
    repeat_window_months: int = Field(default=12, ge=1)
    desktop_review_window_months: int = Field(default=6, ge=1)
    desktop_review_count: int = Field(default=4, ge=2)
    below_threshold: Literal["return", "chair_review"] = "return"


class Agency(Settings):
    id: Annotated[str, Field(pattern=r"^[a-z0-9_-]+$")]
    name: str
    domains: tuple[str, ...]
    secure: bool = False  # marked secure by name (e.g. a council on TLS-enforced gov.uk)

    @field_validator("domains")
    @classmethod
    def _lower(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(d.strip().lower() for d in value)


class IdvaService(Settings):
    id: Annotated[str, Field(pattern=r"^[a-z0-9_-]+$")]
    name: str
    address: str


class IdvaRule(Settings):
    """Route an area's alerts to a service; the first rule whose condition holds wins."""

    area: str
    service: str
    when: Literal["always", "dash_q16_yes", "young_person"] = "always"


class MeetingSchedule(Settings):
    frequency: Literal["working_days", "weekly", "fortnightly"]
    weekday: Literal["monday", "tuesday", "wednesday", "thursday", "friday"] | None = None
    anchor: date | None = None  # first meeting of a fortnightly series
    time: time
    venue: str
    capacity: int = Field(default=20, ge=1)

    @model_validator(mode="after")
    def _complete(self) -> MeetingSchedule:
        if self.frequency != "working_days" and self.weekday is None:
            raise ValueError(f"a {self.frequency} schedule needs weekday")
        if self.frequency == "fortnightly" and self.anchor is None:
            raise ValueError("a fortnightly schedule needs anchor (the first meeting's date)")
        if self.anchor is not None and self.weekday is not None:
            day = self.anchor.weekday()
            if day >= len(WEEKDAYS) or WEEKDAYS[day] != self.weekday:
                raise ValueError("anchor is not on the schedule's weekday")
        return self


class Area(Settings):
    meetings: MeetingSchedule
    distribution: tuple[str, ...] = ()
    below_threshold: Literal["return", "chair_review"] | None = None  # area override


class MinutesSettings(Settings):
    """Sending the minutes (one PDF per case) to a meeting's distribution list."""

    watch_dir: Path | None = None  # folders "<Area> <YYYY-MM-DD>" with a READY file are sent
    max_email_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)  # whole email, as sent
    agency_max_email_bytes: dict[str, Annotated[int, Field(ge=1024)]] = Field(
        default_factory=dict
    )  # by agency id
    send_within_hours: int = Field(default=48, ge=1)  # the team is reminded after this

    _paths = field_validator("watch_dir")(resolve_path)


class OutboxSettings(Settings):
    """How long outgoing mail may wait before a person hears of it, or it is given up."""

    # The oldest message not yet sent has waited this long: the team is told (once per
    # message) and `mailbot status` needs attention.
    alert_after_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    # A message failing transiently (the relay down, 4xx) is retried this long (and at least
    # [sender] max_attempts times) before it is marked failed and the team told.
    give_up_after_hours: float = Field(default=24.0, ge=0, le=14 * 24)


class Config(Settings):
    service: ServiceSettings
    mailbox: MailboxSettings
    sender: SenderSettings = SenderSettings()
    outbox: OutboxSettings = OutboxSettings()
    team: TeamSettings
    security: SecuritySettings = SecuritySettings()
    threshold: ThresholdSettings = ThresholdSettings()
    limits: DocumentLimits = DocumentLimits()
    web: WebSettings = WebSettings()
    agenda_working_days_before: int = Field(default=5, ge=1, le=30)
    agenda_send_time: time = time(16, 0)  # local time on the agenda date
    minutes: MinutesSettings = MinutesSettings()
    flag_expiry_months: int = Field(default=12, ge=1, le=120)
    distribution_all_areas: tuple[str, ...] = ()
    distribution_include_idva: bool = True
    agencies: tuple[Agency, ...] = ()
    idva_services: tuple[IdvaService, ...] = ()
    idva_rules: tuple[IdvaRule, ...] = ()
    areas: dict[str, Area]

    @field_validator("areas")
    @classmethod
    def _known_areas(cls, value: dict[str, Area]) -> dict[str, Area]:
        for name in value:
            if name not in AREAS:
                raise unknown_name("area", name, AREAS, ("areas", name))
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Config:
        ids = [a.id for a in self.agencies]
        for index, agency in enumerate(self.agencies):
            if agency.id in ids[:index]:
                raise PydanticCustomError(
                    "unknown_name",
                    "agency id {name} is used twice",
                    {"what": "agency id", "name": agency.id, "at": ("agencies", index, "id")},
                )
        services = [s.id for s in self.idva_services]
        for index, rule in enumerate(self.idva_rules):
            if rule.service not in services:
                where: tuple[str | int, ...] = ("idva_rules", index, "service")
                raise unknown_name("IDVA service", rule.service, services, where)
            if rule.area not in self.areas:
                raise unknown_name(
                    "area", rule.area, list(self.areas), ("idva_rules", index, "area")
                )
        for agency_id in self.minutes.agency_max_email_bytes:
            if agency_id not in ids:
                where = ("minutes", "agency_max_email_bytes", agency_id)
                raise unknown_name("agency id", agency_id, ids, where)
        return self

    @property
    def mail_dir(self) -> Path:
        """The Maildir root: the mailbox (maildir kind) and the Outbox live here."""
        path = self.mailbox.path if isinstance(self.mailbox, MaildirMailboxSettings) else None
        return path or self.service.state_dir / "mail"

    @property
    def database_path(self) -> Path:
        return self.service.state_dir / "mailbot.sqlite3"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.service.timezone)

    def agency_for(self, address: str) -> Agency | None:
        """The agency an address belongs to, by domain (subdomains included)."""
        domain = address.rpartition("@")[2].lower()
        for agency in self.agencies:
            if any(_in_domain(domain, d) for d in agency.domains):
                return agency
        return None

    def is_secure_address(self, address: str) -> bool:
        domain = address.rpartition("@")[2].lower()
        if any(_in_domain(domain, d) for d in self.security.secure_domains):
            return True
        agency = self.agency_for(address)
        return agency is not None and agency.secure

    def below_threshold_policy(self, area: str | None) -> str:
        override = self.areas[area].below_threshold if area in self.areas else None
        return override or self.threshold.below_threshold


def _in_domain(domain: str, parent: str) -> bool:
    return domain == parent or domain.endswith("." + parent)


def unknown_name(
    what: str, name: str, choices: Sequence[str], at: tuple[str | int, ...]
) -> Exception:
    """A name that refers to nothing (an area, an agency id): `explain` finds its line from
    `at` and suggests the nearest of `choices`."""
    context = {"what": what, "name": name, "choices": tuple(choices), "at": at}
    return PydanticCustomError("unknown_name", "unknown {what} {name}", context)


def load_config(path: Path) -> Config:
    """Read and validate a config file; relative paths resolve against its directory."""
    data = read_toml(path, "config")
    try:
        return Config.model_validate(data, context={"base": path.resolve().parent})
    except ValidationError as exc:
        raise config_error(exc, source=path, model=Config, data=data, show_values=True) from None


def read_toml(path: Path, what: str) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError("", f"{what} file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        # The decoder's message holds a line/column, never a value, so it is safe to show.
        raise toml_syntax_error(path, what, exc) from None


def config_error(
    exc: ValidationError,
    prefix: str = "",
    *,
    source: Path | None = None,
    model: type[BaseModel] | None = None,
    data: dict[str, Any] | None = None,
    show_values: bool = False,
) -> ConfigError:
    """One line for a file that does not validate: the file and line, what is wrong in words
    and, for a misspelt name, the nearest valid one. Values are shown only with
    `show_values` (never for the secrets or a transfer's details)."""
    return explain(
        exc, prefix=prefix, source=source, model=model, data=data, show_values=show_values
    )
