"""`/v1/me/preferences`: which channels each category of my notifications uses."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header

from services.notify.auth import NowDep, PersonId
from services.notify.preferences.schemas import Preferences, PreferencesUpdate
from services.notify.preferences.service import PreferenceService
from shared.db import SessionDep
from shared.errors import preferred_language

router = APIRouter(prefix="/v1/me/preferences", tags=["preferences"])


async def _preferences(session: SessionDep) -> PreferenceService:
    return PreferenceService(session)


PreferencesDep = Annotated[PreferenceService, Depends(_preferences)]
Language = Annotated[str | None, Header(alias="Accept-Language", include_in_schema=False)]


@router.get("", response_model=Preferences, summary="My channels per category")
async def get_preferences(
    preferences: PreferencesDep, me: PersonId, accept_language: Language = None
) -> Preferences:
    return await preferences.of(me, preferred_language(accept_language))


@router.put(
    "",
    response_model=Preferences,
    summary="Switch channels on or off (a mandatory category's mail stays on: 422)",
)
async def put_preferences(
    update: PreferencesUpdate,
    preferences: PreferencesDep,
    me: PersonId,
    now: NowDep,
    accept_language: Language = None,
) -> Preferences:
    return await preferences.update(me, update, now, preferred_language(accept_language))
