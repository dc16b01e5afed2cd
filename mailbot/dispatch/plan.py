"""Which messages a decision implies, to whom, and by which route (pure: no I/O).

PROCESS.md "Replies and alerts": every email gets a reply to its sender (and to the form's
referrer address if different) saying what happened; every accepted or information-only case
gets an IDVA alert. Replies to referrers never carry personal data, whatever the route, so a
reply can never leak; the IDVA alert carries the victim's details only by the secure route,
or inside a document encrypted with the service's agreed password.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from mailbot.casebook import CaseRecord
from mailbot.config import Config, IdvaService
from mailbot.credentials import Secrets
from mailbot.dispatch.compose import FileAttachment, Planned
from mailbot.dispatch.documents import DOCX_TYPE, alert_document
from mailbot.dispatch.encrypt import encrypt_docx
from mailbot.dispatch.routes import RouteKind, route_for
from mailbot.dispatch.templates import Templates
from mailbot.meetings import Meeting
from mailbot.models import DashAnswer, Outcome
from mailbot.reasons import CRITERIA, WARNINGS, describe, rule

_ADDRESS = re.compile(r"^[^@\s<>]+@[a-z0-9.-]+\.[a-z]{2,}$", re.IGNORECASE)
_AUTOMATED = re.compile(r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply)@", re.IGNORECASE)
IDVA_DSV_QUESTION = 16


@dataclass(frozen=True)
class Planner:
    config: Config
    secrets: Secrets
    templates: Templates

    # -- replies to the referrer ------------------------------------------------------

    def replies(self, case: CaseRecord, meeting: Meeting | None) -> list[Planned]:
        kind, name, context = self._reply_template(case, meeting)
        subject, body = self.templates.render(name, **context)
        return [Planned(kind=kind, recipient=address, subject=subject, body=body,
                        in_reply_to=case.message_id, variant=_variant(meeting))
                for address in self._reply_addresses(case)]

    def _reply_template(self, case: CaseRecord,
                        meeting: Meeting | None) -> tuple[str, str, dict[str, Any]]:
        d = case.decision
        base = self._base(case)
        if d.outcome is Outcome.RETURNED and d.reasons == ("duplicate",):
            return "duplicate_notice", "duplicate_notice", {**base,
                                                            "duplicate_of": d.duplicate_of}
        if d.outcome is Outcome.RETURNED:
            problems = [{"text": describe(c), "rule": rule(c)} for c in d.reasons]
            insecure = WARNINGS["insecure_transport"] if "insecure_transport" in d.warnings \
                else ""
            return "rejection", "rejection", {**base, "problems": problems,
                                              "insecure": insecure}
        if d.outcome is Outcome.HELD and "cannot_decrypt" in d.reasons:
            hours = self.config.security.password_email_window_hours
            return "password_request", "password_request", {**base, "window_hours": hours}
        if d.outcome is Outcome.HELD:
            reason = describe(d.reasons[0]) if d.reasons else "under review"
            return "acknowledgement", "acknowledgement", {**base,
                                                          "reason": reason.rstrip(".")}
        return "confirmation", "confirmation", {
            **base, "info_only": d.outcome is Outcome.INFO_ONLY, "area": case.area,
            "meeting": _meeting(meeting), "criteria": [CRITERIA[c] for c in d.criteria],
            "warnings": [WARNINGS[w] for w in d.warnings if w in WARNINGS],
        }

    def _reply_addresses(self, case: CaseRecord) -> list[str]:
        own = {self.config.mailbox.address.lower(), self.config.team.address.lower()}
        candidates = [case.sender]
        if case.form is not None:
            candidates.append(case.form.value("referrer_email").strip())
        out: list[str] = []
        for address in candidates:
            lowered = address.lower()
            if (_ADDRESS.match(address) and lowered not in own and not _AUTOMATED.match(address)
                    and lowered not in (a.lower() for a in out)):
                out.append(address)
        return out

    def _base(self, case: CaseRecord) -> dict[str, Any]:
        return {"reference": case.reference, "referrals_address": self.config.mailbox.address,
                "team_address": self.config.team.address}

    # -- IDVA alert --------------------------------------------------------------------

    def idva_alert(self, case: CaseRecord, meeting: Meeting | None) -> list[Planned]:
        if case.decision.outcome not in (Outcome.ACCEPTED, Outcome.INFO_ONLY):
            return []
        service = self.idva_service(case)
        if service is None:
            return [self.team_notice("no IDVA service for this case",
                                     f"No IDVA service is configured for the {case.area}"
                                     " area, so no IDVA alert was sent. Alert one by hand.",
                                     case.reference, variant="no-idva")]
        context = {**self._base(case), **self._alert_context(case, meeting, service)}
        route = route_for(service.address, self.config, self.secrets)
        variant = _variant(meeting)
        if route.kind is RouteKind.SECURE:
            subject, body = self.templates.render("idva_alert", **context)
            return [Planned(kind="idva_alert", recipient=service.address, subject=subject,
                            body=body, variant=variant)]
        if route.kind is RouteKind.PASSWORD and route.password:
            subject, body = self.templates.render("idva_alert_encrypted", **context)
            document = encrypt_docx(alert_document(context), route.password)
            attachment = FileAttachment(filename=f"{case.reference}-IDVA-alert.docx",
                                        data=document, content_type=DOCX_TYPE)
            return [Planned(kind="idva_alert", recipient=service.address, subject=subject,
                            body=body, attachments=(attachment,), variant=variant)]
        return [self.team_notice("IDVA alert not sent: no secure route",
                                 f"The IDVA service {service.name} has no secure route and no"
                                 " agreed password, so its alert was not sent. Alert it by"
                                 " phone or a secure route.", case.reference,
                                 variant="idva-no-route")]

    def idva_service(self, case: CaseRecord) -> IdvaService | None:
        services = {s.id: s for s in self.config.idva_services}
        form = case.form
        for r in self.config.idva_rules:
            if r.area != case.area:
                continue
            if r.when == "dash_q16_yes" and not (
                    form and form.dash.get(IDVA_DSV_QUESTION) is DashAnswer.YES):
                continue
            if r.when == "young_person" and "young_person" not in case.decision.warnings:
                continue
            return services[r.service]
        return None

    def _alert_context(self, case: CaseRecord, meeting: Meeting | None,
                       service: IdvaService) -> dict[str, Any]:
        form = case.form
        value = form.value if form else (lambda _: "")
        address = ", ".join(p.strip() for p in value("victim_address").splitlines() if p)
        status = value("idva_status")
        return {
            "service": service.name, "area": case.area, "meeting": _meeting(meeting),
            "info_only": case.decision.outcome is Outcome.INFO_ONLY,
            "referrer_agency": value("referrer_agency") or case.agency or "not stated",
            "idva_involved": status == "Already supported by IDVA",
            "victim": {
                "name": " ".join(x for x in (value("victim_forenames"),
                                             value("victim_surname")) if x),
                "dob": value("victim_dob"),
                "address": ", ".join(x for x in (address, value("victim_postcode")) if x),
                "safe_phone": value("victim_safe_phone"), "aware": value("victim_aware"),
                "idva_status": status,
            },
        }

    # -- notices to the MARAC team -----------------------------------------------------

    def team_notice(self, title: str, text: str, reference: str | None, *,
                    variant: str) -> Planned:
        subject, body = self.templates.render("team_notice", title=title, text=text,
                                              reference=reference)
        return Planned(kind="team_notice", recipient=self.config.team.address,
                       subject=subject, body=body, variant=variant)


def _meeting(meeting: Meeting | None) -> dict[str, str] | None:
    if meeting is None:
        return None
    return {"area": meeting.area, "date": f"{meeting.date:%A} {meeting.date.day}"
            f" {meeting.date:%B %Y}", "time": f"{meeting.time:%H:%M}", "venue": meeting.venue}


def _variant(meeting: Meeting | None) -> str:
    return meeting.date.isoformat() if meeting else ""
