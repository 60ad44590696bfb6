"""The portal in-process, in front of the in-process gateway (its API calls go through httpx's
ASGI transport), on the test's transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.portal.config import PortalSettings
from services.portal.main import create_app
from shared.testing.plugin import running_app


async def portal_app(
    settings: dict[str, Any], gateway: FastAPI, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[FastAPI]:
    async with running_app(
        create_app(PortalSettings.model_validate(settings)), sessionmaker
    ) as app:
        await app.state.gateway.http.aclose()
        app.state.gateway.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=gateway, client=("10.9.8.7", 4000)),
            base_url="http://gateway",
        )
        yield app


@pytest.fixture
async def portal(
    database_url: str, gateway: FastAPI, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    settings = {"database_url": SecretStr(database_url), "environment": "test"}
    async for app in portal_app(settings, gateway, sessionmaker):
        transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://portal") as client:
            yield client
