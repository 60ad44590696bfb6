"""Pages from templates, with what every page needs: the language, the person, the CSRF token,
a message left by the previous page, and the menu of what this person may do."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from fastapi.templating import Jinja2Templates
from starlette.responses import RedirectResponse, Response

from services.portal.api import ApiProblem
from services.portal.i18n import local_date, local_time, yuan
from services.portal.menu import menu_for
from services.portal.people import Visitor

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
TEMPLATES.env.filters.update(yuan=yuan, local_time=local_time, local_date=local_date)
TEMPLATES.env.globals["url_quote"] = lambda text: quote(str(text), safe="")
FLASH_COOKIE = "sp_flash"
API_CALLS_HEADER = "X-Portal-Api-Calls"


def render(
    visitor: Visitor,
    template: str,
    status_code: int = 200,
    problem: ApiProblem | None = None,
    **context: Any,
) -> Response:
    request = visitor.request
    flash = _read_flash(request.cookies.get(FLASH_COOKIE))
    response = TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "v": visitor,
            "t": visitor.t,
            "lang": visitor.lang,
            "me": visitor.me,
            "csrf_token": visitor.csrf_token,
            "menu": menu_for(visitor),
            "flash": flash,
            "problem": problem,
            "errors": problem.field_errors() if problem else {},
            **context,
        },
        status_code=status_code,
    )
    if flash is not None:
        response.delete_cookie(FLASH_COOKIE, path="/")
    # How many API calls the page made: tests and bench/portal_pages.py watch it for N+1.
    response.headers[API_CALLS_HEADER] = str(visitor.api.calls)
    return response


def _read_flash(raw: str | None) -> dict[str, str] | None:
    if not raw:
        return None
    try:
        value = json.loads(unquote(raw))
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def redirect(path: str, flash: tuple[str, str] | None = None, hx: bool = False) -> Response:
    """303 to `path` (after a form), leaving `flash` (zh, en) for the next page to show.

    An htmx request is told with `HX-Redirect` instead: the browser itself loads the page.
    """
    response: Response
    if hx:
        response = Response(status_code=204, headers={"HX-Redirect": path})
    else:
        response = RedirectResponse(path, status_code=303)
    if flash is not None:
        value = quote(json.dumps({"zh": flash[0], "en": flash[1]}, ensure_ascii=False))
        response.set_cookie(FLASH_COOKIE, value, max_age=60, httponly=True, samesite="lax")
    return response
