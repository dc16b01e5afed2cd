"""The MARAC referral threshold: which of the five criteria a referral meets.

Visible high risk is counted from the DASH ticks, never taken from the declared score, so a
mis-added score neither lets a case in nor keeps one out; a difference is only a warning.
"""

from __future__ import annotations

from mailbot.codes import Caution, Criterion
from mailbot.config import ThresholdSettings
from mailbot.models import FormData, Frozen
from mailbot.validate.dates import add_months
from mailbot.validate.fields import Facts
from mailbot.validate.repeats import RepeatMatch


class ThresholdResult(Frozen):
    criteria: tuple[Criterion, ...]
    warnings: tuple[Caution, ...]


def assess_threshold(
    form: FormData,
    facts: Facts,
    repeat: RepeatMatch,
    rules: ThresholdSettings,
) -> ThresholdResult:
    criteria: list[Criterion] = []
    if form.dash_yes_count >= rules.dash_yes_minimum:
        criteria.append(Criterion.VISIBLE_HIGH_RISK)
    if (
        form.ticked("reason_professional_judgement")
        and facts.pj_words >= rules.pj_rationale_min_words
    ):
        criteria.append(Criterion.PROFESSIONAL_JUDGEMENT)
    if (
        form.ticked("reason_escalation")
        and facts.police_callouts is not None
        and facts.police_callouts >= rules.escalation_callouts_minimum
    ):
        criteria.append(Criterion.ESCALATION)
    if repeat.exact or _declared_repeat_in_window(form, facts, rules):
        criteria.append(Criterion.REPEAT)
    if facts.declared_transfer or form.ticked("reason_transfer"):
        criteria.append(Criterion.TRANSFER)
    warnings: list[Caution] = []
    if facts.dash_declared is not None and facts.dash_declared != form.dash_yes_count:
        warnings.append(Caution.DASH_SCORE_MISMATCH)
    return ThresholdResult(criteria=tuple(criteria), warnings=tuple(warnings))


def _declared_repeat_in_window(form: FormData, facts: Facts, rules: ThresholdSettings) -> bool:
    """Declared a repeat, with the previous MARAC within the window (or not known)."""
    if not (facts.declared_repeat or form.ticked("reason_repeat")):
        return False
    previous, incident = facts.previous_marac_date, facts.incident_date
    if previous is None or incident is None:
        return True  # "not known" is accepted for the previous MARAC date
    return add_months(incident, -rules.repeat_window_months) <= previous <= incident
