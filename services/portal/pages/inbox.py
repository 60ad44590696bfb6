"""My notifications: the list, one opened (a formal notice's first opening is its delivery),
marked read, acknowledged."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from starlette.responses import Response

from services.portal.people import PersonDep
from services.portal.rendering import redirect, render

router = APIRouter()
INBOX = "/api/notify/v1/me/notifications"


@router.get("/inbox")
async def inbox(p: PersonDep, unread: bool = False, cursor: str | None = None) -> Response:
    page = await p.api.get(INBOX, unread=unread or None, cursor=cursor, limit=30)
    return render(p, "inbox/list.html", page=page, unread=unread)


@router.get("/inbox/{notification_id}")
async def notification(p: PersonDep, notification_id: UUID) -> Response:
    """Shows it as it stands: a sealed formal notice shows its subject until the person opens it."""
    item = await p.api.get(f"{INBOX}/{notification_id}")
    return render(p, "inbox/one.html", item=item)


@router.post("/inbox/{notification_id}/open")
async def open_notification(p: PersonDep, notification_id: UUID) -> Response:
    await p.api.post(f"{INBOX}/{notification_id}/open")
    return redirect(f"/inbox/{notification_id}")


@router.post("/inbox/{notification_id}/acknowledge")
async def acknowledge(p: PersonDep, notification_id: UUID) -> Response:
    await p.api.post(f"{INBOX}/{notification_id}/acknowledge")
    return redirect(f"/inbox/{notification_id}", ("已确认收悉", "Receipt acknowledged"))
