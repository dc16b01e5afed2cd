"""Run hostile inputs through mailbot one by one, in this process, and report each one's cost.

`tests/crash/test_hostile_bounds.py` starts this in a separate process so that a runaway input
shows up as this process's memory, not the test runner's: for each file it resets the kernel's
peak-RSS mark (/proc/self/clear_refs), delivers the file (an attachment, or a whole .eml as
it is), processes the inbox once, and prints one JSON line with the seconds taken, the peak
resident memory and the decision's codes. A good referral goes last, to show the daemon
carries on after all of them.

    python -m tests.crash.hostile_worker WORKSPACE FILE...
"""

from __future__ import annotations

import io
import json
import resource
import sys
import time
from pathlib import Path

from mailbot import logs
from mailbot.app import open_app
from mailbot.credentials import Secrets
from mailbot.demo.sample_mail import compose, docx_attachment
from mailbot.ingest.maildir import MaildirMailbox
from mailbot.models import Folder
from tests.conftest import NOW, FixedClock
from tests.hostile_blocks import CORPUS_PASSWORD, referral_docx

POLICE = "pc.adams@west-midlands.pnn.police.uk"
GOOD = "<hostile-worker-good@west-midlands.pnn.police.uk>"


def reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where the kernel refuses."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(workspace: Path, files: list[Path]) -> None:
    logs.configure("json", "error", stream=io.StringIO())
    app = open_app(workspace / "mailbot.toml", FixedClock())
    app.ctx.running.swap(
        app.config, Secrets.model_validate({"agencies": {"wmp": {"passwords": [CORPUS_PASSWORD]}}})
    )
    inbox = MaildirMailbox(app.config.mail_dir, use_inotify=False)
    runner = app.runner()
    for n, path in enumerate([*files, None]):
        if path is None:
            name, message_id = "good referral", GOOD
            inbox.deliver(Folder.INBOX, _email(GOOD, referral_docx(99)))
        elif path.suffix == ".eml":
            name, message_id = path.name, None
            if not path.parent.samefile(app.config.mail_dir / "Inbox" / "new"):
                inbox.deliver(Folder.INBOX, path.read_bytes())
        else:
            name, message_id = path.name, f"<hostile-worker-{n}@west-midlands.pnn.police.uk>"
            inbox.deliver(Folder.INBOX, _email(message_id, path.read_bytes(), path.name))
        known = {c.reference for c in app.casebook.cases()}
        exact = reset_peak()
        started = time.monotonic()
        runner.run_once()
        seconds = time.monotonic() - started
        new = [c for c in app.casebook.cases() if c.reference not in known]
        codes = [[*c.decision.reasons, *c.decision.warnings, *c.decision.criteria] for c in new]
        print(
            json.dumps(
                {
                    "name": name,
                    "seconds": round(seconds, 3),
                    "peak_mb": round(peak_mb(), 1),
                    "exact_peak": exact,
                    "outcomes": [c.decision.outcome.value for c in new],
                    "codes": codes,
                    "message_id": message_id,
                }
            ),
            flush=True,
        )
    app.close()


def _email(message_id: str, document: bytes, filename: str = "MARAC referral.docx") -> bytes:
    return compose(
        sender=POLICE,
        to="marac_referrals@west-midlands.pnn.police.uk",
        subject="MARAC referral",
        attachments=[docx_attachment(filename, document)],
        message_id=message_id,
        sent_at=NOW,
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]), [Path(a) for a in sys.argv[2:]])
