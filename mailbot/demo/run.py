"""`mailbot demo`: a fresh workspace, a dozen realistic referral emails, processed for real.

The demo is how a newcomer (and IT, before installing) sees mailbot work end to end without
any server: it copies the example configuration, generates referral forms with the project's
own form writer, encrypts some with the agencies' agreed passwords, delivers them into the
embedded Maildir inbox, runs the same code the daemon runs, and prints what was decided.
"""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mailbot import logs
from mailbot.app import SystemClock, open_app
from mailbot.cases.casebook import CaseRecord
from mailbot.demo.formwriter import FillStyle, render_form
from mailbot.demo.sample_mail import compose, docx_attachment
from mailbot.demo.samples import sample_form, with_dash_yes, with_ticks, with_values
from mailbot.dispatch.encrypt import encrypt_docx
from mailbot.ingest.maildir import MaildirMailbox
from mailbot.models import Folder, FormData

MARKER = ".mailbot-demo"
CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
INBOX = "marac_referrals@west-midlands.pnn.police.uk"


@dataclass(frozen=True)
class Scenario:
    what: str
    sender: str
    raw: bytes
    message_id: str


class _Builder:
    """Makes the scenario emails, one after another, a minute apart."""

    def __init__(self, today: datetime) -> None:
        self.rng = random.Random(20261102)  # noqa: S311 (fictional demo data)
        self.today = today.date()
        self.sent = today - timedelta(hours=1)
        self.scenarios: list[Scenario] = []

    def form(self, area: str, sender: str, **kw: object) -> FormData:
        return sample_form(
            self.rng,
            area=area,
            referral_date=self.today,
            referrer_email=sender,
            **kw,  # type: ignore[arg-type]
        )

    def add(
        self,
        what: str,
        sender: str,
        subject: str,
        *,
        doc: bytes | None = None,
        filename: str = "MARAC referral.docx",
        body: str | None = None,
        content_type: str | None = None,
    ) -> None:
        n = len(self.scenarios) + 1
        message_id = f"<demo-{n:02d}@{sender.rpartition('@')[2]}>"
        attachments = []
        if doc is not None:
            attachments.append(
                docx_attachment(filename, doc)
                if content_type is None
                else (filename, doc, content_type)
            )
        self.sent += timedelta(minutes=1)
        raw = compose(
            sender=sender,
            to=INBOX,
            subject=subject,
            attachments=attachments,
            body=body or "Please find attached a MARAC referral.",
            message_id=message_id,
            sent_at=self.sent,
        )
        self.scenarios.append(Scenario(what, sender, raw, message_id))


def build_scenarios(now: datetime) -> tuple[list[Scenario], str]:
    """The demo emails, and a case-history CSV that makes one of them a repeat."""
    b = _Builder(now)
    police = "pc.adams@west-midlands.pnn.police.uk"
    opened = b.form("Wolverhampton", police)
    b.add(
        "Police, secure domain, content controls", police, "MARAC referral", doc=render_form(opened)
    )
    bct = "s.worker@birminghamchildrenstrust.co.uk"
    b.add(
        "Children's Trust, encrypted (agreed password), typed",
        bct,
        "Referral",
        doc=encrypt_docx(render_form(b.form("Birmingham", bct), FillStyle.TYPED), "BCT-Marac-7731"),
    )
    haven = "k.smith@coventryhaven.co.uk"
    b.add(
        "Women's Aid, encrypted, typed tick marks",
        haven,
        "MARAC referral",
        doc=encrypt_docx(
            render_form(b.form("Coventry", haven), FillStyle.MARKS, mark="X"), "Haven-CV-6620"
        ),
    )
    bcwa = "outreach@blackcountrywomensaid.co.uk"
    b.add(
        "Encrypted with the agency's previous password",
        bcwa,
        "Referral",
        doc=encrypt_docx(render_form(b.form("Sandwell", bcwa)), "BCWA-Refer-1187"),
    )
    dudley = "duty.team@dudley.gov.uk"
    missing = with_values(
        b.form("Dudley", dudley), victim_dob="", victim_postcode="", perp_relationship=""
    )
    b.add(
        "Mandatory fields left empty",
        dudley,
        "MARAC referral",
        doc=encrypt_docx(render_form(missing), "Dudley-CS-8814"),
    )
    low = with_ticks(with_dash_yes(b.form("Walsall", police), 9), reason_visible_high_risk=False)
    b.add("Below threshold (9 DASH ticks, no reason)", police, "Referral", doc=render_form(low))
    nhs = "safeguarding@nhs.net"
    pj = with_ticks(
        with_dash_yes(b.form("Solihull", nhs), 10),
        reason_visible_high_risk=False,
        reason_professional_judgement=True,
    )
    pj = with_values(
        pj,
        pj_rationale=(
            "The perpetrator was released from custody this week, has made repeated threats to"
            " kill the victim and her children, and has been seen outside the refuge twice."
        ),
    )
    b.add("Professional judgement with a rationale", nhs, "MARAC referral", doc=render_form(pj))
    gmail = "volunteer.helper@gmail.com"
    b.add(
        "Unencrypted from a non-secure address",
        gmail,
        "referral",
        doc=render_form(b.form("Birmingham", gmail)),
    )
    homes = "tenancy@wolverhamptonhomes.org.uk"
    held = b.form("Wolverhampton", homes)
    b.add(
        "Encrypted with an unknown password",
        homes,
        "MARAC referral",
        doc=encrypt_docx(render_form(held), "Sparrow-Lane-77"),
    )
    b.add(
        "...its password, in a separate email",
        homes,
        "Password for referral",
        body="Hello,\n\nThe password is: Sparrow-Lane-77\n\nThanks",
    )
    b.add(
        "A PDF instead of the Word form",
        police,
        "Referral",
        doc=b"%PDF-1.7\n% scanned referral\n",
        filename="referral.pdf",
        content_type="application/pdf",
    )
    b.add("No attachment", police, "MARAC referral to follow")
    repeat = b.form("Wolverhampton", police)
    b.add(
        "Repeat victim the form does not declare", police, "MARAC referral", doc=render_form(repeat)
    )
    first = b.scenarios[0]
    b.add(
        "The first referral sent again", police, "FW: MARAC referral", doc=_attachment_of(first.raw)
    )
    joined = with_values(
        opened,
        referrer_email=nhs,
        referrer_name="Dr Priya Nair",
        referrer_agency="The Royal Wolverhampton NHS Trust",
    )
    b.add(
        "The first victim, referred by the NHS too: joins her case",
        nhs,
        "MARAC referral",
        doc=render_form(joined),
    )
    history = _history_csv(repeat, now)
    return b.scenarios, history


def _attachment_of(raw: bytes) -> bytes:
    from email import message_from_bytes, policy

    message = message_from_bytes(raw, policy=policy.default)
    for part in message.iter_attachments():
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            return payload
    raise ValueError("no attachment")


def _history_csv(form: FormData, now: datetime) -> str:
    heard = (now - timedelta(days=120)).date().isoformat()
    dob = datetime.strptime(form.value("victim_dob"), "%d/%m/%Y").date().isoformat()
    return (
        "reference,marac_area,marac_date,victim_surname,victim_forenames,victim_aliases,"
        "victim_dob,perp_surname,perp_forenames,perp_dob\n"
        f"WV-2026-0113,Wolverhampton,{heard},{form.value('victim_surname')},"
        f"{form.value('victim_forenames')},,{dob},{form.value('perp_surname')},"
        f"{form.value('perp_forenames')},\n"
    )


def default_workspace(environ: dict[str, str] | None = None) -> Path:
    """The demo's workspace unless one is given: in the user's cache (XDG), never in the
    current directory, so a demo run from a checkout leaves no database in it."""
    env = os.environ if environ is None else environ
    cache = env.get("XDG_CACHE_HOME", "")
    base = Path(cache) if Path(cache).is_absolute() else Path.home() / ".cache"
    return base / "mailbot-demo"


def prepare_workspace(workspace: Path) -> Path:
    """A fresh copy of the example configuration in `workspace`; returns the config path."""
    if workspace.exists():
        if not (workspace / MARKER).exists():
            raise SystemExit(f"{workspace} exists and is not a mailbot demo workspace")
        shutil.rmtree(workspace)
    workspace.mkdir(parents=True, mode=0o700)
    (workspace / MARKER).write_text("made by `mailbot demo`; safe to delete\n")
    shutil.copy(CONFIG_DIR / "example.toml", workspace / "mailbot.toml")
    secrets = workspace / "example-secrets.toml"
    shutil.copy(CONFIG_DIR / "example-secrets.toml", secrets)
    secrets.chmod(0o600)
    return workspace / "mailbot.toml"


def run_demo(workspace: Path, echo: Callable[[str], None] = print) -> None:
    config_path = prepare_workspace(workspace)
    echo(f"Demo workspace (made afresh; --workspace DIR to choose): {workspace.resolve()}/")
    now = datetime.now(UTC)
    scenarios, history = build_scenarios(now)
    app = open_app(config_path, SystemClock())
    log_path = app.config.service.state_dir / "mailbot.log"
    log_file = log_path.open("a", encoding="utf-8")
    logs.configure("console", "info", stream=log_file)
    try:
        app.casebook.import_history(history)
        inbox = MaildirMailbox(app.config.mail_dir)
        for scenario in scenarios:
            inbox.deliver(Folder.INBOX, scenario.raw)
        inbox.close()
        echo(
            f"Delivered {len(scenarios)} emails to {app.config.mail_dir / 'Inbox'}; processing...\n"
        )
        app.runner().run_once()
        by_message = {c.message_id: c for c in app.casebook.cases()}
        echo(_summary(scenarios, by_message))
        sent = app.ctx.dispatch.outbox.counts().get("sent", 0)
        echo(
            f"\n{sent} replies, IDVA alerts and notices were sent (as they would go on the"
            f" wire) to {app.config.mail_dir / 'Outbox'}; list them with:"
            f" mailbot --config {config_path} outbox list"
        )
    finally:
        app.close()
        logs.reset()
        log_file.close()
    echo(
        f"\nWorkspace: {workspace.resolve()}/ (state in var/, mail in var/mail/,"
        f" log in {log_path.name})"
    )
    echo(f"Look closer: mailbot --config {config_path} cases show <REFERENCE>")


def _summary(scenarios: list[Scenario], by_message: dict[str, CaseRecord]) -> str:
    rows = [("#", "SCENARIO", "FROM", "REFERENCE", "OUTCOME", "REASONS / WARNINGS", "CRITERIA")]
    for n, s in enumerate(scenarios, 1):
        case = by_message.get(s.message_id)
        domain = s.sender.rpartition("@")[2]
        if case is None:
            rows.append((str(n), s.what, domain, "-", "(password)", "opened the one above", ""))
            continue
        d = case.decision
        rows.append(
            (
                str(n),
                s.what,
                domain,
                case.reference,
                d.outcome.value,
                ", ".join([*d.reasons, *d.warnings]) or "-",
                ", ".join(d.criteria) or "-",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )
