"""The made-up people, places and agencies that `samples` draws its referrals from.

Kept apart from the generator so its logic reads without scrolling past tables, and so the
tables can grow (another area, another agency) without touching it. The areas, their postcode
districts, streets and IDVA services follow the West Midlands MARAC areas, so generated
addresses look like the ones partners send; each agency's email domain lets `sample_form`
work out the agency from a referrer's address.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

FEMALE_NAMES = (
    "Siobhán",
    "Aoife",
    "Zoë",
    "Chloë",
    "Renée",
    "Amina",
    "Priya",
    "Tamsin",
    "Kerry-Ann",
    "Agnieszka",
    "Precious",
    "Nadia",
    "Leanne",
    "Gurpreet",
    "Shauna",
    "Bethany",
    "Fatima",
    "Marie-Claire",
    "Joanne",
    "Hollie",
)
MALE_NAMES = (
    "Wayne",
    "Craig",
    "Dean",
    "Tomasz",
    "Imran",
    "Liam",
    "Jermaine",
    "Darren",
    "Kyle",
    "Mohammed",
    "Seán",
    "Lee",
    "Ryan",
    "Ravinder",
    "Kofi",
    "Aaron",
    "Connor",
    "Marek",
)
SURNAMES = (
    "O'Neill",
    "Smith-Jones",
    "D'Souza",
    "Khan",
    "Nwosu",
    "Bennett",
    "Sandhu",
    "Rowley",
    "Kowalczyk",
    "Hughes",
    "Okafor",
    "Brennan",
    "Müller-Price",
    "Clarke",
    "Patel",
    "McAllister",
    "Ahmed",
    "Lewis-Grant",
    "Ó Briain",
    "Williams",
)
ETHNICITIES = (
    "White British",
    "White Irish",
    "White - Other European",
    "Asian British - Pakistani",
    "Asian British - Indian",
    "Asian British - Bangladeshi",
    "Black British - Caribbean",
    "Black British - African",
    "Mixed - White and Black Caribbean",
)
POSTCODE_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # the letters used in an inward code


@dataclass(frozen=True)
class Area:
    """A MARAC area: its towns with their postcode districts, streets, and IDVA service."""

    name: str
    towns: tuple[tuple[str, tuple[str, ...]], ...]
    streets: tuple[str, ...]
    idva_service: str


AREAS: tuple[Area, ...] = (
    Area(
        "Birmingham",
        (("Birmingham", ("B6", "B8", "B10", "B11", "B20", "B23", "B31", "B44")),),
        (
            "Stratford Road",
            "Soho Road",
            "Alum Rock Road",
            "Bristol Road",
            "Coventry Road",
            "Kingstanding Road",
            "Lozells Road",
            "Pershore Road",
        ),
        "Birmingham and Solihull Women's Aid IDVA service",
    ),
    Area(
        "Coventry",
        (("Coventry", ("CV1", "CV2", "CV3", "CV4", "CV5", "CV6")),),
        (
            "Foleshill Road",
            "Walsgrave Road",
            "Holbrook Lane",
            "Stoney Stanton Road",
            "Binley Road",
            "Allesley Old Road",
        ),
        "Coventry Haven IDVA service",
    ),
    Area(
        "Dudley",
        (
            ("Dudley", ("DY1", "DY2")),
            ("Stourbridge", ("DY8", "DY9")),
            ("Brierley Hill", ("DY5",)),
            ("Halesowen", ("B62", "B63")),
        ),
        ("Stourbridge Road", "Himley Road", "Pedmore Road", "Wolverhampton Street", "Cradley Road"),
        "Dudley IDVA service",
    ),
    Area(
        "Sandwell",
        (
            ("West Bromwich", ("B70", "B71")),
            ("Smethwick", ("B66", "B67")),
            ("Oldbury", ("B68", "B69")),
            ("Tipton", ("DY4",)),
        ),
        ("High Street", "Oldbury Road", "Birmingham Road", "Halesowen Street", "Bearwood Road"),
        "Black Country Women's Aid IDVA service",
    ),
    Area(
        "Solihull",
        (("Solihull", ("B90", "B91", "B92")), ("Chelmsley Wood", ("B37",))),
        ("Warwick Road", "Lode Lane", "Chelmsley Road", "Hobs Moat Road", "Stratford Road"),
        "Birmingham and Solihull Women's Aid IDVA service",
    ),
    Area(
        "Walsall",
        (
            ("Walsall", ("WS1", "WS2", "WS5")),
            ("Bloxwich", ("WS3",)),
            ("Willenhall", ("WV12", "WV13")),
        ),
        ("Lichfield Street", "Caldmore Road", "Bloxwich Road", "Wolverhampton Road", "Pleck Road"),
        "Walsall IDVA service",
    ),
    Area(
        "Wolverhampton",
        (("Wolverhampton", ("WV1", "WV2", "WV3", "WV4", "WV6", "WV10")), ("Bilston", ("WV14",))),
        ("Penn Road", "Dudley Road", "Stafford Road", "Tettenhall Road", "Cannock Road"),
        "The Haven Wolverhampton IDVA service",
    ),
)


@dataclass(frozen=True)
class Agency:
    """A referring agency of the demo deployment (DEMO-DEPLOYMENT.md); no areas = all."""

    name: str
    domain: str
    roles: tuple[str, ...]
    areas: tuple[str, ...] = ()


AGENCIES: tuple[Agency, ...] = (
    Agency(
        "West Midlands Police",
        "west-midlands.pnn.police.uk",
        ("Police Constable", "Detective Constable", "Public Protection Unit officer"),
    ),
    Agency(
        "Birmingham Children's Trust",
        "birminghamchildrenstrust.co.uk",
        ("Social worker", "Senior social worker"),
        ("Birmingham",),
    ),
    Agency(
        "Wolverhampton Homes",
        "wolverhamptonhomes.org.uk",
        ("Tenancy officer", "Housing support officer"),
        ("Wolverhampton",),
    ),
    Agency(
        "Black Country Women's Aid",
        "blackcountrywomensaid.co.uk",
        ("Outreach worker", "Domestic abuse support worker"),
        ("Dudley", "Sandwell", "Walsall", "Wolverhampton"),
    ),
    Agency(
        "The Royal Wolverhampton NHS Trust",
        "nhs.net",
        ("Safeguarding nurse", "Midwife", "Emergency department nurse"),
        ("Wolverhampton", "Walsall"),
    ),
    Agency("Probation Service", "justice.gov.uk.cjsm.net", ("Probation officer",)),
    Agency(
        "Coventry Haven Women's Aid", "coventryhaven.co.uk", ("Outreach worker",), ("Coventry",)
    ),
    Agency(
        "Sandwell Council Adult Social Care", "sandwell.gov.uk", ("Social worker",), ("Sandwell",)
    ),
    Agency("Walsall Housing Group", "whgrp.co.uk", ("Housing officer",), ("Walsall",)),
    Agency("Dudley Council Children's Services", "dudley.gov.uk", ("Social worker",), ("Dudley",)),
    Agency(
        "Solihull Community Housing",
        "solihullcommunityhousing.org.uk",
        ("Tenancy sustainment officer",),
        ("Solihull",),
    ),
)

# What a Yes to a DASH question adds to the risk summary and, sometimes, to its comment.
DASH_PHRASES: Mapping[int, tuple[str, str]] = MappingProxyType(
    {
        1: ("an injury in the current incident", "Bruising to face and arms, declined hospital"),
        6: ("a recent separation", "Separated three weeks ago"),
        8: ("stalking and harassment", "Over 40 calls and messages on the day of the incident"),
        12: ("coercive and controlling behaviour", "Checks the victim's phone, controls all money"),
        13: ("use of a weapon", "Kitchen knife used in the incident"),
        14: ("threats to kill", "Threatened to kill the victim and family members"),
        15: ("non-fatal strangulation", "Strangled until close to losing consciousness"),
        21: ("the perpetrator's heavy drinking", "Drinking heavily most days"),
        23: ("breaches of bail conditions", "Bail conditions breached twice this month"),
        24: ("a history of violence", "Previous convictions for assault"),
    }
)
PRIMARY_SCHOOLS = ("St Mary's Primary", "Oakfield Primary", "Holy Trinity C of E Primary")
SECONDARY_SCHOOLS = ("Park Hall Academy", "Heath Park Academy", "St Thomas More Catholic School")
OTHER_AGENCIES = (
    "GP",
    "GP; housing provider",
    "Health visitor; GP",
    "Adult social care; community mental health team",
    "Probation",
)
SAFEGUARDING_ACTIONS = (
    "Perpetrator arrested and bailed with conditions not to contact the victim.\n"
    "Sanctuary scheme referral made.",
    "Safety plan agreed with the victim; locks changed by the housing provider.",
    "Domestic Violence Protection Notice served; victim given a TecSOS phone.",
)
