"""Who is asking for a page: a visitor (the public) or a logged-in person, and their API.

`PersonDep` finds the session the cookie names, renews the person's access token shortly before
it expires, and hands the page an `Api` that calls the gateway as them. Without a live session
the person is sent to the login page and back to where they were going afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request

from services.portal import csrf
from services.portal.api import Api, Gateway, SessionExpired
from services.portal.config import PortalSettings
from services.portal.i18n import language, translator
from services.portal.sessions.store import OpenSession, SessionStore


def session_cookie_name(secure: bool) -> str:
    return "__Host-sp_session" if secure else "sp_session"


class LoginRequired(Exception):
    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


@dataclass
class Visitor:
    request: Request
    lang: str
    api: Api
    csrf_token: str
    me: dict[str, Any] | None = None
    roles: frozenset[str] = field(default_factory=frozenset)

    @property
    def t(self) -> Callable[[str, str], str]:
        return translator(self.lang)

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


@dataclass
class Person(Visitor):
    session: OpenSession | None = None

    @property
    def user_id(self) -> str:
        return str(self.me["id"]) if self.me else ""

    @property
    def org_id(self) -> str | None:
        return str(self.me["org_id"]) if self.me and self.me.get("org_id") else None


def client_address(request: Request) -> str:
    """The browser's address: the gateway in front of the portal says it in X-Forwarded-For."""
    forwarded = request.headers.get("x-forwarded-for", "")
    if forwarded:
        return forwarded.split(",")[-1].strip()
    return request.client.host if request.client else ""


def _gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


async def _csrf_checked(request: Request) -> str:
    token: str = request.state.csrf_token
    await csrf.check(request, token)
    return token


async def visitor(request: Request) -> Visitor:
    token = await _csrf_checked(request)
    lang = language(request)
    api = _gateway(request).as_person(None, lang, client_address(request))
    return Visitor(request=request, lang=lang, api=api, csrf_token=token)


def _next_path(request: Request) -> str:
    if request.method != "GET":
        return request.headers.get("hx-current-url-path", "/")
    path = request.url.path
    return path + (f"?{request.url.query}" if request.url.query else "")


async def _open_session(request: Request, cookie: str) -> OpenSession | None:
    settings: PortalSettings = request.app.state.settings
    now = datetime.now(UTC)
    margin = timedelta(seconds=settings.refresh_margin_seconds)
    async with request.app.state.db.sessionmaker() as db, db.begin():
        found = await SessionStore(db, settings).find(cookie, now)
    if found is None or found.tokens.expires_at - now > margin:
        return found
    # Renewal rotates the refresh token, and the gateway takes a second use of a rotated one
    # for theft (it ends the login). Two pages of one person renewing at once must therefore
    # take turns: the row stays locked during the one call to the gateway, and whoever comes
    # second finds the new tokens. Only this person's requests ever wait on the lock.
    async with request.app.state.db.sessionmaker() as db, db.begin():
        store = SessionStore(db, settings)
        found = await store.find(cookie, now, lock=True)
        if found is None or found.tokens.expires_at - now > margin:
            return found
        try:
            tokens = await _gateway(request).refresh(found.tokens.refresh, client_address(request))
        except SessionExpired:
            await store.end(cookie)
            return None
        await store.replace_tokens(found, tokens)
        return found


async def person(request: Request) -> Person:
    token = await _csrf_checked(request)
    settings: PortalSettings = request.app.state.settings
    cookie = request.cookies.get(session_cookie_name(settings.secure_cookies))
    found = await _open_session(request, cookie) if cookie else None
    if found is None:
        raise LoginRequired(_next_path(request))
    lang = language(request)
    api = _gateway(request).as_person(found.tokens.access, lang, client_address(request))
    me = found.tokens.me
    return Person(
        request=request,
        lang=lang,
        api=api,
        csrf_token=token,
        me=me,
        roles=frozenset(me.get("roles") or ()),
        session=found,
    )


VisitorDep = Annotated[Visitor, Depends(visitor)]
PersonDep = Annotated[Person, Depends(person)]


def login_url(next_path: str) -> str:
    return "/login?next=" + quote(next_path, safe="/")
