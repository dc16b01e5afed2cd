"""What an operator may do to outgoing mail, as Postfix's `postqueue` and `postsuper` allow.

A relay outage, a wrong address or a message that may not have arrived needs a person, and
before this only SQL could requeue a message. Each action here is one transaction, changes
only messages in the states it names (a message being sent is never touched, a sent one
never resent), and is written to the audit log with who did it. The running daemon sees
the change on its next pass: it takes a retry time an operator set from the database, not
from its own memory (`Dispatcher._due_ids`).

- retry: failed, unknown or dismissed mail is sent again (its attempts start afresh; a
  message in doubt keeps its doubts, so a second doubt waits for a person again); pending
  mail is made due now.
- hold / release: mail is kept back from sending, then let go (due now).
- flush: everything pending is due now.
- dismiss: failed, unknown or held mail is settled without sending (it arrived after all,
  or went by another route), which clears it from `mailbot status`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from mailbot.dispatch.outbox import Outbox, OutboxMessage


@dataclass(frozen=True)
class Action:
    name: str
    from_states: frozenset[str]
    to_state: str
    due_now: bool = False  # set next_attempt_at to now
    fresh_attempts: bool = False  # start the attempt count afresh


RETRY = Action(
    "retry",
    frozenset({"failed", "unknown", "dismissed", "pending"}),
    "pending",
    due_now=True,
    fresh_attempts=True,
)
HOLD = Action("hold", frozenset({"pending", "failed", "unknown"}), "held")
RELEASE = Action("release", frozenset({"held"}), "pending", due_now=True)
DISMISS = Action("dismiss", frozenset({"failed", "unknown", "held"}), "dismissed")
FLUSH = Action("flush", frozenset({"pending"}), "pending", due_now=True)

# Why a message in a state cannot take an action, in words for the operator.
_WHY_NOT = {
    "sending": "it is being sent right now; try again in a minute",
    "sent": "it was sent{sent_at}; there is nothing to do",
    "held": "it is held; release it first (mailbot outbox release {id})",
    "pending": "it is waiting to be sent (mailbot outbox hold {id} keeps it back)",
    "dismissed": "it was dismissed (mailbot outbox retry {id} sends it after all)",
    "failed": "it failed (mailbot outbox retry {id} or dismiss {id})",
    "unknown": "it may have arrived (mailbot outbox retry {id} or dismiss {id})",
}


@dataclass
class Outcome:
    changed: list[int] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # one line each, for the operator


class OutboxAdmin:
    """The operator's actions on an `Outbox`."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self.store = outbox.store

    def apply(self, action: Action, ids: Iterable[int], actor: str, now: datetime) -> Outcome:
        """`action` on the messages `ids`: each changed, or refused with a reason."""
        outcome = Outcome()
        with self.store.transaction() as conn:
            for row_id in dict.fromkeys(ids):
                row = self.outbox.get(row_id)
                if row is None:
                    outcome.refused.append(
                        f"outbox {row_id}: there is no such message (mailbot outbox list)"
                    )
                elif row.state not in action.from_states:
                    outcome.refused.append(
                        f"outbox {row_id}: cannot {action.name}: {_why_not(row)}"
                    )
                else:
                    self._change(conn, action, row, actor, now)
                    outcome.changed.append(row_id)
        return outcome

    def apply_to_state(self, action: Action, state: str, actor: str, now: datetime) -> Outcome:
        """`action` on every message now in `state` (e.g. retry every failed one)."""
        ids = [r.id for r in self.outbox.messages(state=state)]
        return self.apply(action, ids, actor, now)

    def _change(
        self,
        conn: sqlite3.Connection,
        action: Action,
        row: OutboxMessage,
        actor: str,
        now: datetime,
    ) -> None:
        sets, params = ["state = ?"], [action.to_state]
        if action.due_now:
            sets.append("next_attempt_at = ?")
            params.append(now.isoformat())
        if action.fresh_attempts:
            sets.append("attempts = 0")
        conn.execute(
            f"UPDATE outbox SET {', '.join(sets)} WHERE id = ?",  # noqa: S608
            (*params, row.id),
        )
        self.store.audit(
            conn,
            actor,
            f"outbox_{action.name}",
            row.reference,
            f"outbox={row.id} kind={row.kind} from={row.state}",
        )


def _why_not(row: OutboxMessage) -> str:
    sent_at = f" at {row.sent_at}" if row.sent_at else ""
    return _WHY_NOT.get(row.state, "its state does not allow it").format(id=row.id, sent_at=sent_at)
