"""How a recipient may be sent to: the secure route, the password route, or not at all.

PROCESS.md: a recipient on a secure domain (or an agency marked secure) may receive personal
data and documents as they are; any other recipient gets no personal data in the email, and
documents only encrypted with its agency's agreed password, sent separately from it. A
recipient with neither gets nothing, and the team is told.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from mailbot.config import Config
from mailbot.credentials import Secrets


class RouteKind(StrEnum):
    SECURE = "secure"
    PASSWORD = "password"  # noqa: S105 (a route name, not a password)
    NONE = "none"


@dataclass(frozen=True)
class Route:
    kind: RouteKind
    agency: str | None = None
    password: str | None = field(default=None, repr=False)  # the agency's current password

    @property
    def secure(self) -> bool:
        return self.kind is RouteKind.SECURE


def route_for(address: str, config: Config, secrets: Secrets) -> Route:
    """The route for one recipient address."""
    agency = config.agency_for(address)
    if config.is_secure_address(address):
        return Route(RouteKind.SECURE, agency.name if agency else None)
    passwords = secrets.passwords_for(agency.id if agency else None)
    if agency is not None and passwords:
        return Route(RouteKind.PASSWORD, agency.name, passwords[0])
    return Route(RouteKind.NONE, agency.name if agency else None)
