"""Outputs and 科技报告 through the gateway, with the services as real processes: outputs
registered by the team and verified by the organization, held against the task book at
acceptance, and a report's abstract public only once its embargo is over.

A contracted project needs the notice period behind it, so the test runs on the story's stack
(its own database and a clock it moves), not the shared one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.clock import in_shanghai
from tests.e2e.helpers import e2e_client
from tests.e2e.story_steps import PDF, Story
from tests.e2e.test_story_e2e import StoryStack, running_story_stack

pytestmark = pytest.mark.e2e

ZDYF = "0193a5c0-0000-7000-8000-000000000002"  # 重点研发计划 (seeded)
BUDGET = 80_000_000
ABSTRACT = "本报告总结了盐碱地生物改良与工程措施的研究结果，以及在张掖示范区的推广成效。"


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
            "indicators": [
                {"name": "发表论文", "target": 2, "unit": "篇"},
                {"name": "成果转化合同", "target": 1, "unit": "项"},
            ],
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
        project_id = await contracted_project(story)
        outputs = f"/projects/{project_id}/outputs"
        today = in_shanghai(story.now()).date()

        # The team registers; the organization verifies; another organization cannot.
        papers = [
            await story.ok(
                "POST",
                "projects",
                outputs,
                who,
                json={
                    "kind": "paper",
                    "title": f"盐碱地改良研究（{n}）",
                    "achieved_on": today.isoformat(),
                    "doi": f"10.1016/j.geoderma.2026.{n:06d}",
                    "journal": "Geoderma",
                    "indicator": "发表论文",
                },
            )
            for n, who in ((1, "pi.out"), (2, "member.out"))
        ]
        deal = await story.ok(
            "POST",
            "projects",
            outputs,
            "pi.out",
            json={
                "kind": "transfer",
                "title": "盐碱地改良剂技术许可",
                "achieved_on": today.isoformat(),
                "contract_number": "GS-JS-2026-0042",
                "licensee": "甘肃绿源农业科技有限公司",
                "amount_fen": 120_000_000,
                "mode": "license",
                "indicator": "成果转化合同",
            },
        )
        verification = {"decision": "verify"}
        foreign = await story.call(
            "POST",
            "projects",
            f"{outputs}/{papers[0]['id']}/verification",
            "oa2.out",
            json=verification,
        )
        assert foreign.status_code == 404, foreign.text
        by_manager = await story.call(
            "POST",
            "projects",
            f"{outputs}/{papers[0]['id']}/verification",
            "pm.out",
            json=verification,
        )
        assert by_manager.status_code == 403, by_manager.text
        for output in (*papers, deal):
            done = await story.ok(
                "POST",
                "projects",
                f"{outputs}/{output['id']}/verification",
                "oa.out",
                json=verification,
            )
            assert done["status"] == "verified"

        # At acceptance: each promised indicator next to the verified outputs.
        final = await story.ok(
            "POST",
            "projects",
            f"/projects/{project_id}/reports",
            "pi.out",
            json={
                "kind": "final",
                "content": {
                    "summary": "完成全部研究任务。",
                    "indicators": [
                        {"name": "发表论文", "achieved": 2},
                        {"name": "成果转化合同", "achieved": 1},
                    ],
                },
            },
        )
        view = await story.ok("GET", "projects", f"/projects/{project_id}/indicators", "pm.out")
        assert [(i["name"], i["target"], i["verified"], i["met"]) for i in view["indicators"]] == [
            ("发表论文", 2, 2, True),
            ("成果转化合同", 1, 1, True),
        ]
        accepted = await story.ok(
            "POST",
            "projects",
            f"/projects/{project_id}/reports/{final['id']}/review",
            "pm.out",
            json={"decision": "passed", "comment": "考核指标全部完成，经核实的成果与任务书一致"},
        )
        assert accepted["status"] == "passed"
        closed = await story.ok("GET", "projects", f"/projects/{project_id}/indicators", "oa.out")
        assert closed["project_status"] == "accepted"
        assert closed["as_of"] is not None

        # The final 科技报告, embargoed ten days: the abstract is public from that day on, the
        # document never is.
        embargo_ends = today + timedelta(days=10)
        described = await story.ok(
            "POST",
            "projects",
            f"/projects/{project_id}/tech-reports",
            "pi.out",
            json={
                "kind": "final",
                "title": "河西走廊盐碱地改良关键技术研究最终科技报告",
                "abstract": ABSTRACT,
                "embargo_until": embargo_ends.isoformat(),
            },
        )
        document = f"/projects/{project_id}/tech-reports/{described['id']}/document"
        deposited = await story.call(
            "PUT",
            "projects",
            document,
            "pi.out",
            files={"file": ("最终科技报告.pdf", PDF, "application/pdf")},
        )
        assert deposited.status_code == 200, deposited.text
        assert deposited.json()["sha256"] == hashlib.sha256(PDF).hexdigest()
        public = f"/public/tech-reports/{described['id']}"
        assert (await story.call("GET", "projects", public, None)).status_code == 404
        story.advance(days=9)  # the day before the embargo ends
        assert (await story.call("GET", "projects", public, None)).status_code == 404
        story.advance(days=1)
        opened = await story.call("GET", "projects", public, None)
        assert opened.status_code == 200, opened.text
        assert opened.json()["abstract"] == ABSTRACT
        assert opened.json()["public_from"] == embargo_ends.isoformat()
        listed = await story.ok("GET", "projects", "/public/tech-reports", None)
        assert [r["id"] for r in listed["items"]] == [described["id"]]
        assert (await story.call("GET", "projects", document, None)).status_code == 401
        assert (await story.call("GET", "projects", document, "oa2.out")).status_code == 404
        got = await story.call("GET", "projects", document, "pm.out")
        assert got.status_code == 200
        assert hashlib.sha256(got.content).hexdigest() == deposited.json()["sha256"]

        # The public aggregate of the year counts the verified outputs.
        stats = await story.ok(
            "GET", "projects", "/public/output-statistics", None, params={"year": today.year}
        )
        [year] = stats["years"]
        assert year["outputs"]["paper"] == 2
        assert year["transfers"] == {"count": 1, "amount_fen": 120_000_000}
