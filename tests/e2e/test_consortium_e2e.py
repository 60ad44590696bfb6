"""A consortium application through the gateway, as the people concerned: a university leads,
an enterprise takes part; the enterprise's admin endorses its part (and cannot endorse the
lead's), the PI submits, the university endorses the whole, a manager employed by the
enterprise may not pass its formal check; the co-PI from the enterprise
reads the application but cannot change it, and an outsider's admin reads nothing."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunningStack
from tests.e2e.consortium_steps import part_endorsed, parts_set
from tests.e2e.helpers import e2e_client
from tests.e2e.story_steps import PDF, Story

pytestmark = pytest.mark.e2e

FUND = "CONX"  # a special fund of this test's own
BUDGET = {
    "equipment": 20_000_000,
    "business": 50_000_000,
    "labour": 20_000_000,
    "indirect": 10_000_000,
}


async def _cast(story: Story) -> None:
    await story.admin()
    await story.organization("con.univ", "兰州交通大学", "university", 931)
    await story.organization("con.firm", "兰州兰石重型装备股份有限公司", "enterprise", 932)
    await story.organization("con.other", "天水华天科技股份有限公司", "enterprise", 933)
    people = [
        ("con.pm", "韩管理", ["program_manager"], None),
        # a manager of the fund employed by the enterprise: not to check what it takes part in
        ("con.pm.firm", "冯管理", ["program_manager"], "con.firm"),
        ("con.pi", "杨申报", ["applicant"], "con.univ"),
        ("con.copi", "朱课题", ["applicant"], "con.firm"),  # leads the enterprise's part
        ("con.oa", "秦科研", ["org_admin"], "con.univ"),
        ("con.oa.firm", "许科研", ["org_admin"], "con.firm"),
        ("con.oa.other", "何科研", ["org_admin"], "con.other"),
    ]
    for username, name, roles, org in people:
        await story.person(username, name, roles, org)
    for username, *_ in people:
        await story.known_everywhere(username)


async def _open_call(story: Story) -> dict[str, Any]:
    fund = await story.ok(
        "POST",
        "projects",
        "/programs",
        "admin",
        json={
            "code": FUND,
            "name_zh": "产学研协同创新专项",
            "name_en": "Industry-University Collaboration Fund",
            "managing_agency": "甘肃省科学技术厅",
            "active_from_year": 2026,
            "eligibility": {
                "eligible_org_kinds": ["university"],
                "budget_min_fen": 10_000_000,
                "budget_max_fen": 200_000_000,
                "required_attachments": ["feasibility_report"],
                "experts_per_application": 2,
                "notice_days": 7,
                "max_active_projects_per_pi": 2,
                "min_credit_level": "C",
            },
        },
    )
    for manager in ("con.pm", "con.pm.firm"):
        await story.ok(
            "PUT", "projects", f"/programs/{fund['id']}/managers/{story.ids[manager]}", "admin"
        )
    now = story.now()
    call: dict[str, Any] = await story.ok(
        "POST",
        "projects",
        "/calls",
        "con.pm",
        json={
            "program_id": fund["id"],
            "year": 2026,
            "title": "2026年度产学研协同创新专项",
            "guideline": "支持高校与企业联合攻关重型装备关键技术。",
            "opens_at": (now - timedelta(minutes=1)).isoformat(),
            "closes_at": (now + timedelta(hours=2)).isoformat(),
            "review_template": {
                "criteria": [
                    {"code": "innovation", "name": "创新性", "weight": 100, "min": 0, "max": 100}
                ]
            },
        },
    )
    await story.ok("POST", "projects", f"/calls/{call['id']}/publish", "con.pm")
    return call


def _content(story: Story, attachments: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "title": "大型压力容器智能焊接关键技术",
        "abstract": "高校与企业联合研发大型压力容器智能焊接技术并在企业产线示范。",
        "keywords": ["智能焊接", "压力容器"],
        "subject_codes": ["460.1520"],
        "team": [
            {"user_id": story.ids["con.pi"], "role": "负责人", "share": 60},
            {"user_id": story.ids["con.copi"], "role": "课题负责人", "share": 40},
        ],
        "budget": BUDGET,
        "milestones": [{"name": "完成样机研制", "due": "2027-12-31"}],
        "indicators": [{"name": "示范产线", "target": 1, "unit": "条"}],
        "attachments": attachments,
    }


async def test_a_consortium_of_two_organizations_through_the_gateway(
    stack: RunningStack,
) -> None:
    async with e2e_client() as client:
        story = Story(client=client, running=stack, clock_file=Path(os.devnull))
        await _cast(story)
        call = await _open_call(story)
        draft = await story.ok(
            "POST",
            "projects",
            "/applications",
            "con.pi",
            json={"call_id": call["id"], "content": _content(story, [])},
        )
        path = f"/applications/{draft['id']}"
        uploaded = await story.call(
            "POST",
            "projects",
            f"{path}/attachments",
            "con.pi",
            data={"kind": "feasibility_report"},
            files={"file": ("可行性报告.pdf", PDF, "application/pdf")},
        )
        assert uploaded.status_code == 201, uploaded.text
        attachments = [{"id": uploaded.json()["id"], "kind": "feasibility_report"}]
        await story.ok(
            "PUT",
            "projects",
            path,
            "con.pi",
            json={"base_version": 1, "content": _content(story, attachments)},
        )
        univ, firm = story.orgs["con.univ"]["id"], story.orgs["con.firm"]["id"]
        await parts_set(
            story,
            draft["id"],
            "con.pi",
            [
                {"org_id": univ, "budget_fen": 55_000_000, "work": "焊接工艺与控制算法"},
                {
                    "org_id": firm,
                    "budget_fen": 45_000_000,
                    "work": "样机制造与产线示范",
                    "co_pi_ids": [story.ids["con.copi"]],
                },
            ],
        )

        # The enterprise's admin endorses its own part, never the lead's; an outsider sees
        # nothing.
        lead_part = await story.call(
            "POST",
            "projects",
            f"{path}/consortium/parts/{univ}/endorsement",
            "con.oa.firm",
            json={"decision": "endorse"},
        )
        assert (lead_part.status_code, lead_part.json()["code"]) == (
            403,
            "consortium.not_your_part",
        )
        outsider = await story.call(
            "POST",
            "projects",
            f"{path}/consortium/parts/{firm}/endorsement",
            "con.oa.other",
            json={"decision": "endorse"},
        )
        assert outsider.status_code == 404, outsider.text
        endorsed = await part_endorsed(
            story, draft["id"], firm, "con.oa.firm", "同意承担样机制造与示范"
        )
        assert endorsed["pending_org_ids"] == []

        # The PI submits; the lead university endorses the whole application.
        submitted = await story.ok("POST", "projects", f"{path}/submit", "con.pi")
        assert submitted["status"] == "submitted"
        whole = await story.ok(
            "POST", "projects", f"{path}/endorsement", "con.oa", json={"decision": "endorse"}
        )
        assert whole["status"] == "endorsed"

        # The formal check: not by a manager of the participating enterprise, by the other.
        check = f"{path}/formal-check/decision"
        decision = {"decision": "pass", "reason": "形式审查合格"}
        own = await story.call("POST", "projects", check, "con.pm.firm", json=decision)
        assert (own.status_code, own.json()["code"]) == (403, "duty.conflict")
        passed = await story.ok("POST", "projects", check, "con.pm", json=decision)
        assert (passed["status"], passed["formal_check"]["outcome"]) == ("in_review", "passed")

        # The co-PI from the enterprise reads the application, its consortium and documents,
        # and changes none of it.
        for sub in (path, f"{path}/consortium", f"{path}/versions", f"{path}/attachments"):
            reply = await story.call("GET", "projects", sub, "con.copi")
            assert reply.status_code == 200, (sub, reply.text)
        shown = await story.ok("GET", "projects", f"{path}/consortium", "con.copi")
        assert [p["endorsement"] for p in shown["parts"]] == [None, "endorsed"]
        listed = await story.ok("GET", "projects", "/applications", "con.copi")
        assert draft["id"] in {a["id"] for a in listed["items"]}
        edit = await story.call(
            "PUT",
            "projects",
            path,
            "con.copi",
            json={"base_version": 2, "content": _content(story, attachments)},
        )
        assert (edit.status_code, edit.json()["code"]) == (403, "application.not_drafter")
        assert (await story.call("GET", "projects", path, "con.oa.other")).status_code == 404
