"""The real credit service as other services' tests call it: in-process, with a real token."""

from __future__ import annotations

import asyncio
from datetime import datetime
from uuid import UUID

import httpx

from shared.contracts.credit import BulkEligibilityV1, EligibilityV1
from shared.credit_client import CreditUnavailable, bulk_question, eligibility_query
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
    ) -> EligibilityV1:
        self.calls += 1
        if self.down:
            raise CreditUnavailable()
        params = eligibility_query(action, at, gateway_user_id, gateway_org_id)
        async with self._one_at_a_time:
            reply = await self._client.get("/v1/eligibility", params=params, headers=self._headers)
        if reply.status_code != 200:
            raise CreditUnavailable()
        return EligibilityV1.model_validate(reply.json())

    async def people_eligibility(
        self, *, action: str, at: datetime, user_ids: list[UUID]
    ) -> dict[UUID, EligibilityV1]:
        self.calls += 1
        if self.down:
            raise CreditUnavailable()
        body = bulk_question(action, at, user_ids)
        async with self._one_at_a_time:
            reply = await self._client.post(
                "/v1/eligibility/bulk", json=body, headers=self._headers
            )
        if reply.status_code != 200:
            raise CreditUnavailable()
        return BulkEligibilityV1.model_validate(reply.json()).users
