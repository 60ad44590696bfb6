"""Logging in and out, the language, my account: password change, reset and address check."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from services.portal.api import ApiProblem, Gateway
from services.portal.config import PortalSettings
from services.portal.i18n import LANG_COOKIE, LANGUAGES
from services.portal.people import (
    PersonDep,
    VisitorDep,
    client_address,
    session_cookie_name,
)
from services.portal.rendering import redirect, render
from services.portal.sessions.store import SessionStore, Tokens

router = APIRouter()
Text = Annotated[str, Form(max_length=500)]


def _safe_next(path: str | None) -> str:
    """Only a path on this site: `next=https://evil.example` must not send anyone away."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


def _settings(request: Request) -> PortalSettings:
    settings: PortalSettings = request.app.state.settings
    return settings


async def _start_session(request: Request, tokens: Tokens, response: Response) -> None:
    settings = _settings(request)
    async with request.app.state.db.sessionmaker() as db, db.begin():
        cookie = await SessionStore(db, settings).create(
            UUID(str(tokens.me["id"])), tokens, datetime.now(UTC)
        )
    response.set_cookie(
        session_cookie_name(settings.secure_cookies),
        cookie,
        max_age=settings.session_max_hours * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )


@router.get("/login")
async def login_page(v: VisitorDep, next: str = "/") -> Response:
    return render(v, "account/login.html", next=_safe_next(next), username="")


@router.post("/login")
async def login(
    request: Request,
    v: VisitorDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    next: Text = "/",
) -> Response:
    gateway: Gateway = request.app.state.gateway
    try:
        tokens = await gateway.login(username.strip(), password, client_address(request))
    except ApiProblem as problem:
        status = problem.status if problem.status in (401, 403, 422, 429, 503) else 400
        return render(
            v,
            "account/login.html",
            status_code=status,
            problem=problem,
            next=_safe_next(next),
            username=username,
        )
    response = redirect(_safe_next(next))
    await _start_session(request, tokens, response)
    return response


@router.post("/logout")
async def logout(request: Request, p: PersonDep) -> Response:
    """Ends the login everywhere: every refresh token at the gateway, every portal session."""
    assert p.session is not None
    gateway: Gateway = request.app.state.gateway
    await gateway.logout_everywhere(p.session.tokens.refresh)
    async with request.app.state.db.sessionmaker() as db, db.begin():
        await SessionStore(db, _settings(request)).end_all(p.session.subject)
    response = redirect("/login", ("您已退出登录", "You are logged out"))
    response.delete_cookie(session_cookie_name(_settings(request).secure_cookies), path="/")
    return response


@router.post("/language")
async def choose_language(
    v: VisitorDep, lang: Annotated[str, Form()] = "zh", next: Text = "/"
) -> Response:
    response = redirect(_safe_next(next))
    if lang in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", path="/")
    return response


@router.get("/account")
async def account(p: PersonDep) -> Response:
    return render(p, "account/account.html")


@router.get("/account/password")
async def password_page(p: PersonDep) -> Response:
    return render(p, "account/password.html")


@router.post("/account/password")
async def change_password(
    request: Request,
    p: PersonDep,
    current_password: Annotated[str, Form(max_length=200)] = "",
    new_password: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Every session ends at the gateway on a change; this one goes on with the fresh login."""
    assert p.session is not None
    try:
        body = await p.api.post(
            "/auth/password",
            {"current_password": current_password, "new_password": new_password},
        )
    except ApiProblem as problem:
        if problem.code == "account.wrong_password":
            problem.problem["errors"] = [
                {"loc": ["body", "current_password"], "msg": problem.title}
            ]
        return render(p, "account/password.html", status_code=problem.status, problem=problem)
    gateway: Gateway = request.app.state.gateway
    tokens = await gateway.from_token_response(body)
    async with request.app.state.db.sessionmaker() as db, db.begin():
        await SessionStore(db, _settings(request)).end_all(p.session.subject)
    response = redirect(
        "/account",
        ("密码已修改，其他设备需重新登录", "Password changed; other devices must log in again"),
    )
    await _start_session(request, tokens, response)
    return response


@router.get("/account/password-reset")
async def reset_page(v: VisitorDep) -> Response:
    """Both halves of a reset: asking for a link, and (with `#token=` from the mail) using it."""
    return render(v, "account/reset.html", sent=False)


@router.post("/account/password-reset")
async def request_reset(
    v: VisitorDep, login: Annotated[str, Form(max_length=254)] = ""
) -> Response:
    try:
        await v.api.post("/auth/password-reset", {"login": login})
    except ApiProblem as problem:
        return render(
            v, "account/reset.html", status_code=problem.status, problem=problem, sent=False
        )
    return render(v, "account/reset.html", sent=True)


@router.post("/account/password-reset/confirm")
async def confirm_reset(
    v: VisitorDep,
    token: Annotated[str, Form(max_length=200)] = "",
    new_password: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    try:
        await v.api.post(
            "/auth/password-reset/confirm", {"token": token, "new_password": new_password}
        )
    except ApiProblem as problem:
        return render(
            v, "account/reset.html", status_code=problem.status, problem=problem, sent=False
        )
    return redirect(
        "/login", ("密码已重设，请用新密码登录", "Password reset; log in with the new one")
    )


@router.get("/account/email-verification")
async def email_page(v: VisitorDep) -> Response:
    return render(v, "account/email.html")


@router.post("/account/email-verification")
async def confirm_email(
    v: VisitorDep, token: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    try:
        await v.api.post("/auth/email-verification/confirm", {"token": token})
    except ApiProblem as problem:
        return render(v, "account/email.html", status_code=problem.status, problem=problem)
    return redirect("/", ("邮箱地址已确认", "E-mail address confirmed"))
