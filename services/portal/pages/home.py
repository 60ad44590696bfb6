"""The start page: what waits for me, by role; the public's start page without a login."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from services.portal.people import LoginRequired, person, visitor
from services.portal.rendering import render

router = APIRouter()


@router.get("/")
async def home(request: Request) -> Response:
    try:
        p = await person(request)
    except LoginRequired:
        return render(await visitor(request), "home_public.html")
    unread = await p.api.get("/api/notify/v1/me/notifications/unread-count")
    return render(p, "home.html", unread=unread)
