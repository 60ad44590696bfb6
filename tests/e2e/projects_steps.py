"""Steps of the projects service shared by the end-to-end tests (through the gateway)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.conftest import RunningStack, bearer, wait_until
from tests.e2e.story_steps import PDF

ZDYF = "0193a5c0-0000-7000-8000-000000000002"  # 重点研发计划, seeded by migration
# The field of the applications and experts, unless a test keeps to a field of its own (the
# shared stack's experts stay: a test whose assignment must find only its own experts needs one).
SUBJECT = "210.2010"


async def login_as(client: httpx.AsyncClient, stack: RunningStack, username: str) -> dict[str, str]:
    response = await client.post(
        f"{stack.url}/auth/token", data={"username": username, "password": "e2e-user-password"}
    )
    assert response.status_code == 200, response.text
    return bearer(response.json()["access_token"])


def application_content(
    applicant_id: str, attachments: list[dict[str, str]], subject: str = SUBJECT
) -> dict[str, Any]:
    return {
        "title": "河西走廊盐碱地改良关键技术研究",
        "abstract": "研究盐碱地改良的生物与工程措施，并在张掖开展示范。",
        "keywords": ["盐碱地", "土壤改良"],
        "subject_codes": [subject],
        "team": [{"user_id": applicant_id, "role": "负责人", "share": 100}],
        "budget": {
            "equipment": 10_000_000,
            "business": 40_000_000,
            "labour": 20_000_000,
            "indirect": 10_000_000,
        },
        "milestones": [{"name": "完成试验区建设", "due": "2027-12-31"}],
        "indicators": [{"name": "改良面积", "target": 5000, "unit": "亩"}],
        "attachments": attachments,
    }


async def published_call(
    client: httpx.AsyncClient,
    api: str,
    manager: dict[str, str],
    closes_in: timedelta,
    title: str = "2026年度重点研发计划（农业领域）",
) -> dict[str, Any]:
    now = datetime.now(UTC)
    created = await client.post(
        f"{api}/calls",
        headers=manager,
        json={
            "program_id": ZDYF,
            "year": 2026,
            "title": title,
            "guideline": "支持盐碱地治理、节水农业等方向。",
            "opens_at": (now - timedelta(minutes=1)).isoformat(),
            "closes_at": (now + closes_in).isoformat(),
            "budget_min_fen": 10_000_000,
            "budget_max_fen": 200_000_000,
            "required_attachments": ["feasibility_report"],
            "review_template": {
                "criteria": [
                    {"code": "innovation", "name": "创新性", "weight": 60, "min": 0, "max": 100},
                    {"code": "feasibility", "name": "可行性", "weight": 40, "min": 0, "max": 100},
                ]
            },
            "experts_per_application": 3,
            "notice_days": 7,
        },
    )
    assert created.status_code == 201, created.text
    call: dict[str, Any] = created.json()
    published = await client.post(f"{api}/calls/{call['id']}/publish", headers=manager)
    assert published.status_code == 200, published.text
    return call


async def assign_manager(
    client: httpx.AsyncClient, api: str, admin: dict[str, str], user_id: str
) -> None:
    async def assigned() -> bool:
        response = await client.put(f"{api}/programs/{ZDYF}/managers/{user_id}", headers=admin)
        return response.status_code in (200, 201, 204)

    await wait_until(assigned)  # once projects has heard of the user from the gateway


async def endorse_and_pass(
    client: httpx.AsyncClient,
    api: str,
    application_id: str,
    org_admin: dict[str, str],
    manager: dict[str, str],
) -> None:
    """The organization endorses (the formal check runs), then the manager passes the check."""
    endorsed = await client.post(
        f"{api}/applications/{application_id}/endorsement",
        headers=org_admin,
        json={"decision": "endorse", "reason": "同意推荐"},
    )
    assert endorsed.status_code == 200, endorsed.text
    passed = await client.post(
        f"{api}/applications/{application_id}/formal-check/decision",
        headers=manager,
        json={"decision": "pass", "reason": "形式审查合格"},
    )
    assert passed.status_code == 200, passed.text


async def submitted_application(
    client: httpx.AsyncClient,
    api: str,
    pi: dict[str, str],
    call: dict[str, Any],
    pi_id: str,
    subject: str = SUBJECT,
) -> tuple[str, str]:
    """The submitted application's id and its feasibility report's."""
    draft = await client.post(
        f"{api}/applications",
        headers=pi,
        json={"call_id": call["id"], "content": application_content(pi_id, [], subject)},
    )
    assert draft.status_code == 201, draft.text
    application_id: str = draft.json()["id"]
    uploaded = await client.post(
        f"{api}/applications/{application_id}/attachments",
        headers=pi,
        data={"kind": "feasibility_report"},
        files={"file": ("报告.pdf", PDF, "application/pdf")},
    )
    attachments = [{"id": uploaded.json()["id"], "kind": "feasibility_report"}]
    saved = await client.put(
        f"{api}/applications/{application_id}",
        headers=pi,
        json={"base_version": 1, "content": application_content(pi_id, attachments, subject)},
    )
    assert saved.status_code == 200, saved.text
    submitted = await client.post(f"{api}/applications/{application_id}/submit", headers=pi)
    assert submitted.status_code == 200, submitted.text
    return application_id, attachments[0]["id"]
