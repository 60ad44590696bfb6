"""Who may call notify: people read their own notifications; the gateway sends direct messages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request

from services.notify.config import NotifySettings
from services.notify.exceptions import NotAPerson, NotTheGateway
from shared.auth.dependencies import CurrentPrincipal, ServicePrincipal
from shared.auth.tokens import Principal

# The gateway's service account (client id "gateway"): the only sender of direct messages.
GATEWAY_SUBJECT = "svc:gateway"


async def _person(principal: CurrentPrincipal) -> UUID:
    """The caller's user id: a notification belongs to a person, never to a service."""
    if principal.user_id is None:
        raise NotAPerson()
    return principal.user_id


async def _gateway(principal: ServicePrincipal) -> Principal:
    if principal.subject != GATEWAY_SUBJECT:
        raise NotTheGateway()
    return principal


async def _settings(request: Request) -> NotifySettings:
    settings: NotifySettings = request.app.state.settings
    return settings


async def _now(request: Request) -> datetime:
    now: datetime = request.app.state.clock()
    return now


PersonId = Annotated[UUID, Depends(_person)]
GatewayCaller = Annotated[Principal, Depends(_gateway)]
SettingsDep = Annotated[NotifySettings, Depends(_settings)]
NowDep = Annotated[datetime, Depends(_now)]
