"""What the Chair and the team must be told about a case, and the marker on its agenda entry.

PROCESS.md ("Cases, listings and hearings"): a victim aged 16-17, a desktop review due (the
protocol has the Chair, the Coordinator and the IDVA meet on it), a case held for the Chair
and a transfer in each reach the Chair by a team notice and by a marker on the agenda entry.
The confirmations already promise it ("the Chair is told"). One table here, so the notice
and the agenda cannot disagree. The texts hold codes and references only: a team notice may
travel to a non-secure address.
"""

from __future__ import annotations

from dataclasses import dataclass

from mailbot.codes import Caution, Criterion, Reason
from mailbot.models import Decision


@dataclass(frozen=True)
class Marker:
    code: Caution | Reason | Criterion
    label: str  # on the agenda entry
    notice: str  # the team notice's sentence


MARKERS: tuple[Marker, ...] = (
    Marker(
        Caution.YOUNG_PERSON,
        "Young person (16-17): child protection procedures take precedence",
        "The victim is aged 16 or 17: child protection procedures take precedence, and"
        " the Chair must know before the meeting.",
    ),
    Marker(
        Caution.DESKTOP_REVIEW,
        "Desktop review due (4th MARAC in 6 months)",
        "This is the victim's fourth MARAC in six months: a desktop review is due, for the"
        " Chair, the Coordinator and the IDVA.",
    ),
    Marker(
        Reason.CHAIR_REVIEW,
        "Below the threshold: for the Chair's decision",
        "The referral is below the MARAC threshold and waits in the exceptions queue for"
        " the Chair's decision.",
    ),
    Marker(
        Caution.CHAIR_ACCEPTED,
        "Below the threshold: accepted by the Chair",
        "The Chair accepted this referral below the threshold.",
    ),
    Marker(
        Criterion.TRANSFER,
        "Transfer in from another MARAC",
        "This is a MARAC-to-MARAC transfer in: the Chair reviews the transferring MARAC's"
        " information and actions.",
    ),
)


def markers(decision: Decision) -> tuple[Marker, ...]:
    """The markers a decision carries (warnings, held reasons and the transfer criterion)."""
    codes = {*decision.warnings, *decision.reasons, *decision.criteria}
    return tuple(m for m in MARKERS if m.code in codes)
