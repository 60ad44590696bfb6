"""The outputs and 科技报告 steps of the end-to-end tests (tests/e2e/test_outputs_e2e.py; the
story can take them as they are): a project in progress whose task book promises PROMISED.

Each step is done by the role that does it in real life, through the gateway.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from shared.clock import in_shanghai
from tests.e2e.story_steps import PDF, Story

# Put these in the application's indicators: the task book takes them over.
PROMISED = [
    {"name": "发表论文", "target": 2, "unit": "篇"},
    {"name": "成果转化合同", "target": 1, "unit": "项"},
]
TRANSFER_FEN = 120_000_000
ABSTRACT = "本报告总结了盐碱地生物改良与工程措施的研究结果，以及在张掖示范区的推广成效。"


@dataclass(frozen=True)
class ProjectPeople:
    """A project in progress and its people (usernames of the story)."""

    project_id: str
    pi: str
    member: str  # on the application's team
    org_admin: str  # of the project's organization
    other_org_admin: str  # of another organization
    manager: str  # of the project's program


async def outputs_verified(story: Story, who: ProjectPeople) -> None:
    """The PI and a team member register two papers and a transfer; another organization's
    admin and the program's manager may not verify them; the organization verifies all three."""
    outputs = f"/projects/{who.project_id}/outputs"
    today = in_shanghai(story.now()).date()

    papers = [
        await story.ok(
            "POST",
            "projects",
            outputs,
            person,
            json={
                "kind": "paper",
                "title": f"盐碱地改良研究（{n}）",
                "achieved_on": today.isoformat(),
                "doi": f"10.1016/j.geoderma.2026.{n:06d}",
                "journal": "Geoderma",
                "indicator": "发表论文",
            },
        )
        for n, person in ((1, who.pi), (2, who.member))
    ]
    deal = await story.ok(
        "POST",
        "projects",
        outputs,
        who.pi,
        json={
            "kind": "transfer",
            "title": "盐碱地改良剂技术许可",
            "achieved_on": today.isoformat(),
            "contract_number": "GS-JS-2026-0042",
            "licensee": "甘肃绿源农业科技有限公司",
            "amount_fen": TRANSFER_FEN,
            "mode": "license",
            "indicator": "成果转化合同",
        },
    )
    verification = {"decision": "verify"}
    foreign = await story.call(
        "POST",
        "projects",
        f"{outputs}/{papers[0]['id']}/verification",
        who.other_org_admin,
        json=verification,
    )
    assert foreign.status_code == 404, foreign.text
    by_manager = await story.call(
        "POST",
        "projects",
        f"{outputs}/{papers[0]['id']}/verification",
        who.manager,
        json=verification,
    )
    assert by_manager.status_code == 403, by_manager.text
    for output in (*papers, deal):
        done = await story.ok(
            "POST",
            "projects",
            f"{outputs}/{output['id']}/verification",
            who.org_admin,
            json=verification,
        )
        assert done["status"] == "verified"


async def accepted_against_outputs(story: Story, who: ProjectPeople) -> None:
    """The final report; the acceptance view (promised vs verified); the manager accepts;
    the view is then as of the acceptance."""
    final = await story.ok(
        "POST",
        "projects",
        f"/projects/{who.project_id}/reports",
        who.pi,
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
    view = await story.ok("GET", "projects", f"/projects/{who.project_id}/indicators", who.manager)
    assert [(i["name"], i["target"], i["verified"], i["met"]) for i in view["indicators"]] == [
        ("发表论文", 2, 2, True),
        ("成果转化合同", 1, 1, True),
    ]
    accepted = await story.ok(
        "POST",
        "projects",
        f"/projects/{who.project_id}/reports/{final['id']}/review",
        who.manager,
        json={"decision": "passed", "comment": "考核指标全部完成，经核实的成果与任务书一致"},
    )
    assert accepted["status"] == "passed"
    closed = await story.ok(
        "GET", "projects", f"/projects/{who.project_id}/indicators", who.org_admin
    )
    assert closed["project_status"] == "accepted"
    assert closed["as_of"] is not None


async def report_public_after_embargo(story: Story, who: ProjectPeople) -> None:
    """The final 科技报告, embargoed ten days: its abstract public from that day on (not the
    day before), its document never."""
    embargo_ends = in_shanghai(story.now()).date() + timedelta(days=10)
    described = await story.ok(
        "POST",
        "projects",
        f"/projects/{who.project_id}/tech-reports",
        who.pi,
        json={
            "kind": "final",
            "title": "河西走廊盐碱地改良关键技术研究最终科技报告",
            "abstract": ABSTRACT,
            "embargo_until": embargo_ends.isoformat(),
        },
    )
    document = f"/projects/{who.project_id}/tech-reports/{described['id']}/document"
    deposited = await story.call(
        "PUT",
        "projects",
        document,
        who.pi,
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
    assert described["id"] in [r["id"] for r in listed["items"]]
    assert (await story.call("GET", "projects", document, None)).status_code == 401
    assert (await story.call("GET", "projects", document, who.other_org_admin)).status_code == 404
    got = await story.call("GET", "projects", document, who.manager)
    assert got.status_code == 200
    assert hashlib.sha256(got.content).hexdigest() == deposited.json()["sha256"]
