"""Regenerate the LibreOffice golden pairs in this folder.

Each recipe of `tests/libreoffice.py` is rendered as the partner's Word would send it, saved
by LibreOffice Writer (headless `soffice --convert-to docx`, Debian's libreoffice-writer-nogui)
and kept here as `NAME.docx`, beside `NAME.json`: the FormData it must read as, which is the
data written less LibreOffice's one documented loss (never the reader's own output, so a reader
bug cannot become golden). The script says which pairs the reader gets wrong today.

    .venv/bin/python tests/data/forms/libreoffice/make.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[4]))

from mailbot.ingest.form.reader import read_form
from tests.libreoffice import (
    GOLDEN,
    expected_read,
    find_soffice,
    recipes,
    save_with_libreoffice,
)


def main() -> int:
    soffice = find_soffice()
    if soffice is None:
        print("soffice not found: apt-get install libreoffice-writer-nogui", file=sys.stderr)
        return 2
    chosen = recipes()
    saved = save_with_libreoffice({name: r.original() for name, r in chosen.items()}, soffice)
    for stale in [*GOLDEN.glob("*.docx"), *GOLDEN.glob("*.json")]:
        if stale.stem not in chosen:
            stale.unlink()
    wrong = 0
    for name, data in saved.items():
        want = expected_read(chosen[name])
        (GOLDEN / f"{name}.docx").write_bytes(data)
        text = json.dumps(want.model_dump(mode="json"), indent=1, ensure_ascii=False)
        (GOLDEN / f"{name}.json").write_text(text + "\n", encoding="utf-8")
        right = read_form(data) == want
        wrong += not right
        print(f"{name}: {'reads as expected' if right else 'MISREAD by the reader'}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
