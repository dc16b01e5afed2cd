"""A relay whose behaviour each test sets: the faults an operator meets, on 127.0.0.1.

Each message is answered by the next step of the script kept for its recipient (then by that
recipient's default, then by `default`): `accept`; `slow` (queue the message, then answer
only once the test lets it, long after the client gave up); `defer` (451 after the whole
message, which a relay says when it did not queue it); `refuse` (550); `drop` (queue the whole
message, then hang up without a word); `drop_early` (hang up at RCPT, before any message).
`copies` counts what the relay queued, by Message-ID: the number a recipient would get.
`on_queued` runs when a message is queued, before the answer goes back: where a test breaks
the database, or kills the daemon, just after the relay took the message.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.integration.smtp_server import HOST, free_port, hang_up

ACCEPTED = "250 2.0.0 Queued"
DEFERRED = "451 4.3.0 Try again later"
REFUSED = "550 5.1.1 Mailbox unavailable"
SLOW_LIMIT_SECONDS = 120.0  # a slow answer waits at most this long for the test to let it go


@dataclass
class Relay:
    default: str = "accept"
    scripts: dict[str, deque[str]] = field(default_factory=dict)  # by recipient
    defaults: dict[str, str] = field(default_factory=dict)  # by recipient
    on_queued: Callable[[bytes], None] | None = None
    queued: list[bytes] = field(default_factory=list)
    attempts: int = 0  # conversations that reached MAIL FROM
    release: threading.Event = field(default_factory=threading.Event)

    def behave(self, recipient: str, *steps: str, then: str | None = None) -> None:
        """Answer messages to `recipient` with `steps`, then with `then` (or the default)."""
        self.scripts[recipient] = deque(steps)
        if then is not None:
            self.defaults[recipient] = then

    def copies(self, message_id: str | None = None) -> int:
        """Messages queued (with this Message-ID, if given)."""
        if message_id is None:
            return len(self.queued)
        return self.by_message_id()[message_id]

    def by_message_id(self) -> Counter[str]:
        parser = BytesHeaderParser()
        return Counter(str(parser.parsebytes(raw)["Message-ID"]) for raw in self.queued)

    def _step(self, recipient: str) -> str:
        script = self.scripts.get(recipient)
        if script:
            return script.popleft()
        return self.defaults.get(recipient, self.default)

    async def handle_MAIL(  # aiosmtpd's hook name
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        self.attempts += 1
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(  # aiosmtpd's hook name
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        step = self._step(address)
        if step == "drop_early":
            hang_up(server)
            return "421 closing"
        envelope.rcpt_tos.append(address)
        session.step = step  # type: ignore[attr-defined]  # what DATA does for this message
        return "250 OK"

    async def handle_DATA(  # aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        step: str = getattr(session, "step", "accept")
        content = envelope.content
        assert isinstance(content, bytes)
        if step == "defer":
            return DEFERRED
        if step == "refuse":
            return REFUSED
        self.queued.append(content)
        if self.on_queued is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.on_queued, content)
        if step == "drop":
            hang_up(server)
            return ACCEPTED  # never reaches the client
        if step == "slow":
            for _ in range(int(SLOW_LIMIT_SECONDS / 0.05)):
                if self.release.is_set():
                    break
                await asyncio.sleep(0.05)
        return ACCEPTED


@dataclass
class RunningRelay:
    relay: Relay
    port: int


@contextmanager
def running_relay(relay: Relay | None = None, port: int | None = None) -> Iterator[RunningRelay]:
    """`relay` listening on 127.0.0.1 (on `port`, or a free one) for the duration; slow
    answers are let go on exit."""
    relay = relay or Relay()
    port = port or free_port()
    controller = Controller(relay, hostname=HOST, port=port)
    controller.start()
    try:
        yield RunningRelay(relay, port)
    finally:
        relay.release.set()
        controller.stop()
