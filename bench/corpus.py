"""Building thousands of realistic encrypted referral emails quickly, once, for every run.

Rendering a form with python-docx takes tens of milliseconds and encrypting it at Word's spin
count (100,000 hash rounds) a tenth of a second, so 10,000 referrals made naively would take
half an hour. Instead a few hundred distinct forms are rendered with placeholder tokens for
the victim's names and dates, and each email gets its own person and dates by replacing the
tokens in `word/document.xml` (so no two emails are duplicates and repeat matching sees real
names). Each agency password is derived once per worker: the encryption parameters it yields
(password salt, verifier, wrapped package key) are reused for every document of that agency,
while each document gets its own encrypted package and integrity HMAC. Decryption cost is
untouched: a reader cannot know the files share a salt, so each open still costs the full
100,000-round derivation, in mailbot and in the floor alike. Generation runs on every core.

Layout under the corpus directory: `mail/NNNNN.eml` (the emails, in arrival order),
`docs/NNNNN.bin` (the same encrypted attachments, for the floor), `history.csv`, and
`manifest.json` (what was built, and each document's password).
"""

from __future__ import annotations

import io
import json
import random
import zipfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from msoffcrypto.method.container.ecma376_encrypted import ECMA376Encrypted
from msoffcrypto.method.ecma376_agile import ECMA376Agile

from bench.people import History, Person, make_history, random_person
from mailbot.demo.formwriter import FillStyle, render_form
from mailbot.demo.sample_mail import compose, docx_attachment
from mailbot.demo.samples import sample_form, with_values
from mailbot.dispatch.encrypt import WORD_SPIN_COUNT

INBOX = "marac_referrals@west-midlands.pnn.police.uk"
# Agencies of the example deployment that send encrypted referrals: (sender, password, areas).
SENDERS = (
    ("s.worker@birminghamchildrenstrust.co.uk", "BCT-Marac-7731", ("Birmingham",)),
    ("tenancy@wolverhamptonhomes.org.uk", "WH-Safe-4482", ("Wolverhampton",)),
    (
        "outreach@blackcountrywomensaid.co.uk",
        "BCWA-Refer-9051",
        ("Dudley", "Sandwell", "Walsall", "Wolverhampton"),
    ),
    ("k.smith@coventryhaven.co.uk", "Haven-CV-6620", ("Coventry",)),
    ("housing@whgrp.co.uk", "WHG-Marac-3358", ("Walsall",)),
    ("duty.team@dudley.gov.uk", "Dudley-CS-8814", ("Dudley",)),
    ("referrals@solihullcommunityhousing.org.uk", "SCH-Refer-5076", ("Solihull",)),
)
TOKENS = {
    "surname": "QQVSURNAMEQQ",
    "forenames": "QQVFORENAMESQQ",
    "dob": "QQVDOBQQ",
    "incident": "QQINCIDENTQQ",
}
REPEAT_SHARE = 0.03  # referrals of a victim heard at MARAC within the year


@dataclass(frozen=True)
class Base:
    sender: str
    password: str
    document: bytes  # an unencrypted .docx with TOKENS where the victim's details go


def base_documents(count: int, today: date, seed: int) -> list[Base]:
    """`count` distinct forms (areas, agencies, fill styles, children, DASH answers)."""
    rng = random.Random(seed)  # noqa: S311 (fictional data)
    styles = (FillStyle.CONTROLS, FillStyle.TYPED, FillStyle.MARKS)
    bases = []
    for n in range(count):
        sender, password, areas = SENDERS[n % len(SENDERS)]
        form = sample_form(
            rng,
            area=rng.choice(areas),
            referral_date=today,
            referrer_email=sender,
            dash_yes=rng.randint(14, 20),
            incident_date=today - timedelta(days=3),
        )
        name = form.value("victim_forenames")
        summary = form.value("risk_summary").replace(name, TOKENS["forenames"], 1)
        summary = summary.replace(form.value("incident_date"), TOKENS["incident"])
        form = with_values(
            form,
            victim_surname=TOKENS["surname"],
            victim_forenames=TOKENS["forenames"],
            victim_dob=TOKENS["dob"],
            incident_date=TOKENS["incident"],
            victim_aliases="",
            risk_summary=summary,
        )
        document = render_form(form, styles[n % len(styles)])
        xml = _document_xml(document)
        missing = [t for t in TOKENS.values() if t not in xml]
        if missing:
            raise RuntimeError(f"form {n}: tokens {missing} were split by the writer")
        bases.append(Base(sender, password, document))
    return bases


def _document_xml(document: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(document)) as archive:
        return archive.read("word/document.xml").decode()


def vary(document: bytes, person: Person, incident: date) -> bytes:
    """The base document with this victim and incident date in place of the tokens."""
    values = {
        TOKENS["surname"]: person.surname,
        TOKENS["forenames"]: person.forenames,
        TOKENS["dob"]: f"{person.dob:%d/%m/%Y}",
        TOKENS["incident"]: f"{incident:%d/%m/%Y}",
    }
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(document)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "word/document.xml":
                text = data.decode()
                for token, value in values.items():
                    text = text.replace(token, escape(value))
                data = text.encode()
            target.writestr(info, data)
    return out.getvalue()


class _Encryptor:
    """Word-style agile encryption at full spin count, one derivation per password."""

    def __init__(self, spin_count: int) -> None:
        self.spin_count = spin_count
        self._params: dict[str, tuple[Any, bytes]] = {}

    def encrypt(self, document: bytes, password: str) -> bytes:
        if password not in self._params:
            self._params[password] = ECMA376Agile.generate_encryption_parameters(
                password, None, self.spin_count
            )
        info, secret_key = self._params[password]
        package = ECMA376Agile.encrypt_payload(
            io.BytesIO(document), info.encryptedKey, secret_key, info.keyData.saltValue
        )
        encryption_info = ECMA376Agile.get_encryption_information(info, package, secret_key)
        buffer = io.BytesIO()
        ECMA376Encrypted(package, encryption_info).write_to(buffer)
        return buffer.getvalue()


# -- generation in worker processes ------------------------------------------------------

_state: dict[str, Any] = {}


def _init(bases: list[Base], recent: tuple[Person, ...], today: date, spin: int, root: str) -> None:
    _state.update(
        bases=bases, recent=recent, today=today, root=Path(root), encryptor=_Encryptor(spin)
    )


def _make(numbers: range) -> list[tuple[int, str]]:
    bases: list[Base] = _state["bases"]
    root: Path = _state["root"]
    today: date = _state["today"]
    made = []
    for n in numbers:
        rng = random.Random(n * 7919 + 17)  # noqa: S311 (each email the same on every build)
        base = bases[n % len(bases)]
        recent: tuple[Person, ...] = _state["recent"]
        person = (
            rng.choice(recent)
            if recent and rng.random() < REPEAT_SHARE
            else random_person(rng, today)
        )
        incident = today - timedelta(days=rng.randint(1, 10))
        encrypted = _state["encryptor"].encrypt(
            vary(base.document, person, incident), base.password
        )
        (root / "docs" / f"{n:05d}.bin").write_bytes(encrypted)
        sent = datetime.combine(today, datetime.min.time(), UTC) + timedelta(seconds=n)
        raw = compose(
            sender=base.sender,
            to=INBOX,
            subject="MARAC referral",
            body="Please find attached a MARAC referral (password as agreed).",
            attachments=[docx_attachment("MARAC referral.docx", encrypted)],
            message_id=f"<bench-{n:05d}@{base.sender.rpartition('@')[2]}>",
            sent_at=sent,
        )
        (root / "mail" / f"{n:05d}.eml").write_bytes(raw)
        made.append((n, base.password))
    return made


def build(
    root: Path,
    count: int,
    *,
    history_size: int,
    forms: int,
    spin: int,
    workers: int,
    seed: int = 20261102,
) -> dict[str, Any]:
    """Build (or reuse, when the manifest matches) a corpus of `count` emails under `root`."""
    wanted = {"count": count, "history": history_size, "forms": forms, "spin": spin, "seed": seed}
    manifest_path = root / "manifest.json"
    if manifest_path.exists():
        manifest: dict[str, Any] = json.loads(manifest_path.read_text())
        if {k: manifest.get(k) for k in wanted} == wanted:
            return manifest
    today = datetime.now(UTC).date()
    for sub in ("mail", "docs"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    history: History = make_history(history_size, today, seed)
    (root / "history.csv").write_text(history.csv_text)
    bases = base_documents(forms, today, seed)
    chunk = 250
    passwords: dict[int, str] = {}
    with ProcessPoolExecutor(
        workers,
        mp_context=get_context("spawn"),
        initializer=_init,
        initargs=(bases, history.recent, today, spin, str(root)),
    ) as pool:
        for made in pool.map(
            _make, [range(i, min(i + chunk, count)) for i in range(0, count, chunk)]
        ):
            passwords.update(made)
    manifest = {
        **wanted,
        "built": today.isoformat(),
        "passwords": [passwords[n] for n in range(count)],
    }
    manifest_path.write_text(json.dumps(manifest))
    return manifest


DEFAULT_SPIN = WORD_SPIN_COUNT
