"""What every page promises a browser: a strict Content-Security-Policy, no framing by others,
no caching of a person's pages, a CSRF cookie scripts cannot read, and forms refused without
its token."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from shared.auth.roles import Role
from tests.conftest import PASSWORD, MakeUser

pytestmark = pytest.mark.usefixtures("portal")


async def test_pages_allow_only_their_own_scripts_and_are_not_cached(
    portal: httpx.AsyncClient,
) -> None:
    page = await portal.get("/login")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert "frame-ancestors 'self'" in csp
    assert "object-src 'none'" in csp
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-content-type-options"] == "nosniff"
    cookie = page.headers["set-cookie"]
    assert cookie.startswith("sp_csrf=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    # No inline script anywhere in the page: each <script> names its file.
    assert "<script>" not in page.text
    assert "<script src=" in page.text
    static = await portal.get("/static/htmx.min.js")
    assert static.status_code == 200
    assert "max-age" in static.headers["cache-control"]


async def test_a_form_without_the_visitors_token_is_refused(
    portal: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user(Role.applicant)
    await portal.get("/login")  # the visitor's CSRF cookie
    token = portal.cookies["sp_csrf"]
    form: dict[str, Any] = {"username": user["username"], "password": PASSWORD, "next": "/"}

    refused = await portal.post("/login", data=form)
    assert refused.status_code == 403
    refused = await portal.post("/login", data={**form, "csrf_token": "guessed"})
    assert refused.status_code == 403
    cross_site = await portal.post(
        "/login", data={**form, "csrf_token": token}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert cross_site.status_code == 403
    assert "sp_session" not in portal.cookies

    accepted = await portal.post("/login", data={**form, "csrf_token": token})
    assert accepted.status_code == 303
    assert accepted.headers["location"] == "/"
    assert "sp_session" in portal.cookies


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil"])
async def test_after_login_nobody_is_sent_to_another_site(
    portal: httpx.AsyncClient, make_user: MakeUser, target: str
) -> None:
    user = await make_user(Role.applicant)
    await portal.get("/login")
    answer = await portal.post(
        "/login",
        data={
            "username": user["username"],
            "password": PASSWORD,
            "next": target,
            "csrf_token": portal.cookies["sp_csrf"],
        },
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/"


async def test_a_wrong_password_is_said_next_to_the_form_and_opens_nothing(
    portal: httpx.AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user(Role.applicant)
    await portal.get("/login")
    answer = await portal.post(
        "/login",
        data={
            "username": user["username"],
            "password": "not it at all",
            "csrf_token": portal.cookies["sp_csrf"],
        },
    )
    assert answer.status_code == 401
    assert 'role="alert"' in answer.text
    assert "sp_session" not in portal.cookies
    assert (await portal.get("/inbox")).status_code == 303
