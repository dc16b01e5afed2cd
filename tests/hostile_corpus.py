"""Hostile attachments and emails, built by code so each one is explained and can be rebuilt.

mailbot must survive whatever a partner's (or an attacker's) mailbox sends: zip bombs, XML
entity bombs, macros, broken and renamed files, encrypted files that cost minutes per password,
and emails whose MIME structure is the attack. Each builder returns the bytes of one such file;
`CORPUS` names the attachments (here, in `hostile_packages` and in `hostile_active`) and
`EMAILS` the whole emails (`hostile_mail`) with the code the daemon must give; `write_corpus()`
(run this module) writes them to `data/hostile/` with `expected.json` and the README table, so
the golden files and their explanation never drift. Emails too large to commit
(`LARGE_EMAILS`, and the 100 MB email) are built at test time (tests/crash, tests/integration),
never committed.
"""

from __future__ import annotations

import json
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # so `python tests/hostile_corpus.py` finds mailbot
    sys.path.insert(0, str(ROOT))

from tests import hostile_active as ha  # noqa: E402
from tests import hostile_mail as hm  # noqa: E402
from tests import hostile_packages as hp  # noqa: E402
from tests import hostile_senders as hs  # noqa: E402
from tests.hostile_blocks import (  # noqa: E402 (re-exported: the tests use corpus.<name>)
    BASE_DOCX,
    CORPUS_PASSWORD,
    TESTS_DIR,
    add_part,
    base_docx,
    build_zip,
    encrypted,
    minimal_docx,
    parts_of,
    patch_entry,
    rebuild_encrypted,
    referral_docx,
    replace_part,
)
from tests.hostile_classic import (  # noqa: E402
    activex_part,
    billion_laughs,
    crc_corrupt_docx,
    declared_size_bomb,
    docm_content_type,
    empty,
    encrypted_docm,
    encrypted_huge_spin_count,
    encrypted_truncated,
    ole_doc_like,
    ole_garbage_encryption_info,
    overlap_bomb_quoted,
    overlap_bomb_shared_header,
    pdf_bytes,
    random_bytes,
    ratio_bomb,
    too_many_entries,
    truncated_docx,
    vba_project_part,
    with_spin_count,
    xxe_rels,
)

HOSTILE_DIR = TESTS_DIR / "data" / "hostile"


__all__ = [
    "BASE_DOCX",
    "CORPUS_PASSWORD",
    "activex_part",
    "add_part",
    "base_docx",
    "billion_laughs",
    "build_zip",
    "crc_corrupt_docx",
    "declared_size_bomb",
    "docm_content_type",
    "empty",
    "encrypted",
    "encrypted_docm",
    "encrypted_huge_spin_count",
    "encrypted_truncated",
    "minimal_docx",
    "ole_doc_like",
    "ole_garbage_encryption_info",
    "overlap_bomb_quoted",
    "overlap_bomb_shared_header",
    "parts_of",
    "patch_entry",
    "pdf_bytes",
    "random_bytes",
    "ratio_bomb",
    "rebuild_encrypted",
    "referral_docx",
    "replace_part",
    "too_many_entries",
    "truncated_docx",
    "vba_project_part",
    "with_spin_count",
    "xxe_rels",
]


CORPUS: dict[str, tuple[Callable[[], bytes], str]] = {
    "zip-bomb-ratio.docx": (ratio_bomb, "unreadable_document"),
    "zip-bomb-declared-1gib.docx": (declared_size_bomb, "unreadable_document"),
    "zip-too-many-entries.docx": (too_many_entries, "unreadable_document"),
    "zip-bomb-overlap-quoted.docx": (overlap_bomb_quoted, "unreadable_document"),
    "zip-bomb-overlap-shared-header.docx": (overlap_bomb_shared_header, "unreadable_document"),
    "billion-laughs.docx": (billion_laughs, "unreadable_document"),
    "xxe-rels.docx": (xxe_rels, "unreadable_document"),
    "docm-content-type.docx": (docm_content_type, "macro_content"),
    "vba-project-part.docx": (vba_project_part, "macro_content"),
    "activex-part.docx": (activex_part, "macro_content"),
    "truncated.docx": (truncated_docx, "unreadable_document"),
    "crc-corrupt.docx": (crc_corrupt_docx, "unreadable_document"),
    "empty.docx": (empty, "not_word_document"),
    "random-bytes.docx": (random_bytes, "not_word_document"),
    "pdf-named-docx.docx": (pdf_bytes, "not_word_document"),
    "ole-doc-like.docx": (ole_doc_like, "legacy_word_format"),
    "encrypted-spin-10m.docx": (encrypted_huge_spin_count, "unreadable_document"),
    "encrypted-truncated.docx": (encrypted_truncated, "unreadable_document"),
    "ole-garbage-encryptioninfo.docx": (ole_garbage_encryption_info, "unreadable_document"),
    "encrypted-docm.docx": (encrypted_docm, "macro_content"),
}


# Attachments where the intake steps of tests/unit/test_hostile.py (classify, decrypt,
# inspect) answer differently from the whole daemon, because a later stage (the form reader)
# or the classification decides: "ok" means those steps let the file through.
INTAKE_CODES: dict[str, str] = {
    "zip-empty-archive.docx": "unreadable_document",
    "ooxml-xlsx-named-docx.docx": "unreadable_document",
    "xml-deep-nesting.docx": "ok",
    "xml-empty-document-part.docx": "ok",
    "xml-xinclude.docx": "ok",
    "active-external-hyperlinks.docx": "ok",
    "active-altchunk-html-links-only.docx": "ok",
    "active-altchunk-rtf-links-only.docx": "ok",
}

CORPUS.update(
    {
        "zip-path-traversal.docx": (hp.path_traversal, "unreadable_document"),
        "zip-absolute-path.docx": (hp.absolute_path, "unreadable_document"),
        "zip-duplicate-document-part.docx": (hp.duplicate_document, "unreadable_document"),
        "zip-aes-encrypted-members.docx": (hp.aes_encrypted_members, "unreadable_document"),
        "zip-bzip2-bomb.docx": (hp.bzip2_bomb, "unreadable_document"),
        "zip-unknown-compression.docx": (hp.unknown_compression, "unreadable_document"),
        "zip-directory-beyond-end.docx": (hp.directory_beyond_end, "unreadable_document"),
        "zip-empty-archive.docx": (hp.empty_zip, "not_word_document"),
        "zip-prepended-junk.docx": (hp.prepended_junk, "not_word_document"),
        "zip-nested-zip-bomb.docx": (hp.nested_zip_bomb, "unreadable_document"),
        "zip-no-content-types.docx": (hp.no_content_types, "unreadable_document"),
        "zip-vbadata-part.docx": (hp.minimal_with_macro_name, "macro_content"),
        "xml-quadratic-blowup.docx": (hp.quadratic_blowup, "unreadable_document"),
        "xml-external-dtd.docx": (hp.external_dtd, "unreadable_document"),
        "xml-parameter-entity.docx": (hp.parameter_entity, "unreadable_document"),
        "xml-xinclude.docx": (hp.xinclude, "visible_high_risk"),
        "xml-deep-nesting.docx": (hp.deep_nesting, "unreadable_document"),
        "xml-utf7-declaration.docx": (hp.utf7_declaration, "unreadable_document"),
        "xml-empty-document-part.docx": (hp.empty_document_part, "unreadable_document"),
        "active-remote-template.docx": (ha.remote_template, "active_content"),
        "active-dde-field.docx": (ha.dde_field, "active_content"),
        "active-ole-object.docx": (ha.ole_object, "active_content"),
        "active-dde-field-simple.docx": (ha.dde_field_simple, "active_content"),
        "active-ole-object-markup.docx": (ha.ole_object_markup, "active_content"),
        "active-linked-ole-object.docx": (ha.linked_ole_object, "active_content"),
        "active-external-hyperlinks.docx": (ha.external_hyperlinks, "visible_high_risk"),
        "active-linked-image-unc.docx": (ha.linked_image_unc, "active_content"),
        "active-linked-image-file-url.docx": (ha.linked_image_file_url, "active_content"),
        "active-linked-image-web-header.docx": (ha.linked_image_web_header, "active_content"),
        "active-includepicture-split.docx": (ha.includepicture_split, "active_content"),
        "active-includetext-simple.docx": (ha.includetext_simple, "active_content"),
        "active-link-field.docx": (ha.link_field, "active_content"),
        "active-computed-field-name.docx": (ha.computed_field_name, "active_content"),
        "active-altchunk-rtf-includepicture.docx": (
            ha.altchunk_rtf_includepicture,
            "active_content",
        ),
        "active-altchunk-rtf-linked-object.docx": (ha.altchunk_rtf_linked_object, "active_content"),
        "active-altchunk-html-unc-image.docx": (ha.altchunk_html_unc_image, "active_content"),
        "active-altchunk-html-stylesheet.docx": (ha.altchunk_html_stylesheet, "active_content"),
        "active-altchunk-mht-field.docx": (ha.altchunk_mht_field, "active_content"),
        "active-altchunk-word-package.docx": (ha.altchunk_word_package, "active_content"),
        "active-altchunk-html-links-only.docx": (ha.altchunk_html_links_only, "visible_high_risk"),
        "active-altchunk-rtf-links-only.docx": (ha.altchunk_rtf_links_only, "visible_high_risk"),
        "lookalike-rtf-named-docx.docx": (hp.rtf_named_docx, "not_word_document"),
        "lookalike-html-named-docx.docx": (hp.html_named_docx, "not_word_document"),
        "ooxml-xlsx-named-docx.docx": (hp.xlsx_named_docx, "not_word_document"),
        "encrypted-lying-package-size.docx": (
            hp.encrypted_lying_package_size,
            "unreadable_document",
        ),
        "ole-fat-loop.docx": (hp.ole_fat_loop, "not_word_document"),
    }
)

# Whole emails: each builder takes a referral of its own (so that none is a repeat or a
# duplicate of another) and returns the .eml; the code is among the decision's reasons,
# warnings or criteria ("visible_high_risk": the form was found and read despite the attack).
EMAILS: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    name: (builder, code)
    for name, builder, code in (
        ("mime-crlf-subject.eml", hm.crlf_in_subject, "visible_high_risk"),
        ("mime-crlf-filename.eml", hm.crlf_in_filename, "visible_high_risk"),
        ("mime-crlf-message-id.eml", hm.crlf_in_message_id, "no_attachment"),
        ("mime-latin1-filename.eml", hm.latin1_filename, "visible_high_risk"),
        ("mime-invalid-utf8-subject.eml", hm.invalid_utf8_subject, "visible_high_risk"),
        ("mime-nested-ten-deep.eml", hm.nested_ten_deep, "unreadable_document"),
        ("mime-multipart-200-deep.eml", hm.multipart_two_hundred_deep, "unreadable_document"),
        ("mime-12000-parts.eml", hm.many_parts, "unreadable_document"),
        ("mime-61-attachments.eml", hm.many_attachments, "too_many_attachments"),
        ("mime-unterminated-multipart.eml", hm.unterminated_multipart, "unreadable_document"),
        ("mime-no-boundary.eml", hm.no_boundary, "not_word_document"),
        ("mime-bad-base64.eml", hm.bad_base64, "visible_high_risk"),
        ("mime-quoted-printable-form.eml", hm.quoted_printable_form, "visible_high_risk"),
        ("mime-unknown-transfer-encoding.eml", hm.unknown_encoding, "not_word_document"),
        ("mime-form-as-text-plain.eml", hm.form_as_text_plain, "visible_high_risk"),
        ("mime-encoded-word-flood.eml", hm.encoded_word_flood, "visible_high_risk"),
        ("mime-rfc2231-flood.eml", hm.rfc2231_flood, "visible_high_risk"),
        ("mime-120k-header-line.eml", hm.long_header_line, "visible_high_risk"),
        ("mime-tnef-with-form.eml", hm.tnef_with_form, "visible_high_risk"),
        ("mime-tnef-garbage.eml", hm.tnef_garbage, "no_attachment"),
        ("mime-smime-enveloped.eml", hm.smime_encrypted, "unreadable_document"),
        ("mime-binary-garbage.eml", hm.binary_garbage, "other_mail"),
        ("mime-empty.eml", hm.empty_email, "other_mail"),
        ("mime-nul-in-headers.eml", hm.headers_only_nul, "no_attachment"),
        # Who it is from, what it answers, what its subject claims (issue 15):
        ("mime-msgid-encoded-crlf.eml", hs.encoded_crlf_message_id, "visible_high_risk"),
        ("mime-in-reply-to-encoded-crlf.eml", hs.encoded_crlf_in_reply_to, "visible_high_risk"),
        ("mime-from-empty-encoded-word.eml", hs.empty_encoded_local_part, "insecure_transport"),
        ("mime-from-encoded-address.eml", hs.encoded_address_only, "insecure_transport"),
        ("mime-from-secure-display-name.eml", hs.display_name_spoofs_secure, "insecure_transport"),
        ("mime-from-two-addresses.eml", hs.two_from_addresses, "insecure_transport"),
        ("mime-msgid-2000-chars.eml", hs.overlong_message_id, "visible_high_risk"),
        ("mime-password-subject-pdf.eml", hs.password_subject_with_pdf, "not_word_document"),
        ("mime-password-to-follow.eml", hs.password_to_follow, "no_attachment"),
        ("mime-out-of-office.eml", hs.out_of_office, "no_attachment"),
        ("mime-delivery-report.eml", hs.delivery_report, "no_attachment"),
        ("mime-list-newsletter.eml", hs.list_mail, "no_attachment"),
    )
}
MAX_FILE_BYTES = 200_000

# Whole emails over MAX_FILE_BYTES, because their size is the attack: built at test time.
LARGE_EMAILS: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "mime-16000-encoded-words.eml": (hm.encoded_word_deluge, "visible_high_risk"),
    "mime-100000-parts.eml": (hm.hundred_thousand_parts, "unreadable_document"),
}


def build_email(name: str) -> bytes:
    builder, _ = EMAILS[name] if name in EMAILS else LARGE_EMAILS[name]
    return builder(referral_docx(zlib.crc32(name.encode())))


def form_seeds() -> list[int]:
    """The seeds of every generated referral inside the corpus (for personal-data checks)."""
    emails = [*EMAILS, *LARGE_EMAILS]
    return [*hp.FORM_SEEDS, *ha.FORM_SEEDS, *(zlib.crc32(name.encode()) for name in emails)]


def build(name: str) -> bytes:
    """The bytes of corpus file `name`, built fresh."""
    return CORPUS[name][0]() if name in CORPUS else build_email(name)


def expected_codes() -> dict[str, str]:
    return {name: code for name, (_, code) in [*CORPUS.items(), *EMAILS.items()]}


def describe(builder: Callable[..., bytes]) -> str:
    return " ".join((builder.__doc__ or builder.__name__).split())


def write_corpus(directory: Path = HOSTILE_DIR) -> None:
    """Write every file, `expected.json` and the README table into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    rows = []
    builders: dict[str, Callable[..., bytes]] = {
        **{n: b for n, (b, _) in CORPUS.items()},
        **{n: b for n, (b, _) in EMAILS.items()},
    }
    for name, code in expected_codes().items():
        data = build(name)
        assert len(data) < MAX_FILE_BYTES, name
        (directory / name).write_bytes(data)
        rows.append(f"| `{name}` | {describe(builders[name])} | `{code}` |")
    (directory / "expected.json").write_text(json.dumps(expected_codes(), indent=2) + "\n")
    (directory / "README.md").write_text(_README.format(rows="\n".join(rows)))


_README = f"""# Hostile attachments and emails

Built by `tests/hostile_corpus.py` (rebuild with `.venv/bin/python tests/hostile_corpus.py`):
`*.docx` are attachments, `*.eml` whole emails whose MIME layer is the attack. `expected.json`
maps each file to the code the daemon gives it (among the decision's reasons, warnings or
criteria; `visible_high_risk` means the form inside was found and read despite the attack).
`tests/unit/test_hostile.py` checks each attachment's code from the intake steps (classify
the bytes, decrypt with the password `{CORPUS_PASSWORD}`, inspect the package; where the form
reader decides, `hostile_corpus.INTAKE_CODES` says what those steps give) within 10 seconds;
`tests/integration/test_outcomes.py` puts every file through the daemon;
`tests/crash/test_hostile_bounds.py` does so in a separate process with a time limit and a
memory bound per file, plus emails too large to commit, built at test time (a 100 MB email,
and `hostile_corpus.LARGE_EMAILS`: a Subject of 16,000 encoded words, 100,000 empty parts).
All personal data is fictional.

| file | what it is | expected code |
|---|---|---|
{{rows}}
"""


if __name__ == "__main__":
    write_corpus()
