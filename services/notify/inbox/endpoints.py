"""`/v1/me/notifications`: the caller's own inbox (through the gateway: /api/notify/v1/...)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from services.notify.auth import NowDep, PersonId
from services.notify.inbox.schemas import NotificationRead, UnreadCount
from services.notify.inbox.service import Inbox
from shared.db import SessionDep
from shared.pagination import Page, PageDep

router = APIRouter(prefix="/v1/me/notifications", tags=["inbox"])


async def _inbox(session: SessionDep) -> Inbox:
    return Inbox(session)


InboxDep = Annotated[Inbox, Depends(_inbox)]


@router.get("", response_model=Page[NotificationRead], summary="My notifications, newest first")
async def list_notifications(
    inbox: InboxDep,
    me: PersonId,
    page: PageDep,
    unread: Annotated[bool, Query(description="only those not read yet")] = False,
) -> Page[NotificationRead]:
    return await inbox.page(me, page, unread_only=unread)


@router.get("/unread-count", response_model=UnreadCount, summary="How many I have not read")
async def unread_count(inbox: InboxDep, me: PersonId) -> UnreadCount:
    return UnreadCount(unread=await inbox.unread(me))


@router.get(
    "/{notification_id}",
    response_model=NotificationRead,
    summary="Read one as it stands (records nothing; an undelivered formal notice shows only "
    "its subject: open it)",
)
async def read_notification(
    notification_id: UUID, inbox: InboxDep, me: PersonId
) -> NotificationRead:
    return await inbox.read(me, notification_id)


@router.post(
    "/{notification_id}/open",
    response_model=NotificationRead,
    summary="Open one: the whole text, marked read (a formal notice's first opening is its "
    "delivery)",
)
async def open_notification(
    notification_id: UUID, inbox: InboxDep, me: PersonId, now: NowDep
) -> NotificationRead:
    return await inbox.open(me, notification_id, now)


@router.post("/{notification_id}/read", response_model=NotificationRead, summary="Mark it read")
async def mark_read(
    notification_id: UUID, inbox: InboxDep, me: PersonId, now: NowDep
) -> NotificationRead:
    return await inbox.mark_read(me, notification_id, now)


@router.post(
    "/{notification_id}/acknowledge",
    response_model=NotificationRead,
    summary="Acknowledge a formal notice (409 for any other)",
)
async def acknowledge(
    notification_id: UUID, inbox: InboxDep, me: PersonId, now: NowDep
) -> NotificationRead:
    return await inbox.acknowledge(me, notification_id, now)
