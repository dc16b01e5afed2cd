"""Mail that is not a referral at all: recorded and listed for the team, never answered.

The referrals mailbox also receives lunch invitations, newsletters and spam. Answering them
with "returned - please correct and resend" confuses people and makes the mailbox a source of
backscatter. But a partner who forgot to attach the form must still be told, so the rule
errs towards treating mail as a referral. An email is **other mail** when all three hold:

1. it has no attachment at all (any file, even one that is not Word, makes it a referral
   attempt, answered as today);
2. its sender is neither of a configured agency nor on a secure domain (`Config.agency_for`,
   `Config.is_secure_address`): partners are always answered;
3. neither its subject nor its body uses referral wording (`REFERRAL_WORDING`: refer,
   referral, MARAC, DASH, risk assessment, IDVA, domestic abuse or violence), whatever the case.

Pure: no I/O, and nothing of the email is logged or kept here.
"""

from __future__ import annotations

import re

from mailbot.config import Config
from mailbot.models import ParsedEmail

# Whole words, any case: "Referral for Jane", "MARAC ref", "DASH attached", "risk assessment".
REFERRAL_WORDING = re.compile(
    r"\b(?:refer(?:ral|rals|red|ring|s)?|maracs?|dash|risk[\s-]+assessments?|idvas?"
    r"|domestic[\s-]+(?:abuse|violence))\b",
    re.IGNORECASE,
)


def has_referral_wording(text: str) -> bool:
    """Whether `text` (a subject or a body) speaks of a referral."""
    return REFERRAL_WORDING.search(text) is not None


def is_other_mail(email: ParsedEmail, config: Config) -> bool:
    """Whether `email` is other mail by the rule of the module docstring."""
    if email.attachments or email.truncated:
        return False
    if email.sender and (
        config.agency_for(email.sender) is not None or config.is_secure_address(email.sender)
    ):
        return False
    return not (has_referral_wording(email.subject) or has_referral_wording(email.body_text))
