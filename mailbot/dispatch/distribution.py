"""Who receives an area's agendas, minutes and flag notices, and by which route.

PROCESS.md: agendas and minutes go to every agency on the area's distribution list, each by
its own route. The list is assembled in one place (the addresses for every area, the area's
IDVA services, the area's own partners), so agendas, minutes and flag-expiry notices can
never disagree about who is told; an address listed twice is sent to once. A recipient with
no route is not sent anything: the team gets one notice per document instead.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from mailbot.config import Config
from mailbot.credentials import Secrets
from mailbot.dispatch.compose import FileAttachment, Planned, build_message, message_id_for
from mailbot.dispatch.plan import Planner
from mailbot.dispatch.routes import Route, route_for

_B64_LINE_BYTES = 57  # the email package writes 76 base64 characters (57 bytes) a line


@dataclass(frozen=True)
class Recipient:
    address: str
    route: Route


def distribution_list(config: Config, area: str) -> list[str]:
    """The area's recipients, deduplicated (case-insensitively), in a stable order."""
    services = {s.id: s.address for s in config.idva_services}
    idva = (
        [services[r.service] for r in config.idva_rules if r.area == area]
        if config.distribution_include_idva
        else []
    )
    listed = [*config.distribution_all_areas, *idva, *config.areas[area].distribution]
    out: list[str] = []
    for address in listed:
        if address.lower() not in (a.lower() for a in out):
            out.append(address)
    return out


def recipients(config: Config, secrets: Secrets, area: str) -> list[Recipient]:
    return [Recipient(a, route_for(a, config, secrets)) for a in distribution_list(config, area)]


def no_route_notice(
    planner: Planner, address: str, what: str, variant: str, reference: str | None = None
) -> Planned:
    """The team notice that replaces a document a recipient has no route for."""
    return planner.team_notice(
        f"{what} not sent: no secure route",
        f"{address} is on the distribution list but has no secure route and no agreed"
        f" password, so the {what} was not sent to it. Send it by another secure means, or"
        " agree a password with the agency.",
        reference,
        variant=variant,
    )


def encoded_size(n: int) -> int:
    """Bytes that `n` bytes of attachment add to an email (base64, 76-character lines)."""
    full, rest = divmod(n, _B64_LINE_BYTES)
    return full * 77 + (len(base64.b64encode(bytes(rest))) + 1 if rest else 0)


def email_size(
    planned: Planned,
    reference: str | None,
    from_address: str,
    when: datetime,
    payload_sizes: Sequence[int],
) -> int:
    """The exact size of `planned` as the outbox will store and send it.

    `planned` carries its attachments empty (names only); `payload_sizes` are their real
    sizes. Building the message with empty payloads and adding the encoded sizes gives the
    exact figure without encoding megabytes of documents for every candidate split.
    """
    stub = planned.model_copy(
        update={
            "attachments": tuple(
                FileAttachment(filename=a.filename, data=b"", content_type=a.content_type)
                for a in planned.attachments
            )
        }
    )
    key = planned.idem_key(reference)
    raw = build_message(
        stub,
        reference=reference,
        from_address=from_address,
        message_id=message_id_for(key, from_address),
        when=when,
    )
    return len(raw) + sum(encoded_size(n) for n in payload_sizes)
