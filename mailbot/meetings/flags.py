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

from mailbot.cases.casebook import CaseRecord
from mailbot.dispatch.compose import Planned
from mailbot.dispatch.distribution import no_route_notice, recipients
from mailbot.dispatch.routes import RouteKind
from mailbot.meetings.services import Services
from mailbot.validate.dates import add_months

_SLACK = timedelta(days=3)  # month ends: the exact test is `add_months` below


class FlagExpiry:
    def __init__(self, ctx: Services) -> None:
        self.ctx = ctx
        self._checked: date | None = None  # due-ness only changes with the date

    def due(self, today: date) -> list[CaseRecord]:
        """Cases heard at least the configured months ago whose victim has not been heard or
        listed since, not yet noticed: each as its first referral, with the area and date
        of the hearing (a listing that was moved or cancelled is no hearing)."""
        months = self.ctx.config.flag_expiry_months
        latest = add_months(today, -months) + _SLACK
        rows = self.ctx.store.conn.execute(
            "SELECT l.case_ref, l.area, l.meeting_date FROM listings l"
            " WHERE l.state = 'listed' AND l.meeting_date <= ?"
            " AND NOT EXISTS (SELECT 1 FROM flag_expiry f WHERE f.reference = l.case_ref)"
            " AND NOT EXISTS (SELECT 1 FROM listings n JOIN cases nc"
            " ON nc.case_ref = n.case_ref WHERE n.state = 'listed'"
            " AND n.meeting_date > l.meeting_date AND (nc.repeat_of = l.case_ref"
            " OR nc.victim_key IN (SELECT victim_key FROM cases c WHERE c.case_ref = l.case_ref"
            " AND c.victim_key IS NOT NULL)))"
            " ORDER BY l.meeting_date, l.case_ref",
            (latest.isoformat(),),
        ).fetchall()
        out = []
        for case_ref, area, heard in rows:
            day = date.fromisoformat(heard)
            case = self.ctx.casebook.get(case_ref)
            if case is not None and add_months(day, months) <= today:
                out.append(case.model_copy(update={"area": area, "meeting_date": day}))
        return out

    def run(self, now: datetime) -> None:
        today = now.astimezone(self.ctx.config.zone).date()
        if today == self._checked:
            return
        for case in self.due(today):
            self.notify(case, now)
        self._checked = today

    def notify(self, case: CaseRecord, now: datetime) -> None:
        assert case.area is not None
        assert case.meeting_date is not None
        dispatch = self.ctx.dispatch
        with self.ctx.store.transaction() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO flag_expiry VALUES (?, ?, ?)",
                (case.reference, case.meeting_date.isoformat(), now.isoformat()),
            )
            if cursor.rowcount != 1:
                return  # another process got there first
            for planned in self._messages(case):
                dispatch.outbox.enqueue(conn, planned, case.reference, now)
            self.ctx.store.audit(
                conn,
                "mailbot",
                "flag_expiry",
                case.reference,
                f"last_marac={case.meeting_date.isoformat()}",
            )

    def _messages(self, case: CaseRecord) -> list[Planned]:
        assert case.area is not None
        planner = self.ctx.dispatch.planner
        value = case.form.value if case.form else (lambda _: "")
        victim = {
            "name": " ".join(x for x in (value("victim_forenames"), value("victim_surname")) if x),
            "dob": value("victim_dob"),
        }
        context = {
            "reference": case.reference,
            "area": case.area,
            "last_marac": f"{case.meeting_date:%d/%m/%Y}" if case.meeting_date else "",
            "months": self.ctx.config.flag_expiry_months,
            "team_address": self.ctx.config.team.address,
        }
        out: list[Planned] = []
        for r in recipients(self.ctx.config, self.ctx.secrets, case.area):
            if r.route.kind is RouteKind.NONE:
                out.append(
                    no_route_notice(
                        planner,
                        r.address,
                        "flag expiry notice",
                        f"flag-expiry-no-route:{r.address.lower()}",
                        case.reference,
                    )
                )
                continue
            # Personal details only where the route allows them; a reference alone elsewhere.
            shown = victim if r.route.kind is RouteKind.SECURE else None
            subject, body = planner.templates.render("flag_expiry", **context, victim=shown)
            out.append(Planned(kind="flag_expiry", recipient=r.address, subject=subject, body=body))
        return out
