"""The floor: the least work any tool must do to read these referrals, with nothing else.

For each encrypted document, exactly what a minimal script would do with the usual libraries:
msoffcrypto-tool derives the key from the known password once (`load_key` without its extra
verification derivation) and decrypts the package, and python-docx loads the document. No
email parsing, no checks, no database, no mailbox. `--jobs J` splits the documents into J
contiguous runs on J processes, so it can be compared with mailbot using the same cores.

Run as a child process by `bench.run`: python -m bench.floor CORPUS_DIR COUNT [--jobs J]
"""

from __future__ import annotations

import argparse
import io
import json
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import docx
import msoffcrypto


def open_all(root: str, numbers: range, passwords: list[str]) -> int:
    paragraphs = 0
    for n in numbers:
        with (Path(root) / "docs" / f"{n:05d}.bin").open("rb") as handle:
            office = msoffcrypto.OfficeFile(handle)
            office.load_key(password=passwords[n])
            plain = io.BytesIO()
            office.decrypt(plain)
        paragraphs += len(docx.Document(plain).paragraphs)  # touch it, as a reader would
    return paragraphs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("count", type=int)
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()
    passwords = json.loads((args.corpus / "manifest.json").read_text())["passwords"]
    if args.jobs <= 1:
        open_all(str(args.corpus), range(args.count), passwords)
        return
    step = -(-args.count // args.jobs)
    runs = [range(i, min(i + step, args.count)) for i in range(0, args.count, step)]
    with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn")) as pool:
        list(pool.map(open_all, [str(args.corpus)] * len(runs), runs, [passwords] * len(runs)))


if __name__ == "__main__":
    main()
