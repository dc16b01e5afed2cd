"""Deciding a held case's form again once an administrator has answered the repeat question.

A `possible_repeat` is held because only a person can tell whether a near match (same date
of birth and surname, another forename...) is the same victim: heard before (then it is a
repeat) or the victim of a case still open (then it joins that case). Once they say, the case must
be decided exactly as if the match had been certain all along: the same pure stages
(`stages.check_referral`, `find_repeats`, `decide_referral`), so the repeat criterion,
`repeat_detected`, `desktop_review` and "information only" follow the rules in one place.
"""

from __future__ import annotations

from mailbot.cases.casebook import CaseRecord
from mailbot.cases.lifecycle import Known
from mailbot.context import Context
from mailbot.intake import stages
from mailbot.models import Decision


def reassess(
    ctx: Context, case: CaseRecord, *, same_as: str | None = None, new_person: bool = False
) -> Decision | None:
    """The decision for `case`'s form when its victim is the one heard as `same_as` (a
    repeat) or is a `new_person` (near matches no longer count).

    None when the form was never read, or `same_as` is not an earlier hearing, within the
    repeat window, that could be this victim (same date of birth, name or alias).
    """
    if case.form is None:
        return None
    config = ctx.config
    today = ctx.clock.now().astimezone(config.zone).date()
    report = stages.check_referral(case.form, config, today)
    victim = report.facts.victim
    known = ctx.casebook.known(victim, today) if victim else Known()
    history = list(known.hearings)
    open_cases = [c for c in known.open_cases if c.reference != case.case]  # not its own
    if same_as is not None and victim is not None:
        # The administrator says this hearing (or open case) is the victim: match it so.
        history = [
            h.model_copy(update={"person": victim}) if h.reference == same_as else h
            for h in history
        ]
        open_cases = [
            c.model_copy(update={"person": victim}) if c.reference == same_as else c
            for c in open_cases
        ]
    repeat = stages.find_repeats(report, history, config)
    open_match = stages.find_open_case(report, open_cases)
    joins = open_match.exact is not None and open_match.exact.reference == same_as
    if same_as is not None and not joins and all(h.reference != same_as for h in repeat.exact):
        return None
    if new_person:
        repeat = repeat.model_copy(update={"near": ()})
        open_match = open_match.model_copy(update={"near": ()})
    opened = stages.OpenedForm(
        form=case.form, doc_sha256=case.doc_sha256 or "", encrypted=case.encrypted
    )
    return stages.decide_referral(
        opened,
        report,
        repeat,
        duplicate_of=None,
        sender=case.sender,
        config=config,
        today=today,
        open_match=open_match,
    )
