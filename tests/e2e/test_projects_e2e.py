"""Projects behind the gateway, as processes: a call opened by its manager, an application
drafted, uploaded to, submitted and endorsed, and a formal check that asks the credit service
over HTTP with the projects service's own account."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.credit_code import check_character
from tests.conftest import RunningStack, bearer, wait_until
from tests.e2e.helpers import admin_token, create_org, create_user, e2e_client, scalar

pytestmark = pytest.mark.e2e

ZDYF = "0193a5c0-0000-7000-8000-000000000002"  # 重点研发计划, seeded by migration
PDF = b"%PDF-1.7\n" + b"0" * 100_000  # bigger than the stack's 64 KiB limit on other bodies


async def _login(client: httpx.AsyncClient, stack: RunningStack, username: str) -> dict[str, str]:
    response = await client.post(
        f"{stack.url}/auth/token", data={"username": username, "password": "e2e-user-password"}
    )
    assert response.status_code == 200, response.text
    return bearer(response.json()["access_token"])


def _content(applicant_id: str, attachments: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "title": "河西走廊盐碱地改良关键技术研究",
        "abstract": "研究盐碱地改良的生物与工程措施，并在张掖开展示范。",
        "keywords": ["盐碱地", "土壤改良"],
        "subject_codes": ["210.2010"],
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


async def test_a_call_and_an_application_through_the_gateway(stack: RunningStack) -> None:
    body = "91620100MA7N0PXP1"
    code = body + check_character(body)
    api = f"{stack.url}/api/projects/v1"
    async with e2e_client() as client:
        admin = await admin_token(client, stack)
        org = await create_org(client, stack, admin, "兰州理工大学", code)
        pm = await create_user(client, stack, admin, "pm.projects", ["program_manager"])
        applicant = await create_user(
            client, stack, admin, "pi.projects", ["applicant"], org_id=org["id"]
        )
        await create_user(client, stack, admin, "oa.projects", ["org_admin"], org_id=org["id"])
        admin_h = bearer(admin)

        # The admin makes pm a manager of 重点研发计划 once projects has heard of pm.
        async def assigned() -> bool:
            response = await client.put(
                f"{api}/programs/{ZDYF}/managers/{pm['id']}", headers=admin_h
            )
            return response.status_code in (200, 201, 204)

        await wait_until(assigned)
        manager = await _login(client, stack, "pm.projects")
        now = datetime.now(UTC)
        created = await client.post(
            f"{api}/calls",
            headers=manager,
            json={
                "program_id": ZDYF,
                "year": 2026,
                "title": "2026年度重点研发计划（农业领域）",
                "guideline": "支持盐碱地治理、节水农业等方向。",
                "opens_at": (now - timedelta(minutes=1)).isoformat(),
                "closes_at": (now + timedelta(hours=2)).isoformat(),
                "budget_min_fen": 10_000_000,
                "budget_max_fen": 200_000_000,
                "required_attachments": ["feasibility_report"],
                "review_template": {
                    "criteria": [
                        {
                            "code": "innovation",
                            "name": "创新性",
                            "weight": 60,
                            "min": 0,
                            "max": 100,
                        },
                        {
                            "code": "feasibility",
                            "name": "可行性",
                            "weight": 40,
                            "min": 0,
                            "max": 100,
                        },
                    ]
                },
                "experts_per_application": 3,
                "notice_days": 7,
            },
        )
        assert created.status_code == 201, created.text
        call = created.json()
        published = await client.post(f"{api}/calls/{call['id']}/publish", headers=manager)
        assert published.status_code == 200, published.text

        # Open calls are public: no token, through the gateway.
        listed = await client.get(f"{api}/calls", params={"status": "open"})
        assert listed.status_code == 200, listed.text
        assert call["id"] in [item["id"] for item in listed.json()["items"]]

        pi = await _login(client, stack, "pi.projects")

        async def drafted() -> httpx.Response | None:
            response = await client.post(
                f"{api}/applications",
                headers=pi,
                json={"call_id": call["id"], "content": _content(applicant["id"], [])},
            )
            return response if response.status_code == 201 else None

        draft: httpx.Response | None = None

        async def draft_made() -> bool:
            nonlocal draft
            draft = await drafted()  # the applicant reaches projects' directory by an event
            return draft is not None

        await wait_until(draft_made)
        assert draft is not None
        application = draft.json()

        # An upload larger than the gateway's limit for other bodies passes as a file.
        uploaded = await client.post(
            f"{api}/applications/{application['id']}/attachments",
            headers=pi,
            data={"kind": "feasibility_report"},
            files={"file": ("可行性报告.pdf", PDF, "application/pdf")},
        )
        assert uploaded.status_code == 201, uploaded.text
        attachment = uploaded.json()
        saved = await client.put(
            f"{api}/applications/{application['id']}",
            headers=pi,
            json={
                "base_version": 1,
                "content": _content(
                    applicant["id"], [{"id": attachment["id"], "kind": "feasibility_report"}]
                ),
            },
        )
        assert saved.status_code == 200, saved.text
        assert saved.json()["version"] == 2

        first = await client.post(f"{api}/applications/{application['id']}/submit", headers=pi)
        again = await client.post(f"{api}/applications/{application['id']}/submit", headers=pi)
        assert first.status_code == again.status_code == 200, first.text
        assert first.json()["submitted_at"] == again.json()["submitted_at"]
        submits = await scalar(
            stack,
            "SELECT count(*) FROM projects.history WHERE application_id = $1 AND action = 'submit'",
            application["id"],
        )
        assert submits == 1

        org_admin = await _login(client, stack, "oa.projects")
        endorsed = await client.post(
            f"{api}/applications/{application['id']}/endorsement",
            headers=org_admin,
            json={"decision": "endorse", "reason": "情况属实，同意推荐"},
        )
        assert endorsed.status_code == 200, endorsed.text

        # The formal check asked credit over HTTP (projects' service account, as of submission).
        check = await client.get(
            f"{api}/applications/{application['id']}/formal-check", headers=manager
        )
        assert check.status_code == 200, check.text
        rules = {r["rule"]: r for r in check.json()["results"]}
        assert rules["credit.eligible"]["passed"] is True, rules["credit.eligible"]
        assert all(r["passed"] for r in rules.values()), rules

        passed = await client.post(
            f"{api}/applications/{application['id']}/formal-check/decision",
            headers=manager,
            json={"decision": "pass", "reason": "形式审查合格"},
        )
        assert passed.status_code == 200, passed.text
        assert passed.json()["status"] == "in_review"

        # Someone else's application does not exist for a stranger.
        await create_user(client, stack, admin, "other.projects", ["applicant"])
        other = await _login(client, stack, "other.projects")
        hidden = await client.get(f"{api}/applications/{application['id']}", headers=other)
        assert hidden.status_code == 404
