"""Shared helpers for the agenda, minutes, transfer and flag-expiry tests.

Cases are made the way they really arise: referral emails processed by the daemon (with
imported history for a repeat), so what the agenda shows is what intake recorded.
"""

from __future__ import annotations

import io
import random
import zipfile
from collections.abc import Callable
from datetime import UTC, date, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

import msoffcrypto
from lxml import etree  # type: ignore[import-untyped]

from mailbot.app import App
from mailbot.cases.casebook import CaseRecord
from mailbot.demo.formwriter import render_form
from mailbot.demo.samples import sample_form, with_ticks, with_values
from mailbot.dispatch.outbox import OutboxMessage
from mailbot.models import FormData
from tests.conftest import TODAY
from tests.integration.conftest import Send

Run = Callable[[], dict[str, CaseRecord]]
POLICE = "pc.adams@west-midlands.pnn.police.uk"
TEAM = "marac_team@west-midlands.pnn.police.uk"
HOMES = "marac@wolverhamptonhomes.org.uk"  # Wolverhampton's password-route partner
MEETING = date(2026, 11, 11)  # Wolverhampton, Wednesday; its agenda date is 4 November
AGENDA_DUE = datetime(2026, 11, 4, 16, 0, tzinfo=UTC)  # 16:00 in London (GMT in November)
AFTER_MEETING = datetime(2026, 11, 11, 15, 0, tzinfo=UTC)
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def wolverhampton_form(seed: int, **values: str) -> FormData:
    form = sample_form(
        random.Random(seed), area="Wolverhampton", referral_date=TODAY, referrer_email=POLICE
    )
    return with_values(form, **values) if values else form


def list_cases(app: App, send: Send, run: Run) -> dict[str, CaseRecord]:
    """A new case, a detected repeat and an information-only repeat, all listed on 11 Nov."""
    new, repeat = wolverhampton_form(201), wolverhampton_form(202)
    info = with_values(
        with_ticks(wolverhampton_form(203), reason_repeat=True),
        referral_type="Repeat referral",
        previous_marac_date="01/06/2026",
        repeat_needs_discussion="No",
    )
    dob = "-".join(reversed(repeat.value("victim_dob").split("/")))
    app.casebook.import_history(
        "reference,marac_area,marac_date,victim_surname,victim_forenames,victim_aliases,"
        "victim_dob,perp_surname,perp_forenames,perp_dob\n"
        f"OLD-7,Wolverhampton,2026-05-06,{repeat.value('victim_surname')},"
        f"{repeat.value('victim_forenames')},,{dob},,,\n"
    )
    ids = {
        name: send(POLICE, render_form(form))
        for name, form in (("new", new), ("repeat", repeat), ("info", info))
    }
    cases = run()
    return {name: cases[message_id] for name, message_id in ids.items()}


def rows(app: App, kind: str | None = None) -> list[OutboxMessage]:
    return [r for r in app.ctx.dispatch.outbox.messages() if kind is None or r.kind == kind]


def parse(row: OutboxMessage) -> EmailMessage:
    message = message_from_bytes(row.raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def body(row: OutboxMessage) -> str:
    part = parse(row).get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def attachments(row: OutboxMessage) -> list[tuple[str, bytes]]:
    return [(str(a.get_filename()), a.get_content()) for a in parse(row).iter_attachments()]


def password_for(app: App, address: str) -> str:
    agency = app.config.agency_for(address)
    assert agency is not None
    return app.secrets.passwords_for(agency.id)[0]


def decrypt_docx(data: bytes, password: str) -> bytes:
    office = msoffcrypto.OfficeFile(io.BytesIO(data))
    office.load_key(password=password)
    out = io.BytesIO()
    office.decrypt(out)
    return out.getvalue()


def docx_lines(data: bytes) -> list[str]:
    """The text of every paragraph of the document body (tables included), in order."""
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        root = etree.fromstring(package.read("word/document.xml"))
    return ["".join(p.itertext()) for p in root.iter(f"{{{W}}}p")]


def docx_header(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        return "\n".join(
            package.read(n).decode() for n in package.namelist() if n.startswith("word/header")
        )
