"""Issued documents behind the gateway, as processes: a project's task book, signed by both
parties, issued as PDF by its manager, downloaded by the PI, and checked by anyone without a
login through the public route, by upload and by hash."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta

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

ATTACHMENT = b"%PDF-1.7\n" + b"2" * 2_000
BUDGET = 64_000_000


async def test_a_task_book_pdf_downloaded_by_the_pi_is_verified_by_its_hash(
    stack: RunningStack,
) -> None:
    body = "91620100MA7N0PXT4"
    api = f"{stack.url}/api/projects/v1"
    async with e2e_client() as client:
        admin = await admin_token(client, stack)
        admin_h = bearer(admin)
        org = await create_org(client, stack, admin, "兰州文理学院", body + check_character(body))
        pm = await create_user(client, stack, admin, "pm.documents", ["program_manager"])
        applicant = await create_user(
            client, stack, admin, "pi.documents", ["applicant"], org_id=org["id"]
        )
        await create_user(client, stack, admin, "oa.documents", ["org_admin"], org_id=org["id"])
        envelope = await client.put(
            f"{api}/programs/{ZDYF}/envelopes/2026",
            headers=admin_h,
            json={"amount_fen": 50_000_000_000},
        )
        assert envelope.status_code == 200, envelope.text
        await assign_manager(client, api, admin_h, pm["id"])
        manager = await login_as(client, stack, "pm.documents")
        pi = await login_as(client, stack, "pi.documents")
        org_admin = await login_as(client, stack, "oa.documents")

        async def pi_known() -> bool:
            me = await client.get(f"{api}/me", headers=pi)
            return bool(me.status_code == 200 and me.json()["in_directory"])

        await wait_until(pi_known)
        call = await published_call(
            client, api, manager, timedelta(seconds=15), title="2026年度重点研发计划（文件签发）"
        )
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
            files={"file": ("可行性报告.pdf", ATTACHMENT, "application/pdf")},
        )
        assert uploaded.status_code == 201, uploaded.text
        attachments = [{"id": uploaded.json()["id"], "kind": "feasibility_report"}]
        saved = await client.put(
            f"{api}/applications/{application_id}",
            headers=pi,
            json={"base_version": 1, "content": application_content(applicant["id"], attachments)},
        )
        assert saved.status_code == 200, saved.text
        submitted = await client.post(f"{api}/applications/{application_id}/submit", headers=pi)
        assert submitted.status_code == 200, submitted.text
        closes_at = datetime.fromisoformat(call["closes_at"])
        await asyncio.sleep(max(0.0, (closes_at - datetime.now(UTC)).total_seconds() + 0.5))
        await endorse_and_pass(client, api, application_id, org_admin, manager)
        decided = await client.post(
            f"{api}/calls/{call['id']}/decisions",
            headers=manager,
            json={
                "decisions": [
                    {
                        "application_id": application_id,
                        "decision": "approve",
                        "approved_budget_fen": BUDGET,
                        "reason": "综合评审排名靠前",
                    }
                ]
            },
        )
        assert decided.status_code == 200, decided.text
        project_id = decided.json()["decisions"][0]["project_id"]
        # The seven days of public notice, gone by (the shared stack's clock is the real one).
        await scalar(
            stack,
            "UPDATE projects.projects SET notice_starts_at = now() - interval '8 days', "
            "notice_ends_at = now() - interval '1 day' WHERE id = $1",
            project_id,
        )

        book = {
            "budget": {
                "equipment": BUDGET // 5,
                "business": BUDGET // 2,
                "labour": BUDGET // 5,
                "indirect": BUDGET // 10,
            },
            "tranches": [
                {"name": "首笔拨款", "amount_fen": BUDGET // 2, "on": "signing"},
                {"name": "验收后拨款", "amount_fen": BUDGET // 2, "on": "acceptance"},
            ],
            "starts_on": "2026-06-01",
            "ends_on": "2028-12-31",
        }
        project = f"{api}/projects/{project_id}"
        drafted = await client.put(f"{project}/task-book", headers=manager, json=book)
        assert drafted.status_code == 200, drafted.text
        not_yet = await client.post(
            f"{project}/documents", headers=manager, json={"kind": "task_book"}
        )
        assert not_yet.status_code == 409, not_yet.text  # unsigned: nothing to issue yet
        for signer in (org_admin, manager):
            signed = await client.post(f"{project}/task-book/sign", headers=signer)
            assert signed.status_code == 200, signed.text
        assert signed.json()["status"] == "in_progress"

        issued = await client.post(
            f"{project}/documents", headers=manager, json={"kind": "task_book"}
        )
        assert issued.status_code == 201, issued.text
        document = issued.json()
        assert document["number"].startswith("RWS-2026-")

        # The PI downloads it through the gateway.
        listed = await client.get(f"{project}/documents", headers=pi)
        assert [d["id"] for d in listed.json()["items"]] == [document["id"]]
        pdf = await client.get(f"{api}/documents/{document['id']}/pdf", headers=pi)
        assert pdf.status_code == 200, pdf.text
        assert pdf.headers["content-type"] == "application/pdf"
        assert hashlib.sha256(pdf.content).hexdigest() == document["sha256"]
        stranger = await client.get(f"{api}/documents/{document['id']}/pdf")
        assert stranger.status_code == 401

        # Anyone checks the copy without a login: by its hash, and by sending the file.
        by_hash = await client.get(
            f"{api}/public/documents/verification",
            params={"sha256": hashlib.sha256(pdf.content).hexdigest()},
        )
        assert by_hash.status_code == 200, by_hash.text
        answer = by_hash.json()
        assert (answer["issued"], answer["number"], answer["kind"], answer["current"]) == (
            True,
            document["number"],
            "task_book",
            True,
        )
        assert "project_id" not in answer
        assert "title" not in answer
        by_upload = await client.post(
            f"{api}/public/documents/verification",
            content=pdf.content,
            headers={"Content-Type": "application/pdf"},
        )
        assert by_upload.status_code == 200, by_upload.text
        assert by_upload.json() == answer
        forged = pdf.content.replace(b"SciPlan", b"SciPlam", 1)
        refused = await client.post(
            f"{api}/public/documents/verification",
            content=forged,
            headers={"Content-Type": "application/pdf"},
        )
        assert refused.status_code == 200, refused.text
        assert refused.json()["issued"] is False
