"""Flag expiry: telling partners that a case's MARAC flag may come off their records.

PROCESS.md "Transfers and flags": agencies flag a MARAC victim's records (so a call from that
address is treated as high risk); 12 months (configurable) after the case's last MARAC the
agencies on its area's list are told the flag may be removed. "Last" matters: a later MARAC
of the same victim (a repeat, recognised by the victim key or by `repeat_of`) keeps the flag
alive, and that later case gets its own notice in due course.

The notice goes by route like everything else: the victim's name and date of birth only to
secure addresses, the case reference alone to password-route agencies (a reference is not
personal data), and nothing to an address with no route, with a notice to the team. Each
case is noticed once: the messages and the record that it was done commit together.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from mailbot.casebook import CaseRecord
from mailbot.dispatch.compose import Planned
from mailbot.dispatch.distribution import no_route_notice, recipients
from mailbot.dispatch.routes import RouteKind
from mailbot.validate.dates import add_months

if TYPE_CHECKING:
    from mailbot.intake import Intake

SCHEMA = """
CREATE TABLE IF NOT EXISTS flag_expiry (
    reference TEXT PRIMARY KEY,         -- the case whose partners were told
    last_marac TEXT NOT NULL,
    notified_at TEXT NOT NULL
)
"""
LISTED = ("accepted", "info_only")
_SLACK = timedelta(days=3)  # month ends: the exact test is `add_months` below


class FlagExpiry:
    def __init__(self, intake: Intake) -> None:
        self.intake = intake
        self._checked: date | None = None  # due-ness only changes with the date
        intake.store.ensure_tables(SCHEMA)

    def due(self, today: date) -> list[CaseRecord]:
        """Cases whose last MARAC was at least the configured months ago, not yet noticed."""
        months = self.intake.config.flag_expiry_months
        latest = add_months(today, -months) + _SLACK
        rows = self.intake.store.conn.execute(
            "SELECT reference FROM cases c WHERE outcome IN (?, ?) AND area IS NOT NULL"
            " AND meeting_date IS NOT NULL AND meeting_date <= ?"
            " AND NOT EXISTS (SELECT 1 FROM flag_expiry f WHERE f.reference = c.reference)"
            " AND NOT EXISTS (SELECT 1 FROM cases l WHERE l.outcome IN (?, ?)"
            " AND l.meeting_date > c.meeting_date AND (l.repeat_of = c.reference"
            " OR (c.victim_key IS NOT NULL AND l.victim_key = c.victim_key)))"
            " ORDER BY meeting_date, reference",
            (*LISTED, latest.isoformat(), *LISTED)).fetchall()
        cases = [self.intake.casebook.get(r[0]) for r in rows]
        return [c for c in cases if c is not None and c.meeting_date is not None
                and add_months(c.meeting_date, months) <= today]

    def run(self, now: datetime) -> None:
        today = now.astimezone(self.intake.config.zone).date()
        if today == self._checked:
            return
        for case in self.due(today):
            self.notify(case, now)
        self._checked = today

    def notify(self, case: CaseRecord, now: datetime) -> None:
        assert case.area is not None
        assert case.meeting_date is not None
        dispatch = self.intake.dispatch
        assert dispatch is not None
        with self.intake.store.transaction() as conn:
            cursor = conn.execute("INSERT OR IGNORE INTO flag_expiry VALUES (?, ?, ?)",
                                  (case.reference, case.meeting_date.isoformat(),
                                   now.isoformat()))
            if cursor.rowcount != 1:
                return  # another process got there first
            for planned in self._messages(case):
                dispatch.outbox.enqueue(conn, planned, case.reference, now)
            self.intake.store.audit(conn, "mailbot", "flag_expiry", case.reference,
                                    f"last_marac={case.meeting_date.isoformat()}")

    def _messages(self, case: CaseRecord) -> list[Planned]:
        assert case.area is not None
        assert self.intake.dispatch is not None
        planner = self.intake.dispatch.planner
        value = case.form.value if case.form else (lambda _: "")
        victim = {"name": " ".join(x for x in (value("victim_forenames"),
                                               value("victim_surname")) if x),
                  "dob": value("victim_dob")}
        context = {"reference": case.reference, "area": case.area,
                   "last_marac": f"{case.meeting_date:%d/%m/%Y}" if case.meeting_date else "",
                   "months": self.intake.config.flag_expiry_months,
                   "team_address": self.intake.config.team.address}
        out: list[Planned] = []
        for r in recipients(self.intake.config, self.intake.secrets, case.area):
            if r.route.kind is RouteKind.NONE:
                out.append(no_route_notice(planner, r.address, "flag expiry notice",
                                           f"flag-expiry-no-route:{r.address.lower()}",
                                           case.reference))
                continue
            # Personal details only where the route allows them; a reference alone elsewhere.
            shown = victim if r.route.kind is RouteKind.SECURE else None
            subject, body = planner.templates.render("flag_expiry", **context, victim=shown)
            out.append(Planned(kind="flag_expiry", recipient=r.address, subject=subject,
                               body=body))
        return out
