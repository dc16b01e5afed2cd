"""From the checks on one read referral to its single outcome.

Precedence (PROCESS.md): a duplicate is only answered as such; a referral of a victim whose
case is still open joins that case (one victim, one case: a below-threshold one too, since
its information matters at that meeting); otherwise every problem the referrer must fix is
returned together (field problems, no reason ticked, threshold not met, a victim under 16),
so one reply says everything; then an uncertain match (an earlier hearing, or an open case)
is held for an administrator; then the case is accepted, or listed for information only when
it is a repeat that its referrer says needs no further discussion.

A forgotten tick is not a reason to send a case back: when mailbot itself establishes a
criterion (the DASH ticks counted, a repeat in its own history, a transfer in), an unticked
"reason for referral" is the warning `reason_not_ticked`, not `no_reason_ticked`.
"""

from __future__ import annotations

from datetime import date
from typing import TypedDict

from mailbot.codes import Caution, Criterion, Reason, ReasonCode
from mailbot.config import ThresholdSettings
from mailbot.models import Decision, FormData, OpenCase, Outcome
from mailbot.validate.fields import FieldReport, victim_age
from mailbot.validate.repeats import OpenMatch, RepeatMatch
from mailbot.validate.threshold import assess_threshold

ADULT_AGE = 18
MARAC_MIN_AGE = 16


def decide(
    form: FormData,
    report: FieldReport,
    repeat: RepeatMatch,
    *,
    duplicate_of: str | None,
    today: date,
    rules: ThresholdSettings,
    below_threshold: str,
    insecure: bool,
    open_match: OpenMatch | None = None,
) -> Decision:
    """The decision for one referral form (pure: all lookups were done by the caller)."""
    transport = (Caution.INSECURE_TRANSPORT,) if insecure else ()
    if duplicate_of is not None:
        return Decision(
            outcome=Outcome.RETURNED,
            reasons=(Reason.DUPLICATE,),
            warnings=transport,
            duplicate_of=duplicate_of,
        )
    facts = report.facts
    threshold = assess_threshold(form, facts, repeat, rules)
    warnings: list[Caution] = [*transport, *threshold.warnings]
    returned: list[ReasonCode] = list(report.codes)
    if threshold.criteria and Reason.NO_REASON_TICKED in returned:
        returned.remove(Reason.NO_REASON_TICKED)
        warnings.append(Caution.REASON_NOT_TICKED)
    if not threshold.criteria:
        returned.append(Reason.THRESHOLD_NOT_MET)
    age = victim_age(facts, today)
    if age is not None and age < MARAC_MIN_AGE:
        returned.append(Reason.VICTIM_UNDER_16)
    elif age is not None and age < ADULT_AGE:
        warnings.append(Caution.YOUNG_PERSON)
    declared = facts.declared_repeat or form.ticked("reason_repeat")
    latest = repeat.latest
    if latest is not None and not declared:
        warnings.append(Caution.REPEAT_DETECTED)
    if latest is not None and repeat.recent_hearings + 1 >= rules.desktop_review_count:
        warnings.append(Caution.DESKTOP_REVIEW)
    common: _Common = {
        "warnings": tuple(dict.fromkeys(warnings)),
        "criteria": threshold.criteria,
        "repeat_of": latest.reference if latest else None,
    }
    only_threshold = bool(returned) and set(returned) <= _BELOW_THRESHOLD
    own = (
        Outcome.INFO_ONLY
        if Criterion.REPEAT in threshold.criteria and facts.repeat_needs_discussion is False
        else Outcome.ACCEPTED
    )
    match = open_match or OpenMatch()
    if match.exact is not None and (not returned or only_threshold):
        return _join(match.exact, own, tuple(returned), common)
    if returned:
        if only_threshold and below_threshold == "chair_review":
            return Decision(
                outcome=Outcome.HELD, reasons=(Reason.CHAIR_REVIEW, *returned), **common
            )
        return Decision(outcome=Outcome.RETURNED, reasons=tuple(returned), **common)
    near = (
        *(h.reference for h in repeat.near if latest is None),
        *(c.reference for c in match.near),
    )
    if near:
        return Decision(
            outcome=Outcome.HELD,
            reasons=(Reason.POSSIBLE_REPEAT,),
            possible_repeats=tuple(dict.fromkeys(near)),
            **common,
        )
    return Decision(outcome=own, **common)


_BELOW_THRESHOLD: frozenset[ReasonCode] = frozenset(
    {Reason.THRESHOLD_NOT_MET, Reason.NO_REASON_TICKED}
)


class _Common(TypedDict):
    """What every decision of one referral carries, whatever its outcome."""

    warnings: tuple[Caution, ...]
    criteria: tuple[Criterion, ...]
    repeat_of: str | None


def _join(case: OpenCase, own: Outcome, below: tuple[ReasonCode, ...], common: _Common) -> Decision:
    """The referral joins the victim's open case.

    On its own merits it is decided as usual (accepted, or information only). Below the
    threshold it still joins: listed with the case (for information when the case is), or,
    when the case is only held in the queue, held beside it for the administrator."""
    warnings = (
        (*common["warnings"], Caution.ALREADY_LISTED) if case.meeting_date else common["warnings"]
    )
    rest: _Common = {**common, "warnings": warnings}
    if not below:
        return Decision(outcome=own, joined=case.reference, **rest)
    if case.meeting_date is None:
        return Decision(
            outcome=Outcome.HELD,
            reasons=(Reason.OPEN_CASE_IN_QUEUE, *below),
            joined=case.reference,
            **rest,
        )
    outcome = Outcome.INFO_ONLY if case.information_only else Outcome.ACCEPTED
    rest["warnings"] = (*warnings, Caution.BELOW_THRESHOLD_JOINED)
    return Decision(outcome=outcome, joined=case.reference, **rest)
