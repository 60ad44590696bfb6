"""Forms are refused unless they carry the token of the visitor's own CSRF cookie.

A signed double submit: every visitor gets a random `sp_csrf` cookie (HttpOnly, SameSite=Lax,
`__Host-` and Secure in production); every form carries its value in a hidden field and every
script request in the `X-CSRF-Token` header. A page of another site can make the browser send
the cookie but cannot read it, so it cannot put the value in the form. A request the browser
marks as cross-site (`Sec-Fetch-Site`) is refused before anything else.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request

FIELD = "csrf_token"
HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def cookie_name(secure: bool) -> str:
    return "__Host-sp_csrf" if secure else "sp_csrf"


def new_token() -> str:
    return secrets.token_urlsafe(32)


class CsrfRefused(Exception):
    pass


async def check(request: Request, expected: str | None) -> None:
    """Raises CsrfRefused unless the request carries `expected` (the visitor's cookie)."""
    if request.method in SAFE_METHODS:
        return
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise CsrfRefused()
    sent = request.headers.get(HEADER)
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await request.form()).get(FIELD)
            sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(sent, expected):
        raise CsrfRefused()
