"""An event a service cannot apply, between real processes: parked, shown to an admin through
the gateway and by `sciplan events dead-letters`, replayed by `sciplan events retry` once the
cause is fixed; the events after it on the feed go on meanwhile."""

from __future__ import annotations

import json
from uuid import uuid4

import pytest

from shared.ids import uuid7
from tests.conftest import RunningStack, bearer, org_code, wait_until
from tests.e2e.helpers import admin_token, create_user, e2e_client, scalar, sciplan

pytestmark = pytest.mark.e2e


async def test_a_parked_event_is_shown_and_replayed_once_its_cause_is_fixed(
    stack: RunningStack,
) -> None:
    rule = f"E2E_RULE_{uuid4().hex[:8].upper()}"
    project, event_id = str(uuid7()), uuid7()
    payload = {
        "project_id": project,
        "project_number": "2026-ZDYF-E2E1",
        "cause": "misconduct",
        "at_fault": True,
        "reason": "伪造实验数据",
        "managing_agency": "甘肃省科学技术厅",
        "pi": {"name": "赵磊", "gateway_user_id": str(uuid7())},
        "organization": {
            "name": "某大学",
            "gateway_org_id": str(uuid7()),
            "credit_code": org_code(int(uuid4().int % 10**9)),
        },
        "rule_code": rule,  # not in credit's catalog yet
    }
    # As projects would publish it (a manager may name any rule when terminating).
    await scalar(
        stack,
        "INSERT INTO projects.outbox (event_id, event_type, aggregate_type, aggregate_id, payload)"
        " VALUES ($1, 'project.terminated', 'project', $2, $3::jsonb)",
        event_id,
        project,
        json.dumps(payload),
    )
    dead_letters = f"{stack.url}/api/credit/internal/v1/dead-letters"
    async with e2e_client() as client:
        admin = await admin_token(client, stack)
        found: dict[str, str] = {}

        async def parked() -> bool:
            page = await client.get(dead_letters, headers=bearer(admin))
            assert page.status_code == 200, page.text
            mine = [i for i in page.json()["items"] if i["event_id"] == str(event_id)]
            found.update(mine[0] if mine else {})
            return bool(mine)

        await wait_until(parked, seconds=20)
        assert (found["status"], found["source"]) == ("failed", "projects")
        assert found["error"].startswith("rule.not_found")

        # Credit went on with the feed: a user created after it reaches credit's directory.
        later = await create_user(client, stack, admin, f"after.parked.{uuid4().hex[:6]}", [])

        async def known() -> bool:
            count = await scalar(
                stack, "SELECT count(*) FROM credit.directory_users WHERE id = $1", later["id"]
            )
            return bool(count)

        await wait_until(known, seconds=20)

        user = await create_user(client, stack, admin, f"dl.viewer.{uuid4().hex[:6]}", ["auditor"])
        login = await client.post(
            f"{stack.url}/auth/token",
            data={"username": user["username"], "password": "e2e-user-password"},
        )
        auditor = login.json()["access_token"]
        refused = await client.get(dead_letters, headers=bearer(auditor))
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")

        code, out, err = await sciplan(stack, "events", "dead-letters", "--service", "credit")
        assert code == 0, err
        [line] = [line for line in out.splitlines() if line.startswith(found["id"])]
        assert "project.terminated" in line
        assert "failed" in line

        waiting = await sciplan(stack, "events", "retry", found["id"], "--wait", "20")
        assert waiting[0] == 1, waiting  # the rule is still missing: it fails again
        assert "rule.not_found" in waiting[2]

        added = await client.post(
            f"{stack.url}/api/credit/v1/rules",
            json={
                "code": rule,
                "description_zh": "伪造实验数据",
                "description_en": "Fabricated experimental data",
                "applies_to": ["researcher"],
                "tier": "serious",
                "score_effect": -20,
                "validity_months": 36,
                "repairable": False,
                "legal_basis": "科研失信行为调查处理规则 第七条",
            },
            headers=bearer(admin),
        )
        assert added.status_code == 201, added.text

        code, out, err = await sciplan(stack, "events", "retry", found["id"], "--wait", "20")
        assert code == 0, (out, err)
        assert out.startswith("applied")
        records = await scalar(
            stack, "SELECT count(*) FROM credit.records WHERE source_event_id = $1", event_id
        )
        assert records == 1
        done = await client.get(f"{dead_letters}/{found['id']}", headers=bearer(admin))
        assert (done.json()["status"], done.json()["attempts"]) == ("applied", 2)
