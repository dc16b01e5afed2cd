"""Message texts from templates the MARAC team can edit, not from Python strings.

The packaged templates (`mailbot/templates/*.txt`) are the defaults; a deployment can point
`service.templates_dir` at its own copies, which win file by file. Each template starts with
a `Subject:` line, then a blank line, then the body. Undefined variables are errors, so a
typo in an edited template fails loudly in the tests rather than silently in a reply.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2


class Templates:
    def __init__(self, custom_dir: Path | None = None) -> None:
        self.custom_dir = custom_dir

    @cached_property
    def env(self) -> jinja2.Environment:
        """Made at the first message, not at start-up: jinja2 is start-up time and memory
        that a daemon with nothing to say (an empty inbox, an admin command) does not need."""
        import jinja2

        loaders: list[jinja2.BaseLoader] = []
        if self.custom_dir is not None:
            loaders.append(jinja2.FileSystemLoader(str(self.custom_dir)))
        loaders.append(jinja2.PackageLoader("mailbot", "templates"))
        return jinja2.Environment(  # noqa: S701 (plain text email, not HTML)
            loader=jinja2.ChoiceLoader(loaders),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            trim_blocks=False,
        )

    def render(self, name: str, **context: Any) -> tuple[str, str]:
        """(subject, body) of template `name` with `context`."""
        text = self.env.get_template(f"{name}.txt").render(**context)
        head, _, body = text.partition("\n\n")
        if not head.startswith("Subject:"):
            raise ValueError(f"template {name} must start with a Subject: line")
        subject = " ".join(head.removeprefix("Subject:").split())  # no CR/LF can survive
        return subject, _tidy(body)


def _tidy(body: str) -> str:
    lines = [line.rstrip() for line in body.splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):  # collapse runs of blank lines left by blocks
            out.append(line)
    return "\n".join(out).strip() + "\n"
