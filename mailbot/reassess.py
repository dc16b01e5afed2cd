"""Deciding a held case's form again once an administrator has answered the repeat question.

A `possible_repeat` is held because only a person can tell whether a near match (same date
of birth and surname, another forename...) is the same victim. Once they say, the case must
be decided exactly as if the match had been certain all along: the same pure stages
(`pipeline.check_referral`, `find_repeats`, `decide_referral`), so the repeat criterion,
`repeat_detected`, `desktop_review` and "information only" follow the rules in one place.
"""

from __future__ import annotations

from mailbot import pipeline
from mailbot.casebook import CaseRecord
from mailbot.intake import Intake
from mailbot.models import Decision


def reassess(intake: Intake, case: CaseRecord, *, same_as: str | None = None,
             new_person: bool = False) -> Decision | None:
    """The decision for `case`'s form when its victim is the one heard as `same_as` (a
    repeat) or is a `new_person` (near matches no longer count).

    None when the form was never read, or `same_as` is not an earlier hearing, within the
    repeat window, that could be this victim (same date of birth, name or alias).
    """
    if case.form is None:
        return None
    config = intake.config
    today = intake.clock.now().astimezone(config.zone).date()
    report = pipeline.check_referral(case.form, config, today)
    victim = report.facts.victim
    history = intake.casebook.candidates(victim) if victim else []
    if same_as is not None and victim is not None:
        # The administrator says this hearing is the victim: match it as such.
        history = [h.model_copy(update={"person": victim}) if h.reference == same_as else h
                   for h in history]
    repeat = pipeline.find_repeats(report, history, config)
    if same_as is not None and all(h.reference != same_as for h in repeat.exact):
        return None
    if new_person:
        repeat = repeat.model_copy(update={"near": ()})
    opened = pipeline.OpenedForm(form=case.form, doc_sha256=case.doc_sha256 or "",
                                 encrypted=case.encrypted)
    return pipeline.decide_referral(opened, report, repeat, duplicate_of=None,
                                    sender=case.sender, config=config, today=today)
