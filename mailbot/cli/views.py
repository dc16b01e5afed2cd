"""How cases look on a terminal: a table for many, a page for one, JSON for machines.

Tables have a header row, full values (long ones wrapped onto more lines, or one line each
with `wide`), and codes in words (`codes.label`); JSON keeps the codes, for scripts.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence
from datetime import date, datetime, time, tzinfo

import click

from mailbot.cases.casebook import CaseRecord
from mailbot.cases.lifecycle import is_held
from mailbot.codes import describe, label
from mailbot.context import Context
from mailbot.formdef import DASH_HEADING, DASH_QUESTIONS, REASONS_HEADING
from mailbot.models import DashAnswer, FormData
from mailbot.web import views as web_views

NONE = "(none)"
# Where a column of the cases table wraps (without --wide): the others are short.
AGENCY_WIDTH = 28
WHY_WIDTH = 44
_ANSWERS = {DashAnswer.YES: "Yes", DashAnswer.NO: "No", DashAnswer.DONT_KNOW: "Don't know"}


def table(header: Sequence[str], rows: Sequence[Sequence[str]], wrap: dict[int, int]) -> str:
    """Columns padded to their widest cell; the cells of a column in `wrap` ({column: width})
    wrapped onto more lines at that width, so no value is ever cut."""
    cells = [
        [
            textwrap.wrap(v, wrap[i], break_on_hyphens=False) or [""] if i in wrap else [v]
            for i, v in enumerate(r)
        ]
        for r in [header, *rows]
    ]
    widths = [max(len(line) for r in cells for line in r[i]) for i in range(len(header))]
    out: list[str] = []
    for r in cells:
        for n in range(max(len(c) for c in r)):
            parts = [(c[n] if n < len(c) else "").ljust(w) for c, w in zip(r, widths, strict=True)]
            out.append("  ".join(parts).rstrip())
    return "\n".join(out)


def print_cases(records: list[CaseRecord], as_json: bool, *, wide: bool = False) -> None:
    if as_json:
        click.echo(json.dumps([c.summary() for c in records], indent=2))
        return
    if not records:
        click.echo(NONE)
        return
    click.echo(format_table(records, wide=wide))


def why(case: CaseRecord) -> str:
    """The decision's reasons, warnings and criteria in a few words each."""
    d = case.decision
    parts = [label(code) for code in d.reasons]
    if d.criteria:
        parts.append("met: " + ", ".join(label(code) for code in d.criteria))
    parts.extend(f"warning: {label(code)}" for code in d.warnings)
    return "; ".join(parts) or "-"


def format_table(records: list[CaseRecord], *, wide: bool = False) -> str:
    header = ("REFERENCE", "CASE", "RECEIVED", "AGENCY", "AREA", "OUTCOME", "WHY")
    rows = [
        (
            c.reference,
            c.joined or "-",
            c.received_at.strftime("%Y-%m-%d %H:%M"),
            c.agency or c.sender.rpartition("@")[2],
            c.area or "-",
            c.decision.outcome.value,
            why(c),
        )
        for c in records
    ]
    return table(header, rows, {} if wide else {3: AGENCY_WIDTH, 6: WHY_WIDTH})


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


def render_case_page(ctx: Context, case: CaseRecord) -> str:
    """`cases show`: the decision, the form as read (each section once, the DASH answers),
    and the case's history."""
    today = ctx.today()
    lines = [render_case(case)]
    for section in web_views.field_sections(ctx, case, today):
        lines.append(f"\n{section['title']}")
        for r in section["rows"]:
            flag = {"missing": "MISSING ", "invalid": "NOT VALID "}.get(r["state"], "")
            lines.append(_field(f"  {r['label']}: ", f"{flag}{r['value']}"))
        if section["title"] == REASONS_HEADING and case.form is not None:
            lines.append(f"\n{DASH_HEADING}")  # Section 6 follows Section 5, as on the form
            lines.extend(_dash(case.form))
    lines.append("\nHistory:")
    lines.extend(f"  {when:%Y-%m-%d %H:%M}  {what}" for when, what in case_history(ctx, case))
    return "\n".join(lines)


def _dash(form: FormData) -> list[str]:
    """Each DASH question with the answer ticked, and its comment."""
    lines = []
    for n, question in enumerate(DASH_QUESTIONS, start=1):
        answer = form.dash.get(n)
        prefix = f"  {n:>2}. {_ANSWERS[answer] if answer else 'not answered':<12} "
        lines.append(_field(prefix, question))
        comment = form.dash_comments.get(n, "").strip()
        if comment:
            lines.append(_field(" " * len(prefix) + "Comment: ", comment))
    return lines


def _field(prefix: str, value: str) -> str:
    """`prefix` then the value, its later lines indented under its first (addresses)."""
    first, *rest = value.splitlines() or [""]
    pad = " " * len(prefix)
    return "\n".join([f"{prefix}{first}".rstrip(), *(f"{pad}{line}" for line in rest)])


def case_history(ctx: Context, case: CaseRecord) -> list[tuple[datetime, str]]:
    """What happened to the case, oldest first: each referral that joined it and its
    decision, its listings and hearings, the messages sent and the audit log's entries."""
    zone = ctx.config.zone
    members = [c for c in ctx.casebook.cases() if c.case == case.case] or [case]
    events: list[tuple[datetime, str]] = []
    for c in members:
        source = c.agency or c.sender.rpartition("@")[2]
        joined = " (joined the case)" if c.joined else ""
        events.append((c.received_at, f"referral {c.reference} received from {source}{joined}"))
        events.append((c.decided_at, f"{c.reference} {c.decision.outcome.value}: {why(c)}"))
        for m in ctx.dispatch.outbox.messages(c.reference):
            state = f"sent {_local(m.sent_at, zone)}" if m.sent_at else m.state
            events.append(
                (_at(m.created_at), f"message {m.id}: {m.kind} to {m.recipient} ({state})")
            )
        for a in ctx.store.audit_log(c.reference):
            detail = f" ({a.detail})" if a.detail else ""
            events.append((_at(a.at), f"{a.actor}: {a.action} {c.reference}{detail}"))
    listings = ctx.store.query(
        "SELECT area, meeting_date, state, listed_at, ended_at FROM listings"
        " WHERE case_ref = ? ORDER BY id",
        [case.case],
    )
    for row in listings:
        day = date.fromisoformat(row["meeting_date"])
        meeting = f"the {row['area']} MARAC of {day.isoformat()}"
        events.append((_at(row["listed_at"]), f"listed at {meeting}"))
        if row["ended_at"]:
            events.append((_at(row["ended_at"]), f"listing at {meeting} {row['state']}"))
        elif is_held(ctx.store.conn, row["area"], day, ctx.today()):
            events.append((datetime.combine(day, time(), zone), f"heard at {meeting}"))
    return sorted(((when.astimezone(zone), what) for when, what in events), key=lambda e: e[0])


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _local(text: str, zone: tzinfo) -> str:
    return f"{datetime.fromisoformat(text).astimezone(zone):%Y-%m-%d %H:%M}"
