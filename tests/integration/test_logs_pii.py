"""No personal value from any form, and no password, ever reaches a log line.

The journal is read by IT and shipped to log stores the MARAC's data-sharing agreement does
not cover, so the logs may carry case references and codes only. This puts the whole test
corpus through the daemon with logging at debug (the most talkative level): the shared
sample referrals (with the password email for the one that needs it), generated referrals in
every fill style and in every broken way, encrypted ones, and every hostile attachment and
email. Then every personal value of every form involved, and every password, is searched for
in the output, case-insensitively; and every line must be one JSON event.
"""

from __future__ import annotations

import io
import json
import random
import tomllib
from pathlib import Path

from mailbot import logs
from mailbot.app import App
from mailbot.credentials import Secrets
from mailbot.demo.formwriter import FillStyle, render_form
from mailbot.demo.samples import sample_form, with_dash_yes, with_ticks, with_values
from mailbot.dispatch.encrypt import encrypt_docx
from mailbot.ingest.form.reader import read_form
from mailbot.ingest.maildir import MaildirMailbox
from mailbot.models import Folder, FormData
from tests import hostile_corpus as corpus
from tests.conftest import ROOT, TODAY
from tests.hostile_blocks import referral_form
from tests.integration.conftest import SAMPLES, Send, sample
from tests.pii import personal_values

POLICE = "pc.adams@west-midlands.pnn.police.uk"
SENDERS = {
    "02": "s.worker@birminghamchildrenstrust.co.uk",
    "03": "k.smith@coventryhaven.co.uk",
    "06": "safeguarding@nhs.net",
    "08": "tenancy@wolverhamptonhomes.org.uk",
}
SAMPLE_PASSWORD = "Sparrow-Lane-77"  # sent separately for sample 08 (its README)


def _generated() -> list[tuple[FormData, FillStyle]]:
    """Referrals in every fill style, and broken in every way the checks know."""
    forms = []
    for n, style in enumerate([*FillStyle, *FillStyle, *FillStyle]):
        form = sample_form(random.Random(700 + n), referral_date=TODAY)
        variant = n // len(FillStyle)
        if variant == 1:
            form = with_values(form, victim_surname="", victim_postcode="WV99")
        elif variant == 2:
            form = with_ticks(with_dash_yes(form, 5), reason_visible_high_risk=False)
        forms.append((form, style))
    young = with_values(
        sample_form(random.Random(720), referral_date=TODAY), victim_dob="01/01/2009"
    )
    return [*forms, (young, FillStyle.MARKS)]


def _passwords() -> set[str]:
    secrets = tomllib.loads((ROOT / "config" / "example-secrets.toml").read_text())
    found = {p for agency in secrets["agencies"].values() for p in agency["passwords"]}
    return found | {corpus.CORPUS_PASSWORD, SAMPLE_PASSWORD}


def test_the_whole_corpus_leaves_no_personal_data_in_the_logs(app: App, send: Send) -> None:
    """GIVEN the shared samples, generated referrals in every style, encrypted referrals and
    every hostile file, processed by the daemon with logging at debug
    WHEN the log output is searched
    THEN no personal value of any form and no password appears, every line is one JSON
    event, and every decision line carries its case reference."""
    secrets = tomllib.loads((ROOT / "config" / "example-secrets.toml").read_text())
    secrets["agencies"]["wmp"] = {"passwords": [corpus.CORPUS_PASSWORD]}  # hostile files
    app.ctx.running.swap(app.config, Secrets.model_validate(secrets))
    values: set[str] = set()
    for path in sorted((SAMPLES / "samples").glob("*.docx")):
        send(SENDERS.get(path.name[:2], POLICE), sample(path.name))
        expected = SAMPLES / "expected" / f"{path.stem}.json"
        values |= personal_values(FormData.model_validate_json(expected.read_text()))
    send(SENDERS["08"], None, subject="password", body=f"The password is {SAMPLE_PASSWORD}")
    for form, style in _generated():
        send(POLICE, render_form(form, style))
        values |= personal_values(form)
    for seed in (730, 731):
        form = sample_form(random.Random(seed), referral_date=TODAY)
        send(SENDERS["02"], encrypt_docx(render_form(form), "BCT-Marac-7731", spin_count=1000))
        values |= personal_values(form)
    inbox = MaildirMailbox(app.config.mail_dir, use_inotify=False)
    for name in corpus.CORPUS:
        send(POLICE, (corpus.HOSTILE_DIR / name).read_bytes(), filename=name)
    for name in corpus.EMAILS:
        inbox.deliver(Folder.INBOX, (corpus.HOSTILE_DIR / name).read_bytes())
    base = read_form(corpus.base_docx())
    assert isinstance(base, FormData)
    values |= personal_values(base)
    for seed in corpus.form_seeds():
        values |= personal_values(referral_form(seed))

    stream = io.StringIO()
    logs.configure("json", "debug", stream=stream)
    try:
        app.runner().run_once()
    finally:
        logs.reset()
    cases = app.casebook.cases()
    for case in cases:  # whatever the reader made of each form, too
        if case.form is not None:
            values |= personal_values(case.form)

    output = stream.getvalue()
    assert len(cases) >= 90
    assert len(values) > 500
    events = [json.loads(line) for line in output.splitlines()]
    assert all(isinstance(e.get("event"), str) for e in events)
    decided = [e for e in events if e["event"] == "message.decided"]
    assert len(decided) == len(cases)
    assert all(str(e.get("reference", "")).startswith("MARAC-") for e in decided)
    haystack = output.casefold()
    leaked = sorted(v for v in values | _passwords() if v.casefold() in haystack)
    assert leaked == []


def test_a_careless_log_call_cannot_leak_a_name(tmp_path: Path) -> None:
    """GIVEN a log call that passes a personal value under a key not on the allow-list
    WHEN it is written
    THEN the value is replaced by [redacted]: the allow-list is the last line of defence."""
    stream = io.StringIO()
    logs.configure("json", "debug", stream=stream)
    try:
        logs.get_logger().info(
            "message.decided", reference="MARAC-2026-00001", victim="Siobhán O'Neill"
        )
    finally:
        logs.reset()
    line = json.loads(stream.getvalue())
    assert line["victim"] == logs.REDACTED
    assert line["reference"] == "MARAC-2026-00001"
