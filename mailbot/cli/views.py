"""How cases look on a terminal: a table for many, a page for one, JSON for machines."""

from __future__ import annotations

import json

import click

from mailbot.cases.casebook import CaseRecord
from mailbot.codes import describe


def print_cases(records: list[CaseRecord], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps([c.summary() for c in records], indent=2))
        return
    if not records:
        click.echo("(none)")
        return
    click.echo(format_table(records))


def format_table(records: list[CaseRecord]) -> str:
    rows = [("REFERENCE", "CASE", "RECEIVED", "AGENCY", "AREA", "OUTCOME", "CODES")]
    for c in records:
        codes: list[str] = [*c.decision.reasons, *c.decision.warnings] or [*c.decision.criteria]
        rows.append(
            (
                c.reference,
                c.joined or "-",
                c.received_at.strftime("%Y-%m-%d %H:%M"),
                (c.agency or c.sender.rpartition("@")[2])[:32],
                c.area or "-",
                c.decision.outcome.value,
                ", ".join(codes),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(6)]
    return "\n".join(
        "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=False)) + "  " + r[6] for r in rows
    )


def render_case(case: CaseRecord) -> str:
    d = case.decision
    lines = [
        f"Case {case.reference}",
        f"  Received:   {case.received_at:%Y-%m-%d %H:%M} from {case.sender}",
        f"  Agency:     {case.agency or 'unknown (not a configured agency)'}",
        f"  Area:       {case.area or '-'}",
        f"  Outcome:    {d.outcome.value}",
        f"  Meeting:    {case.meeting_date or 'not listed yet'}",
        *([f"  Joined:     case {case.joined} (the victim's open case)"] if case.joined else []),
    ]
    if d.repeat_of:
        lines.append(f"  Repeat of:  {d.repeat_of}")
    if d.duplicate_of:
        lines.append(f"  Duplicate of: {d.duplicate_of}")
    if d.possible_repeats:
        lines.append(f"  Possibly the same victim as: {', '.join(d.possible_repeats)}")
    for title, codes in (
        ("Reasons", d.reasons),
        ("Warnings", d.warnings),
        ("Criteria met", d.criteria),
    ):
        if codes:
            lines.append(f"  {title}:")
            lines.extend(f"    - {code}: {describe(code)}" for code in codes)
    if case.form is not None:
        f = case.form
        lines.append(
            "  Victim:     "
            + " ".join(v for v in (f.value("victim_forenames"), f.value("victim_surname")) if v)
        )
        lines.append(f"  Referrer:   {f.value('referrer_name')} ({f.value('referrer_agency')})")
        lines.append(f"  DASH Yes answers ticked: {f.dash_yes_count}")
    return "\n".join(lines)
