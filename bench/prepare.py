"""The benchmark's setup steps, each run as its own process by `bench.run`.

Why separate processes: Linux carries a process's peak RSS over into the children it starts
(fork copies the high-water mark and exec keeps it), so if the orchestrator itself built the
corpus or imported 50,000 cases, every measured child would report at least that much. The
orchestrator stays a small process and asks this module to do the heavy work.

    python -m bench.prepare corpus DIR COUNT --history H --forms F --spin S --workers W
    python -m bench.prepare big DIR COUNT --spin S
    python -m bench.prepare workspace DIR CORPUS COUNT [--workers W] [--history CSV]
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path

from bench import big, corpus, workspace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    steps = parser.add_subparsers(dest="step", required=True)
    build = steps.add_parser("corpus")
    build.add_argument("dir", type=Path)
    build.add_argument("count", type=int)
    build.add_argument("--history", type=int, required=True)
    build.add_argument("--forms", type=int, required=True)
    build.add_argument("--spin", type=int, required=True)
    build.add_argument("--workers", type=int, required=True)
    large = steps.add_parser("big")
    large.add_argument("dir", type=Path)
    large.add_argument("count", type=int)
    large.add_argument("--spin", type=int, required=True)
    deploy = steps.add_parser("workspace")
    deploy.add_argument("dir", type=Path)
    deploy.add_argument("corpus", type=Path)
    deploy.add_argument("count", type=int)
    deploy.add_argument("--workers", type=int)
    deploy.add_argument("--history", type=Path, help="default: CORPUS/history.csv")
    args = parser.parse_args()
    if args.step == "corpus":
        manifest = corpus.build(
            args.dir,
            args.count,
            history_size=args.history,
            forms=args.forms,
            spin=args.spin,
            workers=args.workers,
        )
        print(json.dumps({"count": manifest["count"], "built": manifest["built"]}))
    elif args.step == "big":
        done = args.dir / "manifest.json"
        wanted = {"count": args.count, "spin": args.spin}
        built = json.loads(done.read_text()) if done.exists() else {}
        if {k: built.get(k) for k in wanted} != wanted or not (args.dir / "docs").is_dir():
            passwords = big.build(args.dir, args.count, datetime.now(UTC).date(), args.spin)
            done.write_text(json.dumps({**wanted, "passwords": passwords}))
        print(json.dumps(wanted))
    else:
        config = workspace.prepare(args.dir, workers=args.workers)
        history = args.history or args.corpus / "history.csv"
        imported = workspace.load(config, args.corpus, args.count, history)
        print(json.dumps({"config": str(config), "history": imported}))


if __name__ == "__main__":
    main()
