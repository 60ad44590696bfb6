"""Outputs (成果): registered by the project's team, verified by its organization, compared with
the task book at acceptance, and counted per program and year (docs/outputs.md)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import Output, Project
from shared.auth.roles import Role
from tests.projects.conftest import ZDYF, ZDZX, Projects
from tests.projects.factories import add_person, insert_project, put_on_team
from tests.projects.test_execution import contracted_projects
from tests.projects.test_execution_reports import FINAL, file, review

PAPER: dict[str, Any] = {
    "kind": "paper",
    "title": "河西走廊灌区小麦节水栽培模式研究",
    "achieved_on": "2026-03-01",
    "doi": "https://doi.org/10.1016/J.AGWAT.2026.108001",
    "journal": "Agricultural Water Management",
    "indicator": "发表论文",
}
PATENT: dict[str, Any] = {
    "kind": "patent",
    "title": "一种旱区小麦节水灌溉装置",
    "achieved_on": "2026-02-15",
    "number": "cn 202610123456.7",
    "patent_status": "applied",
}


def transfer(contract: str, amount_fen: Any, achieved_on: str = "2026-03-05") -> dict[str, Any]:
    return {
        "kind": "transfer",
        "title": "节水灌溉装置专利许可",
        "achieved_on": achieved_on,
        "contract_number": contract,
        "licensee": "甘肃绿源农业科技有限公司",
        "amount_fen": amount_fen,
        "mode": "license",
    }


def paper(n: int, **overrides: Any) -> dict[str, Any]:
    return {**PAPER, "doi": f"10.1016/j.agwat.2026.{n:06d}", **overrides}


async def register(
    projects: Projects, project_id: str, body: dict[str, Any], who: str = "applicant"
) -> httpx.Response:
    return await projects.call("POST", f"/v1/projects/{project_id}/outputs", who, json=body)


async def decide(
    projects: Projects,
    project_id: str,
    output_id: str,
    decision: str = "verify",
    who: str = "org_admin",
    reason: str | None = None,
) -> httpx.Response:
    body: dict[str, Any] = {"decision": decision}
    if reason is not None:
        body["reason"] = reason
    return await projects.call(
        "POST", f"/v1/projects/{project_id}/outputs/{output_id}/verification", who, json=body
    )


async def registered(projects: Projects, project_id: str, body: dict[str, Any], who: str) -> str:
    reply = await register(projects, project_id, body, who)
    assert reply.status_code == 201, reply.text
    output_id: str = reply.json()["id"]
    return output_id


async def verified(
    projects: Projects, project_id: str, body: dict[str, Any], who: str = "applicant"
) -> str:
    output_id = await registered(projects, project_id, body, who)
    reply = await decide(projects, project_id, output_id)
    assert reply.status_code == 200, reply.text
    return output_id


async def team_project(session: AsyncSession, projects: Projects) -> str:
    """王芳's project in progress, 陈静 (same organization) on its team."""
    [project_id] = await contracted_projects(session, projects, "applicant")
    project = await session.get(Project, UUID(project_id))
    assert project is not None
    await put_on_team(session, project, projects.callers["colleague"])
    return project_id


# --- registering -----------------------------------------------------------------------------


async def test_the_pi_and_the_team_register_outputs_nobody_else_does(
    session: AsyncSession, projects: Projects
) -> None:
    [project_id] = await contracted_projects(session, projects, "applicant")
    # Not on the team yet: the project does not exist for a colleague of the same organization.
    assert (await register(projects, project_id, PATENT, "colleague")).status_code == 404
    project = await session.get(Project, UUID(project_id))
    assert project is not None
    await put_on_team(session, project, projects.callers["colleague"])

    by_pi = await register(projects, project_id, PAPER)
    assert by_pi.status_code == 201, by_pi.text
    assert by_pi.json()["status"] == "pending"
    assert by_pi.json()["identifier"] == "10.1016/j.agwat.2026.108001"  # normalized
    assert by_pi.json()["details"] == {
        "doi": "10.1016/j.agwat.2026.108001",
        "journal": "Agricultural Water Management",
        "authors": "",
    }
    by_member = await register(projects, project_id, PATENT, "colleague")
    assert by_member.status_code == 201, by_member.text
    assert by_member.json()["identifier"] == "CN202610123456.7"
    assert by_member.json()["registered_by"] == str(projects.callers["colleague"].user_id)

    for who, status in (
        ("applicant2", 404),  # another organization's researcher
        ("stranger", 404),
        ("org_admin", 403),  # reads the project, but registers nothing: not a researcher
        ("org_admin2", 403),
        ("manager", 403),
        ("expert", 403),
    ):
        refused = await register(projects, project_id, paper(9), who)
        assert refused.status_code == status, (who, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"

    # The same DOI, written another way, is the same paper.
    again = await register(
        projects, project_id, {**PAPER, "doi": "doi:10.1016/j.AGWAT.2026.108001"}
    )
    assert again.status_code == 409
    assert again.json()["code"] == "output.duplicate"
    # ... but another project may hold it (a paper acknowledging two grants).
    [other] = await contracted_projects(session, projects, "applicant2")
    elsewhere = await register(projects, other, PAPER, "applicant2")
    assert elsewhere.status_code == 201, elsewhere.text

    for who in ("applicant", "colleague", "org_admin", "manager", "admin"):
        listed = await projects.call("GET", f"/v1/projects/{project_id}/outputs", who)
        assert listed.status_code == 200, who
        assert [o["kind"] for o in listed.json()["items"]] == ["paper", "patent"], who
    for who in ("applicant2", "org_admin2", "manager2", "evaluator", "stranger"):
        hidden = await projects.call("GET", f"/v1/projects/{project_id}/outputs", who)
        assert hidden.status_code == 404, who
        one = await projects.call(
            "GET", f"/v1/projects/{project_id}/outputs/{by_pi.json()['id']}", who
        )
        assert one.status_code == 404, who
    patents = await projects.call(
        "GET", f"/v1/projects/{project_id}/outputs", "applicant", params={"kind": "patent"}
    )
    assert [o["id"] for o in patents.json()["items"]] == [by_member.json()["id"]]


async def test_bad_outputs_are_refused_and_nothing_is_written(
    session: AsyncSession, projects: Projects
) -> None:
    [project_id] = await contracted_projects(session, projects, "applicant")
    bad: list[tuple[dict[str, Any], str]] = [
        ({**PAPER, "doi": "not-a-doi"}, "request.invalid"),
        ({**PAPER, "doi": "10.12/x"}, "request.invalid"),  # a registrant has 4-9 digits
        ({k: v for k, v in PAPER.items() if k != "doi"}, "request.invalid"),
        ({**PATENT, "patent_status": "pending"}, "request.invalid"),
        ({**PATENT, "number": "12"}, "request.invalid"),
        (transfer("HT-2026-001", 0), "request.invalid"),
        (transfer("HT-2026-001", 1500.5), "request.invalid"),  # fen are whole
        (transfer("HT-2026-001", "100"), "request.invalid"),
        ({**transfer("HT-2026-001", 100), "amount_fen": None}, "request.invalid"),
        ({**PAPER, "kind": "poem"}, "request.invalid"),
        ({**PAPER, "surprise": 1}, "request.invalid"),
        ({**PAPER, "indicator": "发表专著"}, "output.invalid"),  # not in the task book
        ({**PAPER, "achieved_on": "2026-03-11"}, "output.invalid"),  # the clock says 03-10
    ]
    for body, code in bad:
        refused = await register(projects, project_id, body)
        assert refused.status_code == 422, (body, refused.text)
        assert refused.json()["code"] == code, body
    unknown = await register(projects, project_id, {**PAPER, "indicator": "发表专著"})
    assert unknown.json()["indicators"] == ["发表论文", "示范面积"]
    assert await session.scalar(sa.select(sa.func.count()).select_from(Output)) == 0


async def test_outputs_wait_for_the_task_book_and_stop_with_a_failed_project(
    session: AsyncSession, projects: Projects
) -> None:
    in_notice = await insert_project(session, projects, status="in_notice")
    refused = await register(projects, str(in_notice.id), {**PAPER, "indicator": None})
    assert refused.status_code == 409
    assert refused.json()["state"] == "in_notice"
    terminated = await insert_project(session, projects, status="terminated")
    refused = await register(projects, str(terminated.id), {**PAPER, "indicator": None})
    assert refused.json()["state"] == "terminated"
    accepted = await insert_project(session, projects, status="accepted")
    late_paper = await register(projects, str(accepted.id), {**PAPER, "indicator": None})
    assert late_paper.status_code == 201, late_paper.text  # papers come after the end too


# --- verifying -------------------------------------------------------------------------------


async def test_the_organization_verifies_or_rejects_with_a_reason(
    session: AsyncSession, projects: Projects, gateway: FastAPI
) -> None:
    project_id = await team_project(session, projects)
    paper_id = await registered(projects, project_id, PAPER, "applicant")
    patent_id = await registered(projects, project_id, PATENT, "colleague")

    for who, status, code in (
        ("org_admin2", 404, "project.not_found"),  # another organization's admin
        ("manager", 403, "forbidden"),  # the agency does not verify outputs
        ("admin", 403, "forbidden"),
        ("applicant", 403, "forbidden"),  # nor does the team itself
        ("colleague", 403, "forbidden"),
    ):
        refused = await decide(projects, project_id, paper_id, who=who)
        assert refused.status_code == status, (who, refused.text)
        assert refused.json()["code"] == code, who
    # An admin of the organization who is on the project does not vouch for it.
    insider = await add_person(
        session, projects, gateway, "郑双", (Role.applicant, Role.org_admin), org=1
    )
    project = await session.get(Project, UUID(project_id))
    assert project is not None
    await put_on_team(session, project, insider)
    conflicted = await decide(projects, project_id, paper_id, who="郑双")
    assert conflicted.status_code == 403
    assert conflicted.json()["code"] == "duty.conflict"

    no_reason = await decide(projects, project_id, patent_id, "reject")
    assert no_reason.status_code == 422
    ok = await decide(projects, project_id, paper_id)
    assert ok.status_code == 200, ok.text
    assert ok.json()["status"] == "verified"
    assert ok.json()["decided_by"] == str(projects.callers["org_admin"].user_id)
    assert ok.json()["decided_at"].endswith("+08:00")
    rejected = await decide(
        projects, project_id, patent_id, "reject", reason="专利申请号与国家知识产权局记录不符"
    )
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["rejection_reason"] == "专利申请号与国家知识产权局记录不符"

    twice = await decide(projects, project_id, paper_id, "reject", reason="再次审核")
    assert twice.status_code == 409
    assert twice.json()["state"] == "verified"
    missing = await decide(projects, project_id, "0193a5c0-0000-7000-8000-0000000000ff")
    assert missing.status_code == 404
    assert missing.json()["code"] == "output.not_found"

    # A rejected registration does not hold its number: corrected, it is registered again.
    corrected = await register(projects, project_id, PATENT, "colleague")
    assert corrected.status_code == 201, corrected.text

    story = await projects.call("GET", f"/v1/projects/{project_id}/history", "applicant")
    outputs = [
        (t["action"], t["from_state"], t["to_state"], t["reason"])
        for t in story.json()["items"]
        if t["entity"] == "output"
    ]
    assert outputs == [
        ("output.registered", None, "pending", None),
        ("output.registered", None, "pending", None),
        ("output.verified", "pending", "verified", None),
        ("output.rejected", "pending", "rejected", "专利申请号与国家知识产权局记录不符"),
        ("output.registered", None, "pending", None),
    ]


# --- the acceptance view ---------------------------------------------------------------------


async def test_acceptance_shows_promised_against_verified_outputs(
    session: AsyncSession, projects: Projects
) -> None:
    [project_id] = await contracted_projects(session, projects, "applicant")
    first = await verified(projects, project_id, paper(1))
    await verified(projects, project_id, paper(2))
    pending = await registered(projects, project_id, paper(3), "applicant")
    await verified(projects, project_id, {**PATENT, "indicator": None})
    final = await file(projects, project_id, "final", **FINAL)  # says 6 papers
    assert final.status_code == 201, final.text

    path = f"/v1/projects/{project_id}/indicators"
    view = await projects.call("GET", path, "manager")
    assert view.status_code == 200, view.text
    body = view.json()
    assert body["as_of"] is None  # still running: everything verified so far counts
    assert body["indicators"] == [
        {
            "name": "发表论文",
            "target": 5,
            "unit": "篇",
            "reported": 6,
            "verified": 2,
            "pending": 1,
            "met": False,  # the report says 6, the organization vouched for 2
        },
        {
            "name": "示范面积",
            "target": 10000,
            "unit": "亩",
            "reported": 12000,
            "verified": 0,
            "pending": 0,
            "met": False,
        },
    ]
    assert body["verified_by_kind"]["paper"] == 2
    assert body["verified_by_kind"]["patent"] == 1
    assert body["verified_unlinked"] == 1
    for who in ("applicant", "org_admin", "admin"):
        assert (await projects.call("GET", path, who)).status_code == 200, who
    for who in ("manager2", "org_admin2", "applicant2", "evaluator"):
        assert (await projects.call("GET", path, who)).status_code == 404, who

    # Accepted: judged on what was verified by then; a verification afterwards counts in the
    # statistics, not in the acceptance.
    accepted = await review(projects, project_id, final.json()["id"], "passed")
    assert accepted.status_code == 200, accepted.text
    projects.clock.advance(minutes=5)
    assert (await decide(projects, project_id, pending)).status_code == 200
    after = (await projects.call("GET", path, "manager")).json()
    assert after["project_status"] == "accepted"
    assert after["as_of"] is not None
    assert after["indicators"][0]["verified"] == 2
    assert after["indicators"][0]["pending"] == 0
    outputs = await projects.call(
        "GET", f"/v1/projects/{project_id}/outputs", "manager", params={"status": "verified"}
    )
    assert len(outputs.json()["items"]) == 4
    assert first in [o["id"] for o in outputs.json()["items"]]


# --- statistics ------------------------------------------------------------------------------


async def test_statistics_per_program_and_year(session: AsyncSession, projects: Projects) -> None:
    mine, theirs = await contracted_projects(session, projects, "applicant", "applicant2")
    await verified(projects, mine, {**paper(1), "achieved_on": "2025-12-20"})
    await verified(projects, mine, paper(2))
    await verified(projects, mine, transfer("HT-2026-001", 150_000_000))
    await verified(projects, mine, transfer("HT-2025-009", 2_500_001, "2025-11-30"))
    await registered(projects, mine, transfer("HT-2026-002", 9_900), "applicant")  # pending
    rejected = await registered(projects, mine, transfer("HT-2026-003", 7_700), "applicant")
    assert (
        await decide(projects, mine, rejected, "reject", reason="合同未生效")
    ).status_code == 200
    their_paper = await registered(projects, theirs, {**paper(7), "indicator": None}, "applicant2")
    assert (await decide(projects, theirs, their_paper, who="org_admin2")).status_code == 200
    # Another program's outputs are not counted in this one.
    [other_program] = await contracted_projects(session, projects, "colleague")
    other = await session.get(Project, UUID(other_program))
    assert other is not None
    other.program_id = ZDZX
    await session.commit()
    await verified(projects, other_program, transfer("HT-ZDZX-1", 1_000_000), "colleague")

    path = f"/v1/programs/{ZDYF}/output-statistics"
    stats = await projects.call("GET", path, "manager")
    assert stats.status_code == 200, stats.text
    years = {y["year"]: y for y in stats.json()["years"]}
    assert sorted(years) == [2025, 2026]
    assert years[2025]["outputs"]["paper"] == 1
    assert years[2025]["outputs"]["transfer"] == 1
    assert years[2025]["transfers"] == {"count": 1, "amount_fen": 2_500_001}
    assert years[2025]["projects"] == 1
    assert years[2026]["outputs"] == {
        "paper": 2,
        "patent": 0,
        "standard": 0,
        "software": 0,
        "dataset": 0,
        "award": 0,
        "transfer": 1,
    }
    assert years[2026]["transfers"] == {"count": 1, "amount_fen": 150_000_000}
    assert years[2026]["pending"]["transfer"] == 1  # the rejected one is in neither
    assert years[2026]["projects"] == 2
    one_year = await projects.call("GET", path, "manager", params={"year": 2025})
    assert [y["year"] for y in one_year.json()["years"]] == [2025]

    for who in ("manager2", "evaluator", "org_admin", "applicant"):
        refused = await projects.call("GET", path, who)
        assert refused.status_code == 403, (who, refused.text)
    engaged = await projects.call(
        "POST",
        "/v1/engagements",
        "manager",
        json={
            "evaluator_id": str(projects.callers["evaluator"].user_id),
            "program_id": str(ZDYF),
            "purpose": "重点研发计划2026年度成果产出评价",
        },
    )
    assert engaged.status_code == 201, engaged.text
    assert (await projects.call("GET", path, "evaluator")).json() == stats.json()
    assert (await projects.call("GET", path, "admin")).status_code == 200
    unknown = await projects.call(
        "GET", "/v1/programs/0193a5c0-0000-7000-8000-0000000000ff/output-statistics", "admin"
    )
    assert unknown.status_code == 404

    # The public aggregate: verified outputs only, no login, all programs or one.
    public = await projects.call("GET", "/v1/public/output-statistics", None)
    assert public.status_code == 200, public.text
    everywhere = {y["year"]: y for y in public.json()["years"]}
    assert everywhere[2026]["transfers"] == {"count": 2, "amount_fen": 151_000_000}
    assert everywhere[2026]["outputs"]["paper"] == 2
    assert "pending" not in everywhere[2026]
    zdyf = await projects.call(
        "GET", "/v1/public/output-statistics", None, params={"program": "zdyf", "year": 2026}
    )
    assert zdyf.json()["program"] == "ZDYF"
    assert zdyf.json()["years"] == [
        {k: v for k, v in years[2026].items() if k not in ("pending", "projects")}
    ]
    nothing = await projects.call(
        "GET", "/v1/public/output-statistics", None, params={"program": "NOPE"}
    )
    assert nothing.status_code == 404
