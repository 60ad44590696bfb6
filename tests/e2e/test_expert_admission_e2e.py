"""A researcher applies to join the expert pool through the gateway; a program manager approves;
once the gateway has heard projects' `expert.admitted`, the researcher's next token carries the
expert role and the expert's own routes answer. Real processes, the shared stack."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import RunningStack, wait_until
from tests.e2e.helpers import admin_token, create_user, e2e_client
from tests.e2e.projects_steps import login_as

pytestmark = pytest.mark.e2e


async def test_an_approved_researcher_becomes_an_expert(stack: RunningStack) -> None:
    api = f"{stack.url}/api/projects/v1"
    suffix = uuid.uuid4().hex[:8]
    async with e2e_client() as client:
        admin = await admin_token(client, stack)
        researcher = await create_user(client, stack, admin, f"researcher.{suffix}", ["applicant"])
        await create_user(client, stack, admin, f"manager.{suffix}", ["program_manager"])
        person = await login_as(client, stack, f"researcher.{suffix}")
        manager = await login_as(client, stack, f"manager.{suffix}")

        applied = await client.post(
            f"{api}/expert-applications",
            headers=person,
            json={
                "title": "副研究员",
                "region": "甘肃",
                "primary_subjects": ["210.20"],
                "keywords": ["盐碱地"],
                "statement": "从事盐碱地改良研究八年，参加过市级项目评审。",
            },
        )
        assert applied.status_code == 201, applied.text
        application_id = applied.json()["id"]
        refused = await client.get(f"{api}/me/assignments", headers=person)
        assert refused.status_code == 403

        pending = await client.get(
            f"{api}/expert-applications", headers=manager, params={"status": "pending"}
        )
        assert application_id in [a["id"] for a in pending.json()["items"]]

        async def in_directory() -> bool:
            me = await client.get(f"{api}/me", headers=person)
            return bool(me.json()["in_directory"])

        # Projects' copy of the directory hears of new people from the gateway's feed.
        await wait_until(in_directory)
        approved = await client.post(
            f"{api}/expert-applications/{application_id}/decision",
            headers=manager,
            json={"decision": "approve", "reason": "研究方向与评审需求相符"},
        )
        assert approved.status_code == 200, approved.text
        assert approved.json()["state"] == "approved"

        async def role_granted() -> bool:
            token = await login_as(client, stack, f"researcher.{suffix}")
            me = await client.get(f"{stack.url}/v1/me", headers=token)
            person.update(token)
            return "expert" in me.json()["roles"]

        await wait_until(role_granted)
        assignments = await client.get(f"{api}/me/assignments", headers=person)
        assert assignments.status_code == 200, assignments.text
        assert assignments.json()["items"] == []
        entry = await client.get(f"{api}/experts/me", headers=person)
        assert entry.status_code == 200, entry.text
        assert entry.json()["user_id"] == researcher["id"]
