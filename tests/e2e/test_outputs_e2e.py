"""Outputs and 科技报告 through the gateway, with the services as real processes: outputs
registered by the team and verified by the organization, held against the task book at
acceptance, and a report's abstract public only once its embargo is over.

A contracted project needs the notice period behind it, so the test runs on the story's stack
(its own database and a clock it moves), not the shared one.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.clock import in_shanghai
from tests.e2e.helpers import e2e_client
from tests.e2e.outputs_steps import (
    PROMISED,
    TRANSFER_FEN,
    ProjectPeople,
    accepted_against_outputs,
    outputs_verified,
    report_public_after_embargo,
)
from tests.e2e.story_steps import PDF, Story
from tests.e2e.test_story_e2e import StoryStack, running_story_stack

pytestmark = pytest.mark.e2e

ZDYF = "0193a5c0-0000-7000-8000-000000000002"  # 重点研发计划 (seeded)
BUDGET = 80_000_000


@pytest.fixture
def outputs_stack(postgres_server_url: str, tmp_path: Path) -> Iterator[StoryStack]:
    with running_story_stack(postgres_server_url, tmp_path) as stack:
        yield stack


async def cast(story: Story) -> None:
    await story.admin()
    await story.organization("lzu", "兰州大学", "university", 701)
    await story.organization("gsaas", "甘肃省农业科学院", "research_institute", 702)
    people = [
        ("pm.out", "李明", ["program_manager"], None),
        ("pi.out", "王芳", ["applicant"], "lzu"),
        ("member.out", "陈静", ["applicant"], "lzu"),
        ("oa.out", "张伟", ["org_admin"], "lzu"),
        ("oa2.out", "孙丽", ["org_admin"], "gsaas"),
    ]
    for username, name, roles, org in people:
        await story.person(username, name, roles, org)
    for username, *_ in people:
        await story.known_everywhere(username)
    await story.ok(
        "PUT", "projects", f"/programs/{ZDYF}/envelopes/2026", "admin", json={"amount_fen": 10**10}
    )
    await story.ok("PUT", "projects", f"/programs/{ZDYF}/managers/{story.ids['pm.out']}", "admin")


async def contracted_project(story: Story) -> str:
    """王芳's application (陈静 on the team) through the call, decision, notice and task book."""
    now = story.now()
    call = await story.ok(
        "POST",
        "projects",
        "/calls",
        "pm.out",
        json={
            "program_id": ZDYF,
            "year": 2026,
            "title": "2026年度重点研发计划（成果）",
            "guideline": "支持盐碱地治理方向。",
            "opens_at": (now - timedelta(minutes=1)).isoformat(),
            "closes_at": (now + timedelta(hours=2)).isoformat(),
            "required_attachments": ["feasibility_report"],
            "review_template": {
                "criteria": [
                    {"code": "innovation", "name": "创新性", "weight": 60, "min": 0, "max": 100},
                    {"code": "feasibility", "name": "可行性", "weight": 40, "min": 0, "max": 100},
                ]
            },
            "budget_min_fen": 10_000_000,
            "budget_max_fen": 200_000_000,
            "experts_per_application": 3,
            "notice_days": 7,
        },
    )
    await story.ok("POST", "projects", f"/calls/{call['id']}/publish", "pm.out")

    def content(attachments: list[dict[str, str]]) -> dict[str, Any]:
        return {
            "title": "河西走廊盐碱地改良关键技术研究",
            "abstract": "研究盐碱地改良的生物与工程措施，并在张掖开展示范。",
            "keywords": ["盐碱地"],
            "subject_codes": ["210.2010"],
            "team": [
                {"user_id": story.ids["pi.out"], "role": "负责人", "share": 70},
                {"user_id": story.ids["member.out"], "role": "成员", "share": 30},
            ],
            "budget": {
                "equipment": 10_000_000,
                "business": 40_000_000,
                "labour": 20_000_000,
                "indirect": 10_000_000,
            },
            "milestones": [{"name": "完成试验区建设", "due": "2027-12-31"}],
            "indicators": PROMISED,
            "attachments": attachments,
        }

    draft = await story.ok(
        "POST",
        "projects",
        "/applications",
        "pi.out",
        json={"call_id": call["id"], "content": content([])},
    )
    path = f"/applications/{draft['id']}"
    uploaded = await story.call(
        "POST",
        "projects",
        f"{path}/attachments",
        "pi.out",
        data={"kind": "feasibility_report"},
        files={"file": ("可行性报告.pdf", PDF, "application/pdf")},
    )
    assert uploaded.status_code == 201, uploaded.text
    attachments = [{"id": uploaded.json()["id"], "kind": "feasibility_report"}]
    await story.ok(
        "PUT", "projects", path, "pi.out", json={"base_version": 1, "content": content(attachments)}
    )
    await story.ok("POST", "projects", f"{path}/submit", "pi.out")
    await story.ok(
        "POST",
        "projects",
        f"{path}/endorsement",
        "oa.out",
        json={"decision": "endorse", "reason": "同意推荐"},
    )
    await story.ok(
        "POST",
        "projects",
        f"{path}/formal-check/decision",
        "pm.out",
        json={"decision": "pass", "reason": "形式审查合格"},
    )
    story.advance(hours=3)  # the call closed
    decided = await story.ok(
        "POST",
        "projects",
        f"/calls/{call['id']}/decisions",
        "pm.out",
        json={
            "decisions": [
                {
                    "application_id": draft["id"],
                    "decision": "approve",
                    "approved_budget_fen": BUDGET,
                    "reason": "综合评审排名靠前",
                }
            ]
        },
    )
    project_id: str = decided["decisions"][0]["project_id"]
    story.advance(days=8)  # the public notice ran out
    await story.ok(
        "PUT",
        "projects",
        f"/projects/{project_id}/task-book",
        "pm.out",
        json={
            "budget": {
                "equipment": BUDGET // 5,
                "business": BUDGET // 2,
                "labour": BUDGET // 5,
                "indirect": BUDGET // 10,
            },
            "tranches": [{"name": "首笔拨款", "amount_fen": BUDGET, "on": "signing"}],
            "starts_on": "2026-05-01",
            "ends_on": "2028-12-31",
        },
    )
    await story.ok("POST", "projects", f"/projects/{project_id}/task-book/sign", "oa.out")
    signed = await story.ok("POST", "projects", f"/projects/{project_id}/task-book/sign", "pm.out")
    assert signed["status"] == "in_progress"
    assert [i["name"] for i in signed["task_book"]["indicators"]] == ["发表论文", "成果转化合同"]
    return project_id


async def test_outputs_verified_compared_at_acceptance_and_a_report_public_after_its_embargo(
    outputs_stack: StoryStack,
) -> None:
    async with e2e_client() as client:
        story = Story(
            client=client, running=outputs_stack.running, clock_file=outputs_stack.clock_file
        )
        await cast(story)
        people = ProjectPeople(
            project_id=await contracted_project(story),
            pi="pi.out",
            member="member.out",
            org_admin="oa.out",
            other_org_admin="oa2.out",
            manager="pm.out",
        )
        await outputs_verified(story, people)
        await accepted_against_outputs(story, people)
        await report_public_after_embargo(story, people)

        # The public aggregate of the year counts the verified outputs (this stack's only).
        stats = await story.ok(
            "GET",
            "projects",
            "/public/output-statistics",
            None,
            params={"year": in_shanghai(story.now()).year},
        )
        [year] = stats["years"]
        assert year["outputs"]["paper"] == 2
        assert year["transfers"] == {"count": 1, "amount_fen": TRANSFER_FEN}
