"""Headers on every page, and the visitor's CSRF cookie.

The Content-Security-Policy allows only the portal's own scripts, styles and images: no inline
script or style runs, nothing loads from elsewhere, no other site frames the pages. Pages are
never cached (they show one person's data); the static files are, for a day.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.portal import csrf

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-src 'self'; frame-ancestors 'self'; form-action 'self'"
)


class PortalHeadersMiddleware:
    def __init__(self, app: ASGIApp, secure: bool) -> None:
        self.app = app
        self.secure = secure
        self.csrf_cookie = csrf.cookie_name(secure)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = HTTPConnection(scope).cookies.get(self.csrf_cookie)
        new_token = None
        if not token:
            token = new_token = csrf.new_token()
        scope.setdefault("state", {})["csrf_token"] = token
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", CSP)
                headers["X-Frame-Options"] = "SAMEORIGIN"
                headers["Referrer-Policy"] = "same-origin"
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
                if static:
                    headers["Cache-Control"] = "public, max-age=86400"
                else:
                    headers.setdefault("Cache-Control", "no-store")
                if self.secure:
                    headers["Strict-Transport-Security"] = "max-age=31536000"
                if new_token is not None and not static:
                    flags = "; Secure" if self.secure else ""
                    headers.append(
                        "Set-Cookie",
                        f"{self.csrf_cookie}={new_token}; Path=/; HttpOnly; SameSite=Lax{flags}",
                    )
            await send(message)

        await self.app(scope, receive, send_with_headers)
