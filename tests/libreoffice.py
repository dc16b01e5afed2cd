"""Referral forms opened in LibreOffice Writer and saved again as .docx (fictional data).

Partners without Word fill the form in LibreOffice, and its re-save is a different document:
content controls lose their tags (plain-text ones keep only the alias), runs are split, the
table after the children table is joined to it, and every property is rewritten. The reader
must read such a form exactly as it reads the original. These are the forms the golden pairs
in `tests/data/forms/libreoffice/` are made from (its `make.py` saves them with LibreOffice),
and the helpers the live test uses to save a fresh one.

One loss is LibreOffice's, not the reader's, and no reader can undo it: LibreOffice 7.4 turns a
plain-text content control into an input field, which holds no line breaks, and saves the
breaks in front of the control. "Flat 10<br/>198 Hobs Moat Road" comes back as two breaks
before "Flat 10198 Hobs Moat Road", and that is what Writer shows. `kept_by_libreoffice` says
exactly what is lost, so every other difference still fails a test.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mailbot.demo.formwriter import FillStyle, render_form
from mailbot.demo.samples import sample_form, with_children, with_ticks, with_values
from mailbot.models import ChildRow, FormData
from tests.unit.test_reader import complete

GOLDEN = Path(__file__).parent / "data" / "forms" / "libreoffice"
REQUIRE_ENV = "MAILBOT_REQUIRE_LIBREOFFICE"
SOFFICE_TIMEOUT = 300  # seconds for one batch; a first start builds the profile
PJ_RATIONALE = (
    "He has started following her to work and waiting outside her mother's house; she has "
    "moved twice this year and he has found her each time, which she finds more frightening "
    "than the assaults."
)


@dataclass(frozen=True)
class Recipe:
    """How one form is filled before LibreOffice saves it."""

    form: FormData
    style: FillStyle
    mark: str = "x"  # the mark typed in ticked boxes, for FillStyle.MARKS

    def original(self) -> bytes:
        """The form as the partner's Word would have sent it."""
        return render_form(self.form, self.style, mark=self.mark)


def with_three_children() -> FormData:
    """Children with dates of birth in three styles (one in a date picker without its ISO
    date), a multi-line address, a due date, a 'not known' date and a two-line comment."""
    form = sample_form(random.Random(20261102), dash_yes=16)
    form = with_children(
        form,
        ChildRow(
            name="Amira Begum",
            dob="03/07/2015",
            gender="Female",
            school="Oldknow Academy",
            relationship="Daughter of both",
        ),
        ChildRow(
            name="Kai O'Neill-Begum",
            dob="3/7/19",
            gender="Male",
            address="Flat 2\n14 Stratford Road\nSolihull",
            school="Little Acorns Nursery",
            relationship="Son of victim",
        ),
        ChildRow(
            name="Zofia Begum",
            dob="12 March 2024",
            gender="Female",
            relationship="Daughter of both",
        ),
    )
    comments = {**form.dash_comments, 1: "Threats sent by text.\nScreenshots kept by the victim."}
    form = form.model_copy(update={"dash_comments": comments})
    return with_values(
        form, victim_dob="3 July 1991", perp_dob="N/K", pregnancy_due_date="14/03/2027"
    )


def without_children() -> FormData:
    """No children ticked, professional judgement and escalation with their reasons."""
    form = with_children(sample_form(random.Random(7), dash_yes=12))
    form = with_ticks(form, reason_professional_judgement=True, reason_escalation=True)
    return with_values(
        form,
        pj_rationale=PJ_RATIONALE,
        police_callouts_12m="4",
        perp_address="not known",
        victim_interpreter="Yes - Polish",
        risk_summary="Stalking since the separation.\n\nSee the chronology.",
    )


def recipes() -> dict[str, Recipe]:
    """Every golden pair's form, by file name: each fill style, with and without children."""
    children, none = with_three_children(), without_children()
    return {
        "controls-children": Recipe(children, FillStyle.CONTROLS),
        "controls-no-children": Recipe(none, FillStyle.CONTROLS),
        "typed-children": Recipe(children, FillStyle.TYPED),
        "typed-no-children": Recipe(none, FillStyle.TYPED),
        "marks-children": Recipe(children, FillStyle.MARKS, mark="X"),
        "marks-no-children": Recipe(none, FillStyle.MARKS, mark="✓"),
    }


def _joined(text: str) -> str:
    return text.replace("\n", "")


def kept_by_libreoffice(form: FormData, style: FillStyle) -> FormData:
    """`form` (as read from the original) as LibreOffice 7.4 leaves it: unchanged, except that
    values typed into plain-text content controls lose their line breaks (see above)."""
    if style is not FillStyle.CONTROLS:
        return form
    return form.model_copy(
        update={
            "values": {key: _joined(value) for key, value in form.values.items()},
            "dash_comments": {n: _joined(text) for n, text in form.dash_comments.items()},
            "children": tuple(
                ChildRow(**{key: _joined(value) for key, value in child.model_dump().items()})
                for child in form.children
            ),
        }
    )


def expected_read(recipe: Recipe) -> FormData:
    """What the LibreOffice-saved form must read as: the data written, less LibreOffice's
    one loss."""
    return kept_by_libreoffice(complete(recipe.form), recipe.style)


def find_soffice() -> str | None:
    """LibreOffice's command (Debian's libreoffice-writer-nogui), or None when not installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def save_with_libreoffice(
    documents: Mapping[str, bytes], soffice: str, *, target: str = "docx"
) -> dict[str, bytes]:
    """Each document opened in LibreOffice Writer and saved as .docx, by the same name.

    One headless run for the batch, with a private profile, so parallel runs never share
    LibreOffice's lock or settings. `target` is what --convert-to is given: "docx" (Office
    Open XML Text) or "docx:MS Word 2007 XML" (Writer's Save As "Word 2007-365").
    """
    with tempfile.TemporaryDirectory(prefix="mailbot-lo-") as tmp:
        root = Path(tmp)
        source, saved = root / "in", root / "out"
        source.mkdir()
        saved.mkdir()
        paths = []
        for name, data in documents.items():
            path = source / f"{name}.docx"
            path.write_bytes(data)
            paths.append(str(path))
        subprocess.run(
            [
                soffice,
                f"-env:UserInstallation={(root / 'profile').as_uri()}",
                "--headless",
                "--norestore",
                "--convert-to",
                target,
                "--outdir",
                str(saved),
                *paths,
            ],
            check=True,
            capture_output=True,
            timeout=SOFFICE_TIMEOUT,
            env={**os.environ, "HOME": tmp},
        )
        missing = [name for name in documents if not (saved / f"{name}.docx").exists()]
        if missing:
            raise RuntimeError(f"LibreOffice did not save {missing}")
        return {name: (saved / f"{name}.docx").read_bytes() for name in documents}
