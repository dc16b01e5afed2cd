"""From the checks on one read referral to its single outcome.

Precedence (PROCESS.md): a duplicate is only answered as such; otherwise every problem the
referrer must fix is returned together (field problems, no reason ticked, threshold not met,
a victim under 16), so one reply says everything; then an uncertain repeat match is held for
an administrator; then the case is accepted, or listed for information only when it is a
repeat that its referrer says needs no further discussion.
"""

from __future__ import annotations

from datetime import date

from mailbot.config import ThresholdSettings
from mailbot.models import Decision, FormData, Outcome
from mailbot.validate.fields import FieldReport, victim_age
from mailbot.validate.repeats import RepeatMatch
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
) -> Decision:
    """The decision for one referral form (pure: all lookups were done by the caller)."""
    transport = ("insecure_transport",) if insecure else ()
    if duplicate_of is not None:
        return Decision(outcome=Outcome.RETURNED, reasons=("duplicate",), warnings=transport,
                        duplicate_of=duplicate_of)
    facts = report.facts
    threshold = assess_threshold(form, facts, repeat, rules)
    warnings = [*transport, *threshold.warnings]
    returned = list(report.codes)
    if not threshold.criteria:
        returned.append("threshold_not_met")
    age = victim_age(facts, today)
    if age is not None and age < MARAC_MIN_AGE:
        returned.append("victim_under_16")
    elif age is not None and age < ADULT_AGE:
        warnings.append("young_person")
    declared = facts.declared_repeat or form.ticked("reason_repeat")
    latest = repeat.latest
    if latest is not None and not declared:
        warnings.append("repeat_detected")
    if latest is not None and repeat.recent_hearings + 1 >= rules.desktop_review_count:
        warnings.append("desktop_review")
    common = {
        "warnings": tuple(dict.fromkeys(warnings)),
        "criteria": threshold.criteria,
        "repeat_of": latest.reference if latest else None,
    }
    if returned:
        only_threshold = set(returned) <= {"threshold_not_met", "no_reason_ticked"}
        if only_threshold and below_threshold == "chair_review":
            return Decision(outcome=Outcome.HELD, reasons=("chair_review", *returned), **common)
        return Decision(outcome=Outcome.RETURNED, reasons=tuple(returned), **common)
    if repeat.near and latest is None:
        return Decision(outcome=Outcome.HELD, reasons=("possible_repeat",),
                        possible_repeats=tuple(h.reference for h in repeat.near), **common)
    is_repeat = "repeat" in threshold.criteria
    if is_repeat and facts.repeat_needs_discussion is False:
        return Decision(outcome=Outcome.INFO_ONLY, **common)
    return Decision(outcome=Outcome.ACCEPTED, **common)
