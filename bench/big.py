"""Referrals with 25 MB attachments, for the memory bound.

Partners photograph injuries and paste the photos into the form, so a real referral can be
tens of megabytes of incompressible image data. Here one form from the corpus gets a 25 MB
random-pixel PNG (which no compression shrinks) pasted in with python-docx, so the package,
its encryption and the email are all as large as such a referral would be (the email, in
base64, about 34 MB, within the example configuration's 60 MB limit).
"""

from __future__ import annotations

import io
import random
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import docx

from bench.corpus import INBOX, _Encryptor, base_documents, vary
from bench.people import random_person
from mailbot.demo.sample_mail import compose, docx_attachment
from tests.photos import png  # the tests' photo referrals are the same kind

IMAGE_BYTES = 25 * 1024 * 1024


def build(root: Path, count: int, today: date, spin: int) -> list[str]:
    """`count` emails with a 25 MB photo each under `root/mail`, and the encrypted documents
    alone under `root/docs` (for the floor); returns the passwords."""
    for sub in ("mail", "docs"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    base = base_documents(1, today, seed=25)[0]
    document = docx.Document(io.BytesIO(base.document))
    document.add_picture(io.BytesIO(png(IMAGE_BYTES, seed=25)))
    buffer = io.BytesIO()
    document.save(buffer)
    encryptor = _Encryptor(spin)
    rng = random.Random(25)  # noqa: S311 (fictional data)
    for n in range(count):
        varied = vary(buffer.getvalue(), random_person(rng, today), today - timedelta(days=2))
        encrypted = encryptor.encrypt(varied, base.password)
        raw = compose(
            sender=base.sender,
            to=INBOX,
            subject="MARAC referral (photos)",
            attachments=[docx_attachment("MARAC referral.docx", encrypted)],
            message_id=f"<bench-big-{n:03d}@{base.sender.rpartition('@')[2]}>",
            sent_at=datetime.combine(today, time(12), UTC),
        )
        (root / "mail" / f"{n:05d}.eml").write_bytes(raw)
        (root / "docs" / f"{n:05d}.bin").write_bytes(encrypted)
    return [base.password] * count
