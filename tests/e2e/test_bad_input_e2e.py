"""Bad input through the real gateway, as the role concerned: the three requests of issue 13
that were a 500 (an integer beyond BIGINT, a NUL character) are a 422 naming the field, in
Chinese by default and in English on request."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import RunningStack, bearer
from tests.e2e.helpers import admin_token, create_user, e2e_client

pytestmark = pytest.mark.e2e
PASSWORD = "e2e-user-password"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with e2e_client() as client:
        yield client


async def _person(
    client: httpx.AsyncClient, stack: RunningStack, role: str
) -> tuple[dict[str, str], str]:
    """The headers of a new person with `role`, and their user id."""
    admin = await admin_token(client, stack)
    user = await create_user(client, stack, admin, f"bad-input-{uuid.uuid4().hex[:8]}", [role])
    response = await client.post(
        f"{stack.url}/auth/token", data={"username": user["username"], "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return bearer(response.json()["access_token"]), str(user["id"])


def _field_error(response: httpx.Response, loc: list[Any]) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "request.invalid"
    found = [error for error in problem["errors"] if error["loc"] == loc]
    assert found, problem
    error: dict[str, Any] = found[0]
    return error


async def test_a_budget_of_two_to_the_64_is_refused_by_name(
    client: httpx.AsyncClient, stack: RunningStack
) -> None:
    applicant, applicant_id = await _person(client, stack, "applicant")
    content = {
        "title": "盐碱地生物改良关键技术",
        "keywords": ["盐碱地"],
        "subject_codes": ["210.2010"],
        "team": [{"user_id": applicant_id, "role": "负责人", "share": 100}],
        "budget": {"equipment": 0, "business": 2**64, "labour": 0, "indirect": 0},
    }
    response = await client.post(
        f"{stack.url}/api/projects/v1/applications",
        json={"call_id": str(uuid.uuid4()), "content": content},
        headers=applicant,
    )
    error = _field_error(response, ["body", "content", "budget", "business"])
    assert error["msg"] == f"应小于或等于 {2**63 - 1}"


async def test_an_envelope_beyond_bigint_is_refused_by_name(
    client: httpx.AsyncClient, stack: RunningStack
) -> None:
    manager, _ = await _person(client, stack, "program_manager")
    program = {
        "code": "BADX",
        "name_zh": "越界测试专项",
        "name_en": "Out of range test fund",
        "managing_agency": "甘肃省科学技术厅",
        "active_from_year": 2026,
        "envelopes": [{"year": 2026, "amount_fen": 2**63}],
    }
    response = await client.post(
        f"{stack.url}/api/projects/v1/programs",
        json=program,
        headers={**manager, "Accept-Language": "en"},
    )
    error = _field_error(response, ["body", "envelopes", 0, "amount_fen"])
    assert error["msg"] == f"Input should be less than or equal to {2**63 - 1}"


async def test_a_nul_in_a_credit_code_is_refused_by_name(
    client: httpx.AsyncClient, stack: RunningStack
) -> None:
    officer, _ = await _person(client, stack, "credit_officer")
    response = await client.get(
        f"{stack.url}/api/credit/v1/eligibility",
        params={"action": "apply", "credit_code": "9135010\x00M000100Y43"},
        headers=officer,
    )
    error = _field_error(response, ["query", "credit_code"])
    assert (error["type"], error["msg"]) == ("string_contains_nul", "不能包含 NUL 字符")

    # A NUL in the path of a write is refused at the gateway, before its audit log.
    response = await client.post(
        f"{stack.url}/api/credit/v1/records/a%00b/withdraw",
        json={"reason": "测试"},
        headers=officer,
    )
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert (error["loc"][0], error["type"]) == ("path", "string_contains_nul")
