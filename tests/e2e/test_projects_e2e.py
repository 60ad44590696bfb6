"""Projects behind the gateway, as processes: a call opened by its manager, an application
drafted, uploaded to, submitted and endorsed, and a formal check that asks the credit service
over HTTP with the projects service's own account."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.credit_code import check_character
from tests.conftest import RunningStack, bearer, wait_until
from tests.e2e.helpers import admin_token, create_org, create_user, e2e_client, scalar
from tests.e2e.projects_steps import (
    ZDYF,
    application_content,
    assign_manager,
    endorse_and_pass,
    login_as,
    published_call,
)

pytestmark = pytest.mark.e2e

PDF = b"%PDF-1.7\n" + b"0" * 100_000  # bigger than the stack's 64 KiB limit on other bodies


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

        await assign_manager(client, api, admin_h, pm["id"])
        manager = await login_as(client, stack, "pm.projects")
        call = await published_call(client, api, manager, timedelta(hours=2))
        # Open calls are public: no token, through the gateway.
        listed = await client.get(f"{api}/calls", params={"status": "open"})
        assert listed.status_code == 200, listed.text
        assert call["id"] in [item["id"] for item in listed.json()["items"]]

        pi = await login_as(client, stack, "pi.projects")

        async def drafted() -> httpx.Response | None:
            response = await client.post(
                f"{api}/applications",
                headers=pi,
                json={"call_id": call["id"], "content": application_content(applicant["id"], [])},
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
                "content": application_content(
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

        org_admin = await login_as(client, stack, "oa.projects")
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
        other = await login_as(client, stack, "other.projects")
        hidden = await client.get(f"{api}/applications/{application['id']}", headers=other)
        assert hidden.status_code == 404


async def test_a_project_terminated_for_misconduct_becomes_a_credit_record_proposal(
    stack: RunningStack,
) -> None:
    """Decision after the close, termination, and credit reading projects' event feed."""
    body = "91620100MA7N0PXR2"
    code = body + check_character(body)
    api = f"{stack.url}/api/projects/v1"
    async with e2e_client() as client:
        admin = await admin_token(client, stack)
        admin_h = bearer(admin)
        org = await create_org(client, stack, admin, "兰州交通大学", code)
        pm = await create_user(client, stack, admin, "pm2.projects", ["program_manager"])
        applicant = await create_user(
            client, stack, admin, "pi2.projects", ["applicant"], org_id=org["id"]
        )
        await create_user(client, stack, admin, "oa2.projects", ["org_admin"], org_id=org["id"])
        envelope = await client.put(
            f"{api}/programs/{ZDYF}/envelopes/2026",
            headers=admin_h,
            json={"amount_fen": 50_000_000_000},
        )
        assert envelope.status_code == 200, envelope.text
        await assign_manager(client, api, admin_h, pm["id"])
        manager = await login_as(client, stack, "pm2.projects")
        pi = await login_as(client, stack, "pi2.projects")

        async def pi_known() -> bool:
            me = await client.get(f"{api}/me", headers=pi)
            return bool(me.status_code == 200 and me.json()["in_directory"])

        await wait_until(pi_known)
        call = await published_call(client, api, manager, timedelta(seconds=15))
        draft = await client.post(
            f"{api}/applications",
            headers=pi,
            json={"call_id": call["id"], "content": application_content(applicant["id"], [])},
        )
        assert draft.status_code == 201, draft.text
        application_id = draft.json()["id"]
        uploaded = await client.post(
            f"{api}/applications/{application_id}/attachments",
            headers=pi,
            data={"kind": "feasibility_report"},
            files={"file": ("可行性报告.pdf", PDF, "application/pdf")},
        )
        attachments = [{"id": uploaded.json()["id"], "kind": "feasibility_report"}]
        saved = await client.put(
            f"{api}/applications/{application_id}",
            headers=pi,
            json={"base_version": 1, "content": application_content(applicant["id"], attachments)},
        )
        assert saved.status_code == 200, saved.text
        submitted = await client.post(f"{api}/applications/{application_id}/submit", headers=pi)
        assert submitted.status_code == 200, submitted.text

        # Decisions wait for the close.
        closes_at = datetime.fromisoformat(call["closes_at"])
        await asyncio.sleep(max(0.0, (closes_at - datetime.now(UTC)).total_seconds() + 0.5))
        late = await client.post(f"{api}/applications/{application_id}/submit", headers=pi)
        assert late.status_code == 200  # a retried submit still answers with the first one

        org_admin = await login_as(client, stack, "oa2.projects")
        await endorse_and_pass(client, api, application_id, org_admin, manager)
        decided = await client.post(
            f"{api}/calls/{call['id']}/decisions",
            headers=manager,
            json={
                "decisions": [
                    {
                        "application_id": application_id,
                        "decision": "approve",
                        "approved_budget_fen": 60_000_000,
                        "reason": "综合评审排名靠前",
                    }
                ]
            },
        )
        assert decided.status_code == 200, decided.text
        project = decided.json()["decisions"][0]
        assert project["project_number"].startswith("2026-ZDYF-")

        public = await client.get(f"{api}/public/projects/{project['project_number']}")
        assert public.status_code == 200, public.text  # disclosed without a login

        terminated = await client.post(
            f"{api}/projects/{project['project_id']}/termination",
            headers=manager,
            json={
                "cause": "misconduct",
                "reason": "经查实申报材料中的实验数据系伪造",
                "rule_code": "FABRICATION",
            },
        )
        assert terminated.status_code == 200, terminated.text

        # Credit reads projects' feed with its own account and proposes a record, once.
        found: list[dict[str, Any]] = []

        async def proposed() -> bool:
            nonlocal found
            search = await client.get(
                f"{stack.url}/api/credit/v1/records",
                headers=manager,
                params={"purpose": "核查项目终止后的信用记录", "rule_code": "FABRICATION"},
            )
            assert search.status_code == 200, search.text
            found = [r for r in search.json()["items"] if project["project_number"] in r["facts"]]
            return bool(found)

        await wait_until(proposed)
        assert len(found) == 1
        record = found[0]
        assert record["status"] == "proposed"  # due process starts: nothing counts yet
        assert record["subject_name"] == "pi2.projects"
