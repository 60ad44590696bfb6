"""The real credit service as other services' tests call it: in-process, with a real token."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from uuid import UUID

import httpx

from shared.credit_client import CreditUnavailable
from tests.conftest import bearer


class AsgiCreditClient:
    """The real credit app, called in-process with a real service token (no network here)."""

    def __init__(self, client: httpx.AsyncClient, token: str) -> None:
        self._client = client
        self._headers = bearer(token)
        self.calls = 0
        self.down = False  # tests switch the credit service "off"
        # One at a time: in tests every app shares the test's single database connection.
        self._one_at_a_time = asyncio.Lock()

    async def eligibility(
        self,
        *,
        action: str,
        at: datetime,
        gateway_user_id: UUID | None = None,
        gateway_org_id: UUID | None = None,
    ) -> dict[str, Any]:
        self.calls += 1
        if self.down:
            raise CreditUnavailable()
        params = {"action": action, "at": at.isoformat()}
        if gateway_user_id is not None:
            params["gateway_user_id"] = str(gateway_user_id)
        if gateway_org_id is not None:
            params["gateway_org_id"] = str(gateway_org_id)
        async with self._one_at_a_time:
            reply = await self._client.get("/v1/eligibility", params=params, headers=self._headers)
        if reply.status_code != 200:
            raise CreditUnavailable()
        answer: dict[str, Any] = reply.json()
        return answer

    async def people_eligibility(
        self, *, action: str, at: datetime, user_ids: list[UUID]
    ) -> dict[UUID, dict[str, Any]]:
        self.calls += 1
        if self.down:
            raise CreditUnavailable()
        body = {
            "action": action,
            "at": at.isoformat(),
            "gateway_user_ids": [str(u) for u in user_ids],
        }
        async with self._one_at_a_time:
            reply = await self._client.post(
                "/v1/eligibility/bulk", json=body, headers=self._headers
            )
        if reply.status_code != 200:
            raise CreditUnavailable()
        return {UUID(key): value for key, value in reply.json()["users"].items()}
