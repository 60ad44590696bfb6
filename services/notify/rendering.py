"""Templates to text: one Jinja2 file per template and language under `templates/<locale>/`,
each with a `subject` block and a `body` block (plain text; mail is sent as text)."""

from __future__ import annotations

import unicodedata
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2

FOLDER = Path(__file__).resolve().parent / "templates"
LOCALES = ("zh", "en")
DEFAULT_LOCALE = "zh"


@cache
def _environment() -> jinja2.Environment:
    # Imported on first use: start-up stays cheap.
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(FOLDER),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def one_line(text: str) -> str:
    """`text` without control characters or line breaks (each becomes a space): a subject
    carries titles people typed, and a stray `\\r` must neither break the mail header nor add
    one of its own."""
    return "".join(
        " " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text
    ).strip()


def render(name: str, locale: str, params: dict[str, Any]) -> tuple[str, str]:
    """The subject (one line) and the body of template `name` in `locale`."""
    chosen = locale if locale in LOCALES else DEFAULT_LOCALE
    template = _environment().get_template(f"{chosen}/{name}.txt")
    context = template.new_context(dict(params))
    subject = one_line("".join(template.blocks["subject"](context)))
    body = "".join(template.blocks["body"](context)).strip() + "\n"
    return subject, body
