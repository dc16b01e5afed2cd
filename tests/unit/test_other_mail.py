"""The rule that sets aside mail that is not a referral (`mailbot.validate.other_mail`)."""

from __future__ import annotations

import pytest

from mailbot.config import Config
from mailbot.models import Attachment, DocKind, ParsedEmail
from mailbot.validate.other_mail import has_referral_wording, is_other_mail

STRANGER = "sam.jones@example.com"


def _email(
    sender: str = STRANGER, subject: str = "Lunch on Friday?", body: str = "The usual place?"
) -> ParsedEmail:
    return ParsedEmail(
        message_id="<m@x>", sender=sender, subject=subject, sent_at=None, body_text=body
    )


def test_a_strangers_email_with_nothing_of_a_referral_is_other_mail(config: Config) -> None:
    """GIVEN an email from an address of no agency, no attachment, no referral wording
    WHEN the rule is applied
    THEN it is other mail; and so is one with no sender at all."""
    assert is_other_mail(_email(), config)
    assert is_other_mail(_email(sender="", subject="", body=""), config)


@pytest.mark.parametrize(
    "sender",
    [
        "pc.lee.adams@west-midlands.pnn.police.uk",  # a configured agency on a secure domain
        "safeguarding@nhs.net",  # a secure domain
        "someone@anything.cjsm.net",  # a secure domain's subdomain, no agency
        "tenancy@wolverhamptonhomes.org.uk",  # a configured agency, not secure
    ],
)
def test_a_partner_is_always_answered(config: Config, sender: str) -> None:
    """GIVEN an email with nothing of a referral, from a partner (agency or secure domain)
    WHEN the rule is applied
    THEN it is not other mail: the partner may have forgotten the form."""
    assert not is_other_mail(_email(sender=sender), config)


def test_any_attachment_makes_it_a_referral_attempt(config: Config) -> None:
    """GIVEN a stranger's email with nothing of a referral but a file attached
    WHEN the rule is applied
    THEN it is not other mail (it is answered as a referral attempt, as before)."""
    menu = Attachment(
        filename="menu.pdf", content_type="application/pdf", data=b"%PDF", kind=DocKind.PDF
    )
    assert not is_other_mail(_email().model_copy(update={"attachments": (menu,)}), config)


@pytest.mark.parametrize(
    "text",
    [
        "MARAC referral",
        "Referral for Ms A",
        "re: marac",
        "Referring a client",
        "I referred her last week",
        "DASH attached",
        "risk assessment to follow",
        "Risk-Assessment",
        "IDVA support",
        "domestic abuse",
        "Domestic violence case",
    ],
)
def test_referral_wording_in_the_subject_or_the_body_is_answered(config: Config, text: str) -> None:
    """GIVEN a stranger's email with no attachment whose subject, or body, speaks of a referral
    WHEN the rule is applied
    THEN it is not other mail: the sender gets the no-attachment advice."""
    assert has_referral_wording(text)
    assert not is_other_mail(_email(subject=text), config)
    assert not is_other_mail(_email(body=f"Hello,\n\n{text}.\n"), config)


@pytest.mark.parametrize("text", ["Lunch on Friday?", "Dashboard login", "preferred", "Marathon"])
def test_words_that_only_contain_the_wording_are_not_referral_wording(text: str) -> None:
    """GIVEN words that contain "dash", "refer" or "mara" inside another word
    WHEN looked for referral wording
    THEN none is found (whole words only)."""
    assert not has_referral_wording(text)
