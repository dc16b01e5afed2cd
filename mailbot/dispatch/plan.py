"""Which messages a decision implies, to whom, and by which route (pure: no I/O).

PROCESS.md "Replies and alerts": every referral email gets a reply to its sender (and to the
form's referrer address if different) saying what happened (other mail, which is no referral,
gets none: `mailbot.validate.other_mail`); every accepted or information-only case
gets an IDVA alert (a referral that joined a case already listed: a note of the additional
referral instead). Replies to referrers never carry personal data, whatever the route, so a
reply can never leak; the IDVA alert carries the victim's details only by the secure route,
or inside a document encrypted with the service's agreed password.

A reply to a non-secure address is built from the `BlindView`, the decision as it would be
for a victim unknown to MARAC: otherwise anyone could email a form naming a person and read
in the reply whether she is known (a repeat, an open case). What the blind reply could not
say goes to the team (`blind_reply_notice`), to pass on by a secure route.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from mailbot.cases.casebook import CaseRecord
from mailbot.codes import CRITERIA, WARNINGS, Caution, Reason, describe, rule
from mailbot.config import Config, IdvaService
from mailbot.credentials import Secrets
from mailbot.dispatch.compose import FileAttachment, Planned
from mailbot.dispatch.documents import DOCX_TYPE, alert_document
from mailbot.dispatch.encrypt import encrypt_docx
from mailbot.dispatch.markers import markers
from mailbot.dispatch.routes import RouteKind, route_for
from mailbot.dispatch.templates import Templates
from mailbot.formdef import FIELDS_BY_ID
from mailbot.models import DashAnswer, Decision, Meeting, Outcome, mailbox_address
from mailbot.validate.fields import canonical_choice

_AUTOMATED = re.compile(r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply)@", re.IGNORECASE)
IDVA_DSV_QUESTION = 16
ALREADY_SUPPORTED = "Already supported by IDVA"


@dataclass(frozen=True)
class BlindView:
    """What a reply to a non-secure address may depend on (see the module docstring)."""

    decision: Decision
    meeting: Meeting | None


@dataclass(frozen=True)
class Planner:
    config: Config
    secrets: Secrets
    templates: Templates

    # -- replies to the referrer ------------------------------------------------------

    def replies(
        self, case: CaseRecord, meeting: Meeting | None, blind: BlindView | None = None
    ) -> list[Planned]:
        out: list[Planned] = []
        if case.decision.outcome is Outcome.OTHER:
            return out  # not a referral: a stranger is never answered automatically
        for address in self._reply_addresses(case):
            shown, shown_meeting = case, meeting
            if blind is not None and not self.config.is_secure_address(address):
                shown = case.model_copy(update={"decision": blind.decision, "case_ref": None})
                shown_meeting = blind.meeting
            kind, name, context = self._reply_template(shown, shown_meeting)
            subject, body = self.templates.render(name, **context)
            out.append(
                Planned(
                    kind=kind,
                    recipient=address,
                    subject=subject,
                    body=body,
                    in_reply_to=case.message_id,
                    variant=_variant(meeting),
                )
            )
        return out

    def password_not_opened(self, case: CaseRecord, *, later: bool) -> list[Planned]:
        """The answer to a password email for a waiting referral it did not open: the words
        did not open it, or (`later`) the team will try them (past the budget)."""
        subject, body = self.templates.render(
            "password_not_opened",
            **self._base(case),
            later=later,
            window_hours=self.config.security.password_email_window_hours,
        )
        variant = f"{'later' if later else 'failed'}-{case.decided_at.isoformat()}"
        return [
            Planned(
                kind="password_not_opened",
                recipient=address,
                subject=subject,
                body=body,
                in_reply_to=case.message_id,
                variant=variant,
            )
            for address in self._reply_addresses(case)[:1]
        ]

    def blind_reply_notice(
        self, case: CaseRecord, meeting: Meeting | None, blind: BlindView, replies: list[Planned]
    ) -> list[Planned]:
        """Tell the team when a non-secure referrer was answered as if the victim were
        unknown and that answer differs from what was decided (codes and dates only)."""
        insecure = [p for p in replies if not self.config.is_secure_address(p.recipient)]
        said = (blind.decision.outcome, blind.meeting.date if blind.meeting else None)
        done = (case.decision.outcome, meeting.date if meeting else None)
        if not insecure or (said == done and not case.joined):
            return []
        told = said[0].value + (f" for the meeting of {said[1].isoformat()}" if said[1] else "")
        decided = done[0].value + (f" at the meeting of {done[1].isoformat()}" if done[1] else "")
        joined = f", joined to case {case.joined}" if case.joined else ""
        return [
            self.team_notice(
                "tell the referrer by a secure route",
                f"The referrer's address is not secure, so the reply could not depend on this"
                f" victim's history; it said: {told}. What was decided: {decided}{joined}"
                f" (reasons: {', '.join(case.decision.reasons) or 'none'}; warnings:"
                f" {', '.join(case.decision.warnings) or 'none'}). Tell the referrer by phone or"
                " a secure route.",
                case.reference,
                variant="blind-reply",
            )
        ]

    def _reply_template(
        self, case: CaseRecord, meeting: Meeting | None
    ) -> tuple[str, str, dict[str, Any]]:
        d = case.decision
        base = self._base(case)
        if d.outcome is Outcome.RETURNED and d.reasons == (Reason.DUPLICATE,):
            return "duplicate_notice", "duplicate_notice", {**base, "duplicate_of": d.duplicate_of}
        if d.outcome is Outcome.RETURNED:
            problems = [{"text": describe(c), "rule": rule(c)} for c in d.reasons]
            insecure = (
                WARNINGS[Caution.INSECURE_TRANSPORT]
                if Caution.INSECURE_TRANSPORT in d.warnings
                else ""
            )
            return "rejection", "rejection", {**base, "problems": problems, "insecure": insecure}
        if d.outcome is Outcome.HELD and Reason.CANNOT_DECRYPT in d.reasons:
            hours = self.config.security.password_email_window_hours
            return "password_request", "password_request", {**base, "window_hours": hours}
        if d.outcome is Outcome.HELD:
            reason = describe(d.reasons[0]) if d.reasons else "under review"
            return "acknowledgement", "acknowledgement", {**base, "reason": reason.rstrip(".")}
        return (
            "confirmation",
            "confirmation",
            {
                **base,
                "info_only": d.outcome is Outcome.INFO_ONLY,
                "area": case.area,
                "joined": case.joined if Caution.ALREADY_LISTED in d.warnings else None,
                "meeting": _meeting(meeting),
                "criteria": [CRITERIA[c] for c in d.criteria],
                "warnings": [WARNINGS[w] for w in d.warnings if w in WARNINGS],
            },
        )

    def _reply_addresses(self, case: CaseRecord) -> list[str]:
        own = {self.config.mailbox.address.lower(), self.config.team.address.lower()}
        candidates = [case.sender]
        if case.form is not None:
            candidates.append(case.form.value("referrer_email").strip())
        out: list[str] = []
        for candidate in candidates:
            address = mailbox_address(candidate)
            if (
                address is not None
                and address not in own
                and not _AUTOMATED.match(address)
                and address not in out
            ):
                out.append(address)
        return out

    def _base(self, case: CaseRecord) -> dict[str, Any]:
        return {
            "reference": case.reference,
            "referrals_address": self.config.mailbox.address,
            "team_address": self.config.team.address,
        }

    # -- IDVA alert --------------------------------------------------------------------

    def idva_alert(
        self, case: CaseRecord, meeting: Meeting | None, *, opener: CaseRecord | None = None
    ) -> list[Planned]:
        """The alert for a newly listed case; for a referral that joined a case already
        listed, a note of the additional referral to the service the case was alerted to
        (`opener`: the case's first referral)."""
        if case.decision.outcome not in (Outcome.ACCEPTED, Outcome.INFO_ONLY):
            return []
        if case.joined and Caution.ALREADY_LISTED in case.decision.warnings:
            return self._idva_additional(case, meeting, opener or case)
        service = self.idva_service(case)
        if service is None:
            return [
                self.team_notice(
                    "no IDVA service for this case",
                    f"No IDVA service is configured for the {case.area}"
                    " area, so no IDVA alert was sent. Alert one by hand.",
                    case.reference,
                    variant="no-idva",
                )
            ]
        context = {**self._base(case), **self._alert_context(case, meeting, service)}
        route = route_for(service.address, self.config, self.secrets)
        variant = _variant(meeting)
        if route.kind is RouteKind.SECURE:
            subject, body = self.templates.render("idva_alert", **context)
            return [
                Planned(
                    kind="idva_alert",
                    recipient=service.address,
                    subject=subject,
                    body=body,
                    variant=variant,
                )
            ]
        if route.kind is RouteKind.PASSWORD and route.password:
            subject, body = self.templates.render("idva_alert_encrypted", **context)
            document = encrypt_docx(alert_document(context), route.password)
            attachment = FileAttachment(
                filename=f"{case.reference}-IDVA-alert.docx", data=document, content_type=DOCX_TYPE
            )
            return [
                Planned(
                    kind="idva_alert",
                    recipient=service.address,
                    subject=subject,
                    body=body,
                    attachments=(attachment,),
                    variant=variant,
                )
            ]
        return [
            self.team_notice(
                "IDVA alert not sent: no secure route",
                f"The IDVA service {service.name} has no secure route and no"
                " agreed password, so its alert was not sent. Alert it by"
                " phone or a secure route.",
                case.reference,
                variant="idva-no-route",
            )
        ]

    def _idva_additional(
        self, case: CaseRecord, meeting: Meeting | None, opener: CaseRecord
    ) -> list[Planned]:
        service = self.idva_service(opener)
        if service is None:
            return [
                self.team_notice(
                    "no IDVA service for this case",
                    f"No IDVA service is configured for the {case.area}"
                    " area, so the IDVA was not told of this additional"
                    " referral. Tell one by hand.",
                    case.reference,
                    variant="no-idva",
                )
            ]
        route = route_for(service.address, self.config, self.secrets)
        if route.kind is not RouteKind.SECURE and not (
            route.kind is RouteKind.PASSWORD and route.password
        ):
            return [
                self.team_notice(
                    "IDVA not told: no secure route",
                    f"The IDVA service {service.name} has no secure route and"
                    " no agreed password, so it was not told of this"
                    " additional referral. Tell it by phone or a secure"
                    " route.",
                    case.reference,
                    variant="idva-no-route",
                )
            ]
        # Names no one (the service has the victim's details from the case's alert), so it
        # goes as it is by either route.
        subject, body = self.templates.render(
            "idva_additional",
            **self._base(case),
            service=service.name,
            case=case.case,
            area=meeting.area if meeting else case.area,
            meeting=_meeting(meeting),
            referrer_agency=case.agency or "an agency not in the configuration",
        )
        return [
            Planned(
                kind="idva_additional",
                recipient=service.address,
                subject=subject,
                body=body,
                variant=_variant(meeting),
            )
        ]

    def idva_service(self, case: CaseRecord) -> IdvaService | None:
        services = {s.id: s for s in self.config.idva_services}
        form = case.form
        for r in self.config.idva_rules:
            if r.area != case.area:
                continue
            if r.when == "dash_q16_yes" and not (
                form and form.dash.get(IDVA_DSV_QUESTION) is DashAnswer.YES
            ):
                continue
            if r.when == "young_person" and Caution.YOUNG_PERSON not in case.decision.warnings:
                continue
            return services[r.service]
        return None

    def _alert_context(
        self, case: CaseRecord, meeting: Meeting | None, service: IdvaService
    ) -> dict[str, Any]:
        form = case.form
        value = form.value if form else (lambda _: "")
        address = ", ".join(p.strip() for p in value("victim_address").splitlines() if p)
        status = idva_status(value("idva_status"))
        return {
            "service": service.name,
            "area": case.area,
            "meeting": _meeting(meeting),
            "info_only": case.decision.outcome is Outcome.INFO_ONLY,
            "referrer_agency": value("referrer_agency") or case.agency or "not stated",
            "idva_involved": status == ALREADY_SUPPORTED,
            "victim": {
                "name": " ".join(
                    x for x in (value("victim_forenames"), value("victim_surname")) if x
                ),
                "dob": value("victim_dob"),
                "address": ", ".join(x for x in (address, value("victim_postcode")) if x),
                "safe_phone": value("victim_safe_phone"),
                "aware": value("victim_aware"),
                "idva_status": status,
            },
        }

    # -- notices to the MARAC team -----------------------------------------------------

    def chair_notices(self, case: CaseRecord, meeting: Meeting | None) -> list[Planned]:
        """One notice per marker the decision carries (`markers`): what the Chair must
        know, with the meeting it is listed at."""
        outcome = case.decision.outcome
        if outcome in (Outcome.RETURNED, Outcome.OTHER):
            return []
        where = (
            f" It is listed at the {meeting.area} MARAC of {meeting.date.isoformat()}."
            if meeting
            else ""
        )
        return [
            self.team_notice(
                f"for the Chair: {m.label.lower()}",
                m.notice + where,
                case.reference,
                variant=f"chair-{m.code}",
            )
            for m in markers(case.decision)
            if outcome is not Outcome.HELD or m.code == Reason.CHAIR_REVIEW
        ]

    def team_notice(self, title: str, text: str, reference: str | None, *, variant: str) -> Planned:
        subject, body = self.templates.render(
            "team_notice", title=title, text=text, reference=reference
        )
        return Planned(
            kind="team_notice",
            recipient=self.config.team.address,
            subject=subject,
            body=body,
            variant=variant,
        )


def _meeting(meeting: Meeting | None) -> dict[str, str] | None:
    if meeting is None:
        return None
    return {
        "area": meeting.area,
        "date": f"{meeting.date:%A} {meeting.date.day} {meeting.date:%B %Y}",
        "time": f"{meeting.time:%H:%M}",
        "venue": meeting.venue,
    }


def _variant(meeting: Meeting | None) -> str:
    return meeting.date.isoformat() if meeting else ""


def idva_status(typed: str) -> str:
    """The IDVA status as the drop-down says it, however it was typed ('' when empty; as
    typed when it is none of the choices)."""
    return canonical_choice(FIELDS_BY_ID["idva_status"], typed) or typed.strip()
