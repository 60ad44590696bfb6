"""Templates to text: one Jinja2 file per template and language under `templates/<locale>/`,
each with a `subject` block and a `body` block (plain text; mail is sent as text)."""

from __future__ import annotations

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


def render(name: str, locale: str, params: dict[str, Any]) -> tuple[str, str]:
    """The subject (one line) and the body of template `name` in `locale`."""
    chosen = locale if locale in LOCALES else DEFAULT_LOCALE
    template = _environment().get_template(f"{chosen}/{name}.txt")
    context = template.new_context(dict(params))
    subject = "".join(template.blocks["subject"](context)).strip().replace("\n", " ")
    body = "".join(template.blocks["body"](context)).strip() + "\n"
    return subject, body
