"""Asking the credit service whether a person or organization may apply, review or use
vouchers at a given moment (the projects and funds services both ask).

Callers ask as of the moment that matters (the submission time, the voucher application): a
rating that changed since (a record confirmed later, a ban that ended) does not change what
the subject was entitled to then. Questions and answers are contracts between the services
(`shared/contracts/credit.py`): the credit service answers with the same classes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Protocol, TypeVar
from uuid import UUID

import aiohttp
from fastapi import Depends, Request
from pydantic import ValidationError

from shared.auth.service_account import ServiceTokens
from shared.contracts.credit import (
    BulkEligibilityRequestV1,
    BulkEligibilityV1,
    EligibilityQueryV1,
    EligibilityV1,
)
from shared.errors import AppError, Text
from shared.http import traced_headers

AUDIENCE = "sciplan-credit"


class CreditUnavailable(AppError):
    status = 503
    code = "credit.unavailable"
    title = Text("信用服务暂不可用", "The credit service is unavailable")


class CreditClient(Protocol):
    async def eligibility(
        self,
        *,
        action: str,
        at: datetime,
        gateway_user_id: UUID | None = None,
        gateway_org_id: UUID | None = None,
    ) -> EligibilityV1:
        """The credit service's answer; raises `CreditUnavailable`."""
        ...

    async def people_eligibility(
        self, *, action: str, at: datetime, user_ids: list[UUID]
    ) -> dict[UUID, EligibilityV1]:
        """The answer per gateway user id, up to 1,000 in one question."""
        ...


class HttpCreditClient:
    def __init__(
        self,
        *,
        base_url: str,
        session: aiohttp.ClientSession,
        tokens: ServiceTokens | None,
        timeout_seconds: float,
    ) -> None:
        self._url = f"{base_url.rstrip('/')}/v1/eligibility"
        self._session = session
        self._tokens = tokens
        # Short: a person waits for the answer (holding no lock), and can re-run the check later.
        self._timeout = aiohttp.ClientTimeout(
            total=timeout_seconds, connect=min(2.0, timeout_seconds)
        )

    async def eligibility(
        self,
        *,
        action: str,
        at: datetime,
        gateway_user_id: UUID | None = None,
        gateway_org_id: UUID | None = None,
    ) -> EligibilityV1:
        query = eligibility_query(action, at, gateway_user_id, gateway_org_id)
        answer = await self._ask("GET", "", params=query)
        return _parsed(EligibilityV1, answer)

    async def people_eligibility(
        self, *, action: str, at: datetime, user_ids: list[UUID]
    ) -> dict[UUID, EligibilityV1]:
        body = bulk_question(action, at, user_ids)
        answer = await self._ask("POST", "/bulk", json=body)
        return _parsed(BulkEligibilityV1, answer).users

    async def _ask(self, method: str, suffix: str, **kwargs: Any) -> dict[str, Any]:
        if self._tokens is None:
            raise CreditUnavailable()  # no service account configured: cannot ask
        try:
            for attempt in range(2):
                token = await self._tokens.token_for(AUDIENCE)
                headers = traced_headers({"Authorization": f"Bearer {token}"})
                async with self._session.request(
                    method, self._url + suffix, headers=headers, timeout=self._timeout, **kwargs
                ) as reply:
                    if reply.status == 401 and attempt == 0:
                        self._tokens.forget(AUDIENCE)  # signed with a key retired since
                        continue
                    if reply.status != 200:
                        raise CreditUnavailable()
                    answer: dict[str, Any] = await reply.json()
                    return answer
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise CreditUnavailable() from exc
        raise CreditUnavailable()


def eligibility_query(
    action: str, at: datetime, gateway_user_id: UUID | None, gateway_org_id: UUID | None
) -> dict[str, str]:
    """The query string of `GET /v1/eligibility` (`EligibilityQueryV1`)."""
    query = EligibilityQueryV1.model_validate(
        {
            "action": action,
            "at": at,
            "gateway_user_id": gateway_user_id,
            "gateway_org_id": gateway_org_id,
        }
    )
    return {key: str(value) for key, value in query.model_dump(mode="json").items() if value}


def bulk_question(action: str, at: datetime, user_ids: list[UUID]) -> dict[str, Any]:
    """The body of `POST /v1/eligibility/bulk` (`BulkEligibilityRequestV1`)."""
    question = BulkEligibilityRequestV1.model_validate(
        {"action": action, "at": at, "gateway_user_ids": user_ids}
    )
    return question.model_dump(mode="json")


Answer = TypeVar("Answer", EligibilityV1, BulkEligibilityV1)


def _parsed(contract: type[Answer], answer: dict[str, Any]) -> Answer:
    try:
        return contract.model_validate(answer)
    except ValidationError as exc:
        raise CreditUnavailable() from exc  # an answer this side cannot read is no answer


async def _credit_client(request: Request) -> CreditClient:
    """The app's client of the credit service, made at the first question (tests put their own
    in `app.state.credit_client`). The service's settings give `credit_url` and
    `credit_timeout_seconds`."""
    state = request.app.state
    if state.credit_client is None:
        state.credit_client = HttpCreditClient(
            base_url=state.settings.credit_url,
            session=state.http,
            tokens=state.service_tokens,
            timeout_seconds=state.settings.credit_timeout_seconds,
        )
    client: CreditClient = state.credit_client
    return client


CreditDep = Annotated[CreditClient, Depends(_credit_client)]
