"""Held referrals of every kind, made end to end, for the exceptions-queue tests.

Each helper sends a real email into the demo deployment's Maildir and runs the daemon once,
so the case in the queue is exactly what an administrator would find there.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from mailbot.app import App
from mailbot.cases.casebook import CaseRecord
from mailbot.demo.formwriter import render_form
from mailbot.demo.samples import sample_form, with_dash_yes, with_ticks, with_values
from mailbot.models import FormData
from tests.conftest import TODAY
from tests.integration.conftest import Send, sample

Run = Callable[[], dict[str, CaseRecord]]
POLICE = "pc.adams@west-midlands.pnn.police.uk"
HOMES = "tenancy@wolverhamptonhomes.org.uk"
GMAIL = "helper@gmail.com"
LOCKED_SAMPLE = "08-encrypted-unknown-password.docx"
LOCKED_PASSWORD = "Sparrow-Lane-77"


def form(seed: int = 1, **kw: Any) -> FormData:
    kw.setdefault("referrer_email", POLICE)
    return sample_form(random.Random(seed), referral_date=TODAY, **kw)


def below(f: FormData) -> FormData:
    return with_ticks(with_dash_yes(f, 6), reason_visible_high_risk=False)


def locked(send: Send, run: Run) -> CaseRecord:
    """The shared sample from Wolverhampton Homes whose password is not on file."""
    message_id = send(HOMES, sample(LOCKED_SAMPLE))
    return run()[message_id]


def chair_review(send: Send, run: Run, sender: str = POLICE, **values: str) -> CaseRecord:
    """A Wolverhampton referral below threshold, held for the Chair."""
    f = below(form(seed=31, area="Wolverhampton"))
    message_id = send(sender, render_form(with_values(f, **values) if values else f))
    return run()[message_id]


def possible_repeat(
    app: App, send: Send, run: Run, *, seed: int = 41, **values: str
) -> tuple[CaseRecord, str]:
    """A Dudley referral whose victim is a near match (another forename) of OLD-1."""
    f = form(seed=seed, area="Dudley")
    if values:
        f = with_values(f, **values)
    if "referral_type" in values:
        f = with_ticks(f, reason_repeat=True)
    dob = "-".join(reversed(f.value("victim_dob").split("/")))
    app.casebook.import_history(
        "reference,marac_area,marac_date,victim_surname,victim_forenames,victim_aliases,"
        "victim_dob,perp_surname,perp_forenames,perp_dob\n"
        f"OLD-1,Dudley,2026-08-05,{f.value('victim_surname')},Somebodyelse,,{dob},,,\n"
    )
    message_id = send(POLICE, render_form(f))
    return run()[message_id], "OLD-1"


def two_forms(send: Send, run: Run) -> CaseRecord:
    message_id = send(
        POLICE,
        render_form(form(seed=51)),
        extra=[("b.docx", render_form(form(seed=52)), "application/octet-stream")],
    )
    return run()[message_id]


def outbox(app: App, reference: str) -> list[tuple[str, str]]:
    assert app.ctx.dispatch is not None
    return sorted((m.kind, m.recipient) for m in app.ctx.dispatch.outbox.messages(reference))


def raw_messages(app: App, reference: str, kind: str) -> dict[str, str]:
    """Recipient -> the raw message text, for the messages of `kind` about the case."""
    assert app.ctx.dispatch is not None
    return {
        m.recipient: m.raw.decode()
        for m in app.ctx.dispatch.outbox.messages(reference)
        if m.kind == kind
    }


def audit_actions(app: App, reference: str) -> list[tuple[str, str, str]]:
    return [(a.actor, a.action, a.detail) for a in app.store.audit_log(reference)]
