"""The pure parts of distribution: who is on a list, exact email sizes, splitting."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from mailbot.config import Config
from mailbot.dispatch.compose import FileAttachment, Planned, build_message, message_id_for
from mailbot.dispatch.distribution import distribution_list, email_size, encoded_size
from mailbot.meetings.minutes import pack

WHEN = datetime(2026, 11, 11, 15, 0, tzinfo=UTC)
FROM = "marac_referrals@west-midlands.pnn.police.uk"


def test_every_area_list_has_the_team_the_idva_and_its_partners_once(config: Config) -> None:
    """GIVEN the demo deployment
    WHEN each area's distribution list is assembled
    THEN it starts with the team, holds every IDVA service of the area, then its partners,
    with no address twice."""
    wolves = distribution_list(config, "Wolverhampton")
    assert wolves == [
        "marac_team@west-midlands.pnn.police.uk",
        "sv-idva@havenwolverhampton.cjsm.net",
        "idva@havenwolverhampton.cjsm.net",
        "marac@wolverhamptonhomes.org.uk",
        "rwt.marac@nhs.net",
        "marac@justice.gov.uk.cjsm.net",
    ]
    for area in config.areas:
        listed = distribution_list(config, area)
        assert len({a.lower() for a in listed}) == len(listed)
    shouting = config.model_copy(
        update={
            "distribution_all_areas": (
                "MARAC_TEAM@west-midlands.pnn.police.uk",
                "marac_team@west-midlands.pnn.police.uk",
            )
        }
    )
    assert distribution_list(shouting, "Coventry")[:2] == [
        "MARAC_TEAM@west-midlands.pnn.police.uk",
        "idva@coventryhaven.cjsm.net",
    ]


@pytest.mark.parametrize("seed", range(20))
def test_the_size_model_is_exact(seed: int) -> None:
    """GIVEN a message with attachments of random sizes (0 to a few lines past a boundary)
    WHEN its size is computed from an empty-payload copy
    THEN it equals the length of the message as the outbox builds it."""
    rng = random.Random(seed)
    files = tuple(
        FileAttachment(
            filename=f"MARAC-2026-{n:05d}.pdf",
            data=rng.randbytes(rng.choice((0, 1, 56, 57, 58, 114, rng.randint(0, 9000)))),
            content_type="application/pdf",
        )
        for n in range(rng.randint(1, 4))
    )
    planned = Planned(
        kind="minutes",
        recipient="rwt.marac@nhs.net",
        subject="Minutes",
        body="Attached.\n" * rng.randint(1, 5),
        attachments=files,
        variant="1/1",
    )
    key = planned.idem_key(None)
    real = build_message(
        planned, reference=None, from_address=FROM, message_id=message_id_for(key, FROM), when=WHEN
    )
    assert email_size(planned, None, FROM, WHEN, [len(f.data) for f in files]) == len(real)


def test_encoded_size_counts_base64_lines() -> None:
    """GIVEN byte counts around the 57-byte line
    WHEN encoded
    THEN each full line is 77 bytes (76 characters and a newline), a part line rounded up."""
    assert [encoded_size(n) for n in (0, 1, 3, 57, 58)] == [0, 5, 5, 77, 82]


def test_pack_fills_each_email_in_order_and_numbers_them() -> None:
    """GIVEN items of 4, 4, 4, 4 and 9 bytes and a limit of 10 (a label costs 1 when split)
    WHEN packed
    THEN the split holds as many as fit in order, and an item too big alone is refused."""
    sizes = [4, 4, 4, 4, 9]

    def fits(batch: list[int], part: int, parts: int) -> bool:
        return sum(sizes[i] for i in batch) + (1 if parts > 1 else 0) <= 10

    assert pack(4, fits) == [[0, 1], [2, 3]]
    assert pack(5, fits) == [[0, 1], [2, 3], [4]]
    assert pack(2, lambda b, k, n: sum(sizes[i] for i in b) <= 8) == [[0, 1]]
    assert pack(5, lambda b, k, n: sum(sizes[i] for i in b) <= 8) is None
