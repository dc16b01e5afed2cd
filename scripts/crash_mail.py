"""The crash harness's mail: referral emails of every kind partners send, from one seed.

A crash test is only as good as the work it interrupts, so the mix exercises every path
through intake and dispatch: referrals in all three fill styles, forms encrypted with the
agency's agreed password (a costly key derivation to be killed in), returned and held forms,
documents that are not the form at all, resent duplicates, and encrypted referrals whose
password follows in a separate email (which has no case of its own but re-decides an earlier
one). The same seed gives the same emails, so a failing run can be replayed.
"""

from __future__ import annotations

import io
import random
import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import docx

from mailbot.demo.formwriter import FillStyle, render_form
from mailbot.demo.sample_mail import compose, docx_attachment
from mailbot.demo.samples import sample_form, with_dash_yes, with_ticks, with_values
from mailbot.dispatch.encrypt import encrypt_docx
from mailbot.models import FormData

ROOT = Path(__file__).resolve().parents[1]
REFERRALS = "marac_referrals@west-midlands.pnn.police.uk"
HELD_SENDER = "tenancy@wolverhamptonhomes.org.uk"
# Word's own 100,000 makes each key derivation cost ~0.15 s and a password email that tries a
# dozen candidates against every waiting document take seconds, most of which a random kill
# would then land in; 10,000 keeps the same code path at a pace where work gets done.
SPIN_COUNT = 10_000
# Kind of email, and its share of the mix (a "held" email brings its password email along).
MIX = (
    ("referral", 40),
    ("encrypted", 15),
    ("returned", 15),
    ("bad", 10),
    ("duplicate", 8),
    ("held", 7),
)


@dataclass(frozen=True)
class Email:
    message_id: str
    kind: str  # referral, encrypted, returned, bad, duplicate, held or password
    raw: bytes

    @property
    def has_case(self) -> bool:
        """Every email gets exactly one case, except a password email (it opens another's)."""
        return self.kind != "password"


def agency_passwords() -> dict[str, str]:
    """Agency name -> its current agreed password, from the example deployment."""
    config = tomllib.loads((ROOT / "config" / "example.toml").read_text())
    secrets = tomllib.loads((ROOT / "config" / "example-secrets.toml").read_text())
    names = {a["id"]: a["name"] for a in config["agencies"]}
    return {
        names[i]: s["passwords"][0] for i, s in secrets["agencies"].items() if s.get("passwords")
    }


class _Builder:
    def __init__(self, seed: int, today: date) -> None:
        self.rng = random.Random(seed)  # noqa: S311 (test data, reproducible)
        self.seed = seed
        self.today = today
        self.passwords = agency_passwords()
        self.sent: list[tuple[str, bytes]] = []  # (sender, document) of referrals so far
        self.out: list[Email] = []
        self.later: list[tuple[int, Email]] = []  # password emails waiting for their turn

    def email(
        self,
        kind: str,
        sender: str,
        document: bytes | None,
        *,
        subject: str = "MARAC referral",
        body: str = "Please find attached a referral.",
        filename: str = "MARAC referral.docx",
    ) -> Email:
        message_id = f"<crash-{self.seed}-{len(self.out) + len(self.later)}@harness.invalid>"
        attachments = [docx_attachment(filename, document)] if document is not None else []
        raw = compose(
            sender=sender,
            to=REFERRALS,
            subject=subject,
            body=body,
            attachments=attachments,
            message_id=message_id,
            sent_at=datetime.now(UTC),
        )
        return Email(message_id, kind, raw)

    def form(self, **kw: str) -> FormData:
        rng = random.Random(self.rng.getrandbits(32))  # noqa: S311
        return sample_form(rng, referral_date=self.today, **kw)  # type: ignore[arg-type]

    def render(self, form: FormData) -> bytes:
        return render_form(form, self.rng.choice(list(FillStyle)))

    def add(self, kind: str) -> None:
        if kind == "referral":
            form = self.form()
            self._referral(kind, form.value("referrer_email"), self.render(form))
        elif kind == "encrypted":
            agency, password = self.rng.choice(sorted(self.passwords.items()))
            form = self.form(referrer_agency=agency)
            self._referral(
                kind,
                form.value("referrer_email"),
                encrypt_docx(self.render(form), password, spin_count=SPIN_COUNT),
            )
        elif kind == "returned":
            form = self.form()
            broken = self.rng.choice(
                (
                    with_values(form, victim_surname=""),
                    with_ticks(with_dash_yes(form, 6), reason_visible_high_risk=False),
                )
            )
            self._referral(kind, form.value("referrer_email"), self.render(broken))
        elif kind == "bad":
            self._bad()
        elif kind == "duplicate" and self.sent:
            sender, document = self.rng.choice(self.sent)
            self.out.append(self.email(kind, sender, document))
        elif kind == "held":
            password = f"Harness-{self.rng.randrange(10**6):06d}"
            form = self.form(referrer_agency="Wolverhampton Homes")
            self.out.append(
                self.email(
                    kind,
                    HELD_SENDER,
                    encrypt_docx(self.render(form), password, spin_count=SPIN_COUNT),
                )
            )
            reply = self.email(
                "password",
                HELD_SENDER,
                None,
                subject="password",
                body=f"The password is {password}",
            )
            self.later.append((len(self.out) + self.rng.randint(0, 4), reply))
        else:
            self.add("referral")

    def _referral(self, kind: str, sender: str, document: bytes) -> None:
        self.sent.append((sender, document))
        self.out.append(self.email(kind, sender, document))

    def _bad(self) -> None:
        sender = self.form().value("referrer_email")
        choice = self.rng.randrange(4)
        if choice == 0:
            self.out.append(self.email("bad", sender, _letter()))
        elif choice == 1:
            self.out.append(self.email("bad", sender, None))
        elif choice == 2:
            document = self.render(self.form())
            self.out.append(self.email("bad", sender, document[: len(document) // 2]))
        else:
            self.out.append(
                self.email("bad", sender, b"%PDF-1.7\n%%EOF\n", filename="referral.docx")
            )

    def release_passwords(self, final: bool = False) -> None:
        due = [e for at, e in self.later if final or at <= len(self.out)]
        self.later = [(at, e) for at, e in self.later if not (final or at <= len(self.out))]
        self.out.extend(due)


def build_emails(count: int, seed: int, today: date) -> list[Email]:
    """`count` emails (password emails included), in the order they arrive."""
    builder = _Builder(seed, today)
    kinds, weights = zip(*MIX, strict=True)
    while len(builder.out) + len(builder.later) < count:
        kind = builder.rng.choices(kinds, weights)[0]
        if kind == "held" and len(builder.out) + len(builder.later) + 2 > count:
            kind = "referral"
        builder.add(kind)
        builder.release_passwords()
    builder.release_passwords(final=True)
    return builder.out


def _letter() -> bytes:
    document = docx.Document()
    document.add_paragraph("Dear MARAC coordinator, please see the family discussed.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
