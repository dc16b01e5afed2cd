"""Word documents mailbot sends encrypted by the password route (the IDVA alert).

An address without a secure route may receive personal data only inside a document
encrypted with its agency's agreed password; this builds that document's plain version.
"""

from __future__ import annotations

import io
from typing import Any

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def alert_document(context: dict[str, Any]) -> bytes:
    """The IDVA alert as a short Word document (to be encrypted before it is sent)."""
    import docx  # here, not at start-up: the Word writer is needed only when an alert is sent

    document = docx.Document()
    document.core_properties.title = f"MARAC IDVA alert {context['reference']}"
    document.add_heading(f"MARAC IDVA alert: case {context['reference']}", level=1)
    meeting = context.get("meeting")
    where = (
        f"{meeting['area']} MARAC, {meeting['date']} {meeting['time']}"
        if meeting
        else f"{context.get('area')} MARAC (date to follow)"
    )
    victim = context["victim"]
    rows = [
        ("Case reference", context["reference"]),
        ("Meeting", where),
        ("Victim", victim["name"]),
        ("Date of birth", victim["dob"]),
        ("Address", victim["address"]),
        ("Safe contact number", victim["safe_phone"] or "-"),
        ("Victim aware of referral", victim["aware"]),
        ("IDVA involvement", victim["idva_status"] or "-"),
        ("Referring agency", context["referrer_agency"]),
    ]
    table = document.add_table(rows=len(rows), cols=2)
    for row, (label, value) in zip(table.rows, rows, strict=True):
        row.cells[0].text, row.cells[1].text = label, str(value)
    document.add_paragraph(
        "Please offer the victim IDVA support before the meeting unless"
        " an IDVA is already involved."
    )
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
