"""Reports on schedule through the gateway, as processes: a task book's own schedule made at
signing, the clock moved past a due date, the report listed overdue for the program manager and
the PI told by notify, the PI's new application refused until the report is in, then accepted."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.clock import SHANGHAI
from shared.credit_code import check_character
from tests.conftest import RunningStack, bearer, wait_until
from tests.e2e.helpers import admin_token, create_org, create_user, e2e_client
from tests.e2e.projects_steps import (
    ZDYF,
    application_content,
    assign_manager,
    endorse_and_pass,
    login_as,
    published_call,
)

pytestmark = pytest.mark.e2e

PDF = b"%PDF-1.7\n" + b"2" * 2_000
BUDGET = 60_000_000


class Clock:
    """The shared stack's clock, moved forward by this test and put back when it ends."""

    def __init__(self, stack: RunningStack) -> None:
        assert stack.clock_file is not None
        self.file = stack.clock_file
        self.offset = timedelta()

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)
        self.file.write_text(str(self.offset.total_seconds()))

    def today(self) -> date:
        return (datetime.now(UTC) + self.offset).astimezone(SHANGHAI).date()

    def reset(self) -> None:
        self.file.write_text("0")


async def _submitted_draft(
    client: httpx.AsyncClient, api: str, pi: dict[str, str], call_id: str, pi_id: str
) -> str:
    """A complete application (its attachment uploaded), not submitted yet; its id."""
    draft = await client.post(
        f"{api}/applications",
        headers=pi,
        json={"call_id": call_id, "content": application_content(pi_id, [])},
    )
    assert draft.status_code == 201, draft.text
    application_id: str = draft.json()["id"]
    uploaded = await client.post(
        f"{api}/applications/{application_id}/attachments",
        headers=pi,
        data={"kind": "feasibility_report"},
        files={"file": ("可行性报告.pdf", PDF, "application/pdf")},
    )
    assert uploaded.status_code == 201, uploaded.text
    attachments = [{"id": uploaded.json()["id"], "kind": "feasibility_report"}]
    saved = await client.put(
        f"{api}/applications/{application_id}",
        headers=pi,
        json={"base_version": 1, "content": application_content(pi_id, attachments)},
    )
    assert saved.status_code == 200, saved.text
    return application_id


def _task_book(starts_on: date, y1_due: date) -> dict[str, Any]:
    return {
        "budget": {
            "equipment": BUDGET // 5,
            "business": BUDGET // 2,
            "labour": BUDGET // 5,
            "indirect": BUDGET // 10,
        },
        "tranches": [
            {"name": "首笔拨款", "amount_fen": BUDGET // 2, "on": "signing"},
            {"name": "中期拨款", "amount_fen": BUDGET * 3 // 8, "on": "midterm"},
            {"name": "验收后拨款", "amount_fen": BUDGET // 8, "on": "acceptance"},
        ],
        "starts_on": starts_on.isoformat(),
        "ends_on": (starts_on + timedelta(days=730)).isoformat(),
        "reports": [
            {"kind": "annual", "period": "Y1", "due_on": y1_due.isoformat()},
            {"kind": "final", "due_on": (starts_on + timedelta(days=820)).isoformat()},
        ],
    }


async def test_an_overdue_report_holds_up_the_pis_next_application(stack: RunningStack) -> None:
    body = "91620100MA7N0RPT3"
    code = body + check_character(body)
    api = f"{stack.url}/api/projects/v1"
    clock = Clock(stack)
    try:
        async with e2e_client() as client:
            admin = await admin_token(client, stack)
            admin_h = bearer(admin)
            org = await create_org(client, stack, admin, "兰州城市学院", code)
            pm = await create_user(client, stack, admin, "pm.reports", ["program_manager"])
            applicant = await create_user(
                client, stack, admin, "pi.reports", ["applicant"], org_id=org["id"]
            )
            await create_user(client, stack, admin, "oa.reports", ["org_admin"], org_id=org["id"])
            envelope = await client.put(
                f"{api}/programs/{ZDYF}/envelopes/2026",
                headers=admin_h,
                json={"amount_fen": 50_000_000_000},
            )
            assert envelope.status_code == 200, envelope.text
            await assign_manager(client, api, admin_h, pm["id"])
            manager = await login_as(client, stack, "pm.reports")
            pi = await login_as(client, stack, "pi.reports")
            org_admin = await login_as(client, stack, "oa.reports")

            async def pi_known() -> bool:
                me = await client.get(f"{api}/me", headers=pi)
                return bool(me.status_code == 200 and me.json()["in_directory"])

            await wait_until(pi_known)
            first_call = await published_call(
                client, api, manager, timedelta(hours=1), title="2026年度重点研发计划（报告一）"
            )
            next_call = await published_call(
                client, api, manager, timedelta(days=90), title="2026年度重点研发计划（报告二）"
            )

            # A project: applied for, decided after the close, past its notice, signed.
            application_id = await _submitted_draft(
                client, api, pi, first_call["id"], applicant["id"]
            )
            submitted = await client.post(f"{api}/applications/{application_id}/submit", headers=pi)
            assert submitted.status_code == 200, submitted.text
            clock.advance(hours=2)
            await endorse_and_pass(client, api, application_id, org_admin, manager)
            decided = await client.post(
                f"{api}/calls/{first_call['id']}/decisions",
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
            project = decided.json()["decisions"][0]
            project_path = f"{api}/projects/{project['project_id']}"
            clock.advance(days=8)  # the public notice (7 days) is over
            y1_due = clock.today() + timedelta(days=10)
            drafted = await client.put(
                f"{project_path}/task-book",
                headers=manager,
                json=_task_book(clock.today(), y1_due),
            )
            assert drafted.status_code == 200, drafted.text
            for signer in (org_admin, manager):
                signed = await client.post(f"{project_path}/task-book/sign", headers=signer)
                assert signed.status_code == 200, signed.text
            assert signed.json()["status"] == "in_progress"

            schedule = await client.get(f"{project_path}/report-schedule", headers=pi)
            assert schedule.status_code == 200, schedule.text
            assert schedule.json()["source"] == "task_book"
            first_due = schedule.json()["dues"][0]
            assert (first_due["kind"], first_due["due_on"], first_due["state"]) == (
                "annual",
                y1_due.isoformat(),
                "open",
            )

            # The due date passes with no report.
            clock.advance(days=12)
            overdue = await client.get(
                f"{api}/report-dues",
                headers=manager,
                params={"state": "overdue", "project_id": project["project_id"]},
            )
            assert overdue.status_code == 200, overdue.text
            [listed] = overdue.json()["items"]
            assert (listed["kind"], listed["period"], listed["project_number"]) == (
                "annual",
                "Y1",
                project["project_number"],
            )
            assert listed["days_overdue"] >= 1
            hidden = await client.get(f"{api}/report-dues", headers=pi, params={"state": "overdue"})
            assert hidden.status_code == 403

            async def told_overdue() -> bool:
                inbox = await client.get(f"{stack.url}/api/notify/v1/me/notifications", headers=pi)
                subjects = [n["subject"] for n in inbox.json()["items"]]
                return f"报告已逾期：{project['project_number']} 年度报告" in subjects

            await wait_until(told_overdue, seconds=30)

            # The PI's next application is refused, naming the report.
            next_id = await _submitted_draft(client, api, pi, next_call["id"], applicant["id"])
            refused = await client.post(f"{api}/applications/{next_id}/submit", headers=pi)
            assert refused.status_code == 409, refused.text
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert refused.json()["code"] == "application.reports_overdue"
            assert project["project_number"] in refused.json()["detail"]
            assert refused.json()["overdue_reports"][0]["kind"] == "annual"

            report = await client.post(
                f"{project_path}/reports",
                headers=pi,
                json={
                    "kind": "annual",
                    "period": "Y1",
                    "content": {"summary": "第一年度完成试验区建设，按计划推进。"},
                },
            )
            assert report.status_code == 201, report.text
            accepted = await client.post(f"{api}/applications/{next_id}/submit", headers=pi)
            assert accepted.status_code == 200, accepted.text
            assert accepted.json()["status"] == "submitted"
            schedule = await client.get(f"{project_path}/report-schedule", headers=manager)
            assert schedule.json()["dues"][0]["state"] == "submitted"
    finally:
        clock.reset()
