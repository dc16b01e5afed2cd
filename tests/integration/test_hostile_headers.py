"""Hostile and careless mail through the daemon: nothing vanishes, no header reaches a reply
unparsed, no single email stops the loop, no sender spends unbounded work.

Each email is built the way an attacker or a hurried partner would send it, delivered into
the real Maildir and processed by the runner; the assertions are on what a person can see
(the case, the queue, the outbox) and on the bytes that leave.
"""

from __future__ import annotations

import base64
from email import message_from_bytes, policy

from mailbot.app import App
from mailbot.demo.formwriter import render_form
from mailbot.demo.samples import with_values
from mailbot.dispatch.compose import Planned, UnbuildableMessage, build_message
from mailbot.dispatch.encrypt import encrypt_docx
from mailbot.dispatch.outbox import OutboxMessage
from mailbot.ingest.maildir import MaildirMailbox
from mailbot.models import Folder, Outcome
from tests import hostile_senders as hs
from tests.conftest import NOW
from tests.integration.conftest import REFERRALS, Send, folder_count
from tests.integration.held import HOMES, LOCKED_PASSWORD, POLICE, Run, form
from tests.pdfs import make_pdf


def outgoing(app: App, reference: str) -> list[OutboxMessage]:
    return app.ctx.dispatch.outbox.messages(reference)


def deliver(app: App, raw: bytes) -> None:
    MaildirMailbox(app.config.mail_dir, use_inotify=False).deliver(Folder.INBOX, raw)


def raw_email(
    sender_header: str, message_id: str, doc: bytes, *, subject: str = "MARAC referral"
) -> bytes:
    """An email written by hand, so its headers stay exactly as an attacker typed them."""
    payload = base64.encodebytes(doc).decode()
    return (
        f"From: {sender_header}\r\nTo: {REFERRALS}\r\nSubject: {subject}\r\n"
        f"Date: Mon, 02 Nov 2026 09:15:00 +0000\r\nMessage-ID: {message_id}\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nReferral attached.\r\n--b\r\n"
        "Content-Type: application/vnd.openxmlformats-officedocument.wordprocessingml"
        ".document\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment;"
        f' filename="referral.docx"\r\n\r\n{payload}\r\n--b--\r\n'
    ).encode()


def test_a_password_subject_with_a_pdf_and_nothing_waiting_is_an_ordinary_email(
    app: App, send: Send, run: Run
) -> None:
    """GIVEN no referral waiting for its sender
    WHEN an email whose subject mentions a password carries a PDF, and another says
    "password to follow" but its form was forgotten
    THEN each is decided as any email is (not a Word document; no attachment), with a reply
    that says what to fix: neither vanishes into Exceptions unrecorded."""
    pdf = send(
        POLICE,
        subject="Referral - password protected",
        extra=[("referral.pdf", make_pdf("Referral"), "application/pdf")],
    )
    forgot = send(POLICE, subject="MARAC referral, password to follow")
    cases = run()
    assert cases[pdf].decision.reasons == ("not_word_document",)
    assert cases[forgot].decision.reasons == ("no_attachment",)
    for message_id in (pdf, forgot):
        kinds = [m.kind for m in outgoing(app, cases[message_id].reference)]
        assert kinds == ["rejection"]
    assert folder_count(app, Folder.EXCEPTIONS.value) == 0


def test_a_password_that_opens_nothing_is_told_and_recorded(app: App, send: Send, run: Run) -> None:
    """GIVEN a referral waiting for its password
    WHEN its sender emails a password that does not open it
    THEN the sender is told it did not open, and the queue item's history says a password
    email was tried; the referral still waits."""
    held_id = send(HOMES, encrypt_docx(render_form(form(71)), LOCKED_PASSWORD))
    held = run()[held_id]
    assert held.decision.reasons == ("cannot_decrypt",)
    send(HOMES, subject="Password", body="Password: Not-The-One-1")
    run()
    after = app.casebook.get(held.reference)
    assert after is not None
    assert after.decision.outcome is Outcome.HELD
    kinds = [m.kind for m in outgoing(app, held.reference)]
    assert kinds == ["password_request", "password_not_opened"]
    details = [
        a.detail for a in app.store.audit_log(held.reference) if a.action == "password_email"
    ]
    assert details
    assert details[0].startswith("result=not_opened")
    assert "Not-The-One-1" not in str(app.store.audit_log())


def test_one_password_email_spends_a_bounded_number_of_key_derivations(
    app: App, send: Send, run: Run
) -> None:
    """GIVEN five referrals from one sender waiting for a password (the budget is 48 key
    derivations for one password email)
    WHEN the sender emails twelve words, the right password among them
    THEN four referrals are tried and opened (48 derivations); the fifth waits for an
    administrator, its sender told the team will try it and the team told which."""
    ids = [
        send(HOMES, encrypt_docx(render_form(form(seed)), LOCKED_PASSWORD))
        for seed in range(81, 86)
    ]
    run()
    words = " ".join([f"Guess-{n}" for n in range(11)] + [LOCKED_PASSWORD])
    send(HOMES, subject="password", body=words)
    cases = run()
    outcomes = [cases[i].decision.outcome for i in ids]
    assert outcomes.count(Outcome.ACCEPTED) == 4
    assert outcomes.count(Outcome.HELD) == 1
    [waiting] = [cases[i] for i in ids if cases[i].decision.outcome is Outcome.HELD]
    assert [m.kind for m in outgoing(app, waiting.reference)] == [
        "password_request",
        "password_not_opened",
        "team_notice",
    ]
    spent = app.store.conn.execute("SELECT SUM(derivations) FROM password_spend").fetchone()
    assert spent[0] == 48
    assert any(
        a.detail == "result=not_tried budget=spent" for a in app.store.audit_log(waiting.reference)
    )


def test_an_encoded_word_message_id_cannot_write_headers_into_a_reply(app: App, run: Run) -> None:
    """GIVEN a referral whose Message-ID is an encoded word decoding to CR LF, a Bcc line
    and opening text
    WHEN it is accepted and confirmed
    THEN the confirmation has no Bcc and no injected text: the id was refused, not decoded."""
    evil = base64.b64encode(b"x>\r\nBcc: spy@attacker.example\r\n\r\nHello").decode()
    deliver(app, raw_email(POLICE, f"<=?utf-8?b?{evil}?=@attacker.example>", render_form(form(72))))
    [case] = run().values()
    assert case.decision.outcome is Outcome.ACCEPTED
    assert case.message_id.endswith("@mailbot.invalid>")  # the id mailbot made instead
    [confirmation] = [m for m in outgoing(app, case.reference) if m.kind == "confirmation"]
    raw = confirmation.raw
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["Bcc"] is None
    assert b"spy@attacker.example" not in raw
    assert b"Hello" not in raw
    assert parsed["In-Reply-To"] == case.message_id


def test_a_sender_of_an_empty_encoded_word_does_not_stop_the_loop(
    app: App, send: Send, run: Run
) -> None:
    """GIVEN a referral whose From is an empty encoded word at a free-mail domain, then an
    ordinary referral
    WHEN the inbox is processed once
    THEN both are decided and filed; the first is answered at the form's referrer address
    only (the From is no address), and the loop carries on."""
    deliver(
        app, raw_email("=?utf-8?b??=@gmail.com", "<empty-local@gmail.com>", render_form(form(73)))
    )
    good = send(POLICE, render_form(form(74)))
    cases = run()
    first = cases["<empty-local@gmail.com>"]
    assert first.sender == ""
    assert first.decision.outcome is Outcome.ACCEPTED
    recipients = {m.recipient for m in outgoing(app, first.reference) if m.kind == "confirmation"}
    assert recipients == {first.form.value("referrer_email")}  # type: ignore[union-attr]
    assert cases[good].decision.outcome is Outcome.ACCEPTED
    assert folder_count(app, "Inbox") == 0


def test_a_referrer_address_written_as_an_encoded_word_is_invalid(send: Send, run: Run) -> None:
    """GIVEN a form whose referrer email is an encoded word at a secure domain
    WHEN processed
    THEN the field is invalid (returned with advice to the sender), and no reply goes to it."""
    bad = "=?utf-8?q?spy=40attacker.example?=@nhs.net"
    message_id = send(POLICE, render_form(with_values(form(75), referrer_email=bad)))
    case = run()[message_id]
    assert "invalid_field:referrer_email" in case.decision.reasons


def test_mailbots_mail_asks_automatic_answers_to_stay_quiet(app: App, send: Send, run: Run) -> None:
    """GIVEN any message mailbot sends
    WHEN it is written
    THEN it is marked Auto-Submitted and asks Exchange not to answer it automatically."""
    message_id = send(POLICE, render_form(form(76)))
    decided = run()[message_id]
    for row in outgoing(app, decided.reference):
        parsed = message_from_bytes(row.raw, policy=policy.default)
        assert parsed["X-Auto-Response-Suppress"] == "All"
        assert parsed["Auto-Submitted"] in ("auto-replied", "auto-generated")


def test_a_reply_that_cannot_be_written_is_replaced_by_a_team_notice(
    app: App, send: Send, run: Run
) -> None:
    """GIVEN a case recorded by an earlier version with a Message-ID that is not safe to
    write back (a CR LF in it)
    WHEN its messages are planned again (an administrator lists it elsewhere)
    THEN no message carries that id: the reply is replaced by a notice to the team, and the
    rest go."""
    message_id = send(POLICE, render_form(form(77)))
    decided = run()[message_id]
    unsafe = decided.model_copy(update={"message_id": "<a@b>\r\nBcc: spy@attacker.example"})
    with app.store.transaction() as conn:
        app.ctx.notices.enqueue(conn, unsafe, None)
    kinds = [m.kind for m in outgoing(app, decided.reference)]
    assert "team_notice" in kinds
    notices = [m.raw.decode() for m in outgoing(app, decided.reference) if m.kind == "team_notice"]
    assert any("confirmation not sent" in n for n in notices)
    assert all(b"spy@attacker" not in m.raw for m in outgoing(app, decided.reference))


def test_build_message_refuses_what_is_not_safe_to_write() -> None:
    """GIVEN planned messages to an encoded-word address, or answering an id with CR LF
    WHEN built
    THEN each is refused (UnbuildableMessage), never written."""
    for recipient, reply_to in (
        ("=?utf-8?b??=@gmail.com", None),
        ("a@b.nhs.net", "<a@b>\r\nBcc: x@y.example"),
        ("a@b.nhs.net", "<=?utf-8?b?eA==?=@x.example>"),
        ("two@a.nhs.net, three@b.nhs.net", None),
    ):
        planned = Planned(
            kind="confirmation", recipient=recipient, subject="s", body="b", in_reply_to=reply_to
        )
        try:
            build_message(
                planned, reference="R", from_address=REFERRALS, message_id="<1@x.example>", when=NOW
            )
        except UnbuildableMessage:
            continue
        raise AssertionError(f"built a message to {recipient!r} answering {reply_to!r}")


def test_automatic_mail_is_decided_but_never_answered(app: App, run: Run) -> None:
    """GIVEN an out-of-office answer, a bounce, a list newsletter (RFC 3834) and a referral
    sent by a case-management system marked Auto-Submitted
    WHEN processed
    THEN each is decided and filed as any email is, none gets a reply (no loops, no
    backscatter), and for the listed referral the team is told to confirm it by hand."""
    for builder in (hs.out_of_office, hs.delivery_report, hs.list_mail):
        deliver(app, builder(b""))
    system = raw_email(
        POLICE, "<case-system-1@west-midlands.pnn.police.uk>", render_form(form(78))
    ).replace(b"MIME-Version: 1.0", b"Auto-Submitted: auto-generated\r\nMIME-Version: 1.0", 1)
    deliver(app, system)
    cases = run()
    assert len(cases) == 4
    replies = {"rejection", "confirmation", "acknowledgement", "duplicate_notice"}
    for case in cases.values():
        assert not {m.kind for m in outgoing(app, case.reference)} & replies
    referral = cases["<case-system-1@west-midlands.pnn.police.uk>"]
    assert referral.decision.outcome is Outcome.ACCEPTED
    kinds = [m.kind for m in outgoing(app, referral.reference)]
    assert "idva_alert" in kinds
    notices = [m.raw.decode() for m in outgoing(app, referral.reference) if m.kind == "team_notice"]
    assert any("automatic sender not answered" in n for n in notices)
