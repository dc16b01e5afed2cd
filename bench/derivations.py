"""Counting key derivations, the one expensive step of opening an encrypted referral.

Each candidate password costs one derivation (100,000 hash rounds): a right password must
cost one in total (verified and used from the same derivation, not derived again to decrypt),
and a wrong one exactly one each. The counts come from `decrypt`'s own `derive=` hook, called
exactly as intake calls it: with the candidate passwords `Intake.candidate_passwords` gives
for the sender, on the benchmark's own documents.

    python -m bench.derivations CONFIG CORPUS [--sample N]   (prints JSON)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench.corpus import SENDERS
from mailbot.app import open_app
from mailbot.ingest.document.decrypt import Decrypted, decrypt, derive_password_hash
from mailbot.ingest.mime.parse import parse_email


class Counting:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, password: str, salt: bytes, hash_name: str, spin: int) -> bytes:
        self.calls += 1
        return derive_password_hash(password, salt, hash_name, spin)


def count(config: Path, corpus: Path, sample: int) -> dict[str, object]:
    app = open_app(config, with_mailbox=False)
    limits = app.config.limits
    rows = []
    try:
        for n in range(sample):
            email = parse_email((corpus / "mail" / f"{n:05d}.eml").read_bytes(), limits)
            document = email.attachments[0].data
            candidates = app.intake.candidate_passwords(email)
            right = Counting()
            opened = decrypt(document, candidates, limits, derive=right)
            wrong = Counting()
            others = [p for _, p, _ in SENDERS if p not in candidates][:3]
            refused = decrypt(document, others, limits, derive=wrong)
            rows.append(
                (
                    len(candidates),
                    isinstance(opened, Decrypted),
                    right.calls,
                    len(others),
                    isinstance(refused, Decrypted),
                    wrong.calls,
                )
            )
    finally:
        app.close()
    first = [r for r in rows if r[1] and r[2] == 1]
    return {
        "documents": len(rows),
        "opened_with_the_right_password": sum(r[1] for r in rows),
        "derivations_per_opened_document": sorted({r[2] for r in rows if r[1]}),
        "opened_by_the_first_candidate": len(first),
        "wrong_password_tries": sum(r[3] for r in rows),
        "derivations_for_wrong_passwords": sum(r[5] for r in rows),
        "opened_by_a_wrong_password": sum(r[4] for r in rows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--sample", type=int, default=50)
    args = parser.parse_args()
    print(json.dumps(count(args.config, args.corpus, args.sample)))


if __name__ == "__main__":
    main()
