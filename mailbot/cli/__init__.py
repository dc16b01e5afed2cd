"""The `mailbot` command: one group (`mailbot.cli.root`), its sub-commands one module each.

IT runs `mailbot run` under systemd; the MARAC team use the other commands. Each module below
registers its commands on the group when imported, so importing this package gives the whole
command, as `mailbot = "mailbot.cli:main"` in pyproject.toml expects.
"""

from mailbot.cli import check, distribution, meetings, outbox, queue, status, web
from mailbot.cli.root import main

__all__ = ["check", "distribution", "main", "meetings", "outbox", "queue", "status", "web"]
