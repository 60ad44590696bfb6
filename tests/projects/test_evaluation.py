"""Third-party evaluation: engagements by program managers, evaluations by the engaged."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import Evaluation, ProgramManager, Project, Transition
from shared.auth.roles import Role
from tests.projects.conftest import ZDYF, ZDZX, Projects
from tests.projects.factories import add_person, insert_project, put_on_team

SCORES = {"进度执行": 85, "经费使用": 78, "组织管理": 90}
SUMMARY = "项目按任务书推进，经费使用基本规范，部分指标进度滞后。"


@pytest.fixture
async def project(session: AsyncSession, projects: Projects) -> Project:
    """A running ZDYF project of organization 2."""
    return await insert_project(session, projects, "applicant2", status="in_progress")


async def engage(
    projects: Projects,
    who: str = "manager",
    evaluator: str = "evaluator",
    **scope: Any,
) -> Any:
    body = {
        "evaluator_id": str(projects.callers[evaluator].user_id),
        "purpose": "2026年度重点研发计划执行情况第三方评价",
        **{k: str(v) for k, v in scope.items()},
    }
    return await projects.call("POST", "/v1/engagements", who, json=body)


async def engaged(projects: Projects, evaluator: str = "evaluator", **scope: Any) -> str:
    reply = await engage(projects, evaluator=evaluator, **scope)
    assert reply.status_code == 201, reply.text
    engagement_id: str = reply.json()["id"]
    return engagement_id


async def file(
    projects: Projects, engagement_id: str, who: str = "evaluator", **overrides: Any
) -> Any:
    body: dict[str, Any] = {
        "engagement_id": engagement_id,
        "kind": "execution",
        "scores": SCORES,
        "summary": SUMMARY,
    }
    body.update({k: str(v) if isinstance(v, UUID) else v for k, v in overrides.items()})
    return await projects.call("POST", "/v1/evaluations", who, json=body)


async def transitions(session: AsyncSession, entity_id: UUID) -> list[Transition]:
    return list(
        (
            await session.scalars(
                sa.select(Transition)
                .where(Transition.entity_id == entity_id)
                .order_by(Transition.id)
            )
        ).all()
    )


# --- engagements -------------------------------------------------------------------------


async def test_a_manager_engages_an_evaluator_on_their_program(
    session: AsyncSession, projects: Projects
) -> None:
    reply = await engage(projects, program_id=ZDYF)

    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert body["evaluator_id"] == str(projects.callers["evaluator"].user_id)
    assert body["evaluator_name"] == "周评"
    assert body["program_id"] == str(ZDYF)
    assert body["project_id"] is None
    assert body["engaged_by"] == str(projects.callers["manager"].user_id)
    assert body["active"] is True
    (moved,) = await transitions(session, ZDYF)
    assert (moved.entity, moved.action, moved.to_state) == (
        "program",
        "evaluator.engaged",
        "active",
    )
    assert moved.actor_id == str(projects.callers["manager"].user_id)
    assert moved.details["engagement_id"] == body["id"]


async def test_an_admin_engages_on_a_project_and_it_enters_the_projects_history(
    session: AsyncSession, projects: Projects, project: Project
) -> None:
    reply = await engage(projects, "admin", project_id=project.id)

    assert reply.status_code == 201, reply.text
    assert reply.json()["project_number"] == project.number
    (moved,) = await transitions(session, project.id)
    assert (moved.entity, moved.action) == ("project", "evaluator.engaged")
    assert moved.application_id == project.application_id


async def test_a_manager_of_another_program_may_not_engage(
    projects: Projects, project: Project
) -> None:
    on_program = await engage(projects, "manager2", program_id=ZDYF)
    assert on_program.status_code == 403
    assert on_program.json()["code"] == "program.not_managed"
    # A project of a program they do not run is not theirs to know of.
    on_project = await engage(projects, "manager2", project_id=project.id)
    assert on_project.status_code == 404
    assert on_project.json()["code"] == "project.not_found"


@pytest.mark.parametrize("who", ["evaluator", "applicant", "org_admin", "expert"])
async def test_only_program_staff_engage(projects: Projects, who: str) -> None:
    reply = await engage(projects, who, program_id=ZDYF)
    assert reply.status_code == 403
    assert reply.json()["code"] == "forbidden"


@pytest.mark.parametrize("person", ["applicant", "expert", "manager2"])
async def test_only_a_registered_evaluator_can_be_engaged(projects: Projects, person: str) -> None:
    reply = await engage(projects, evaluator=person, program_id=ZDYF)
    assert reply.status_code == 422
    assert reply.json()["code"] == "engagement.not_an_evaluator"


async def test_an_evaluator_unknown_to_the_directory_cannot_be_engaged(projects: Projects) -> None:
    body = {
        "evaluator_id": "0193a5c0-0000-7000-8000-00000000dead",
        "program_id": str(ZDYF),
        "purpose": "执行情况评价",
    }
    reply = await projects.call("POST", "/v1/engagements", "manager", json=body)
    assert reply.status_code == 422
    assert reply.json()["code"] == "engagement.not_an_evaluator"


@pytest.mark.parametrize(
    "scope",
    [{}, {"program_id": ZDYF, "project_id": ZDYF}],
    ids=["neither", "both"],
)
async def test_an_engagement_is_on_a_program_or_a_project(
    projects: Projects, scope: dict[str, Any]
) -> None:
    reply = await engage(projects, **scope)
    assert reply.status_code == 422
    assert reply.json()["code"] == "request.invalid"


async def test_an_evaluator_is_not_engaged_on_their_own_organizations_project(
    session: AsyncSession, projects: Projects, gateway: FastAPI
) -> None:
    await add_person(session, projects, gateway, "兰大评价员", (Role.evaluator,), org=1)
    own_org = await insert_project(session, projects, "applicant")
    other_org = await insert_project(session, projects, "applicant2")

    refused = await engage(projects, evaluator="兰大评价员", project_id=own_org.id)
    accepted = await engage(projects, evaluator="兰大评价员", project_id=other_org.id)

    assert refused.status_code == 403
    assert refused.json()["code"] == "duty.conflict"
    assert accepted.status_code == 201, accepted.text
    assert await transitions(session, own_org.id) == []


async def test_a_manager_does_not_choose_who_evaluates_their_own_organizations_project(
    session: AsyncSession, projects: Projects, gateway: FastAPI
) -> None:
    colleague = await add_person(
        session, projects, gateway, "兰大处长", (Role.program_manager,), org=1
    )
    session.add(ProgramManager(program_id=ZDYF, user_id=colleague.user_id))
    await session.commit()
    own_org = await insert_project(session, projects, "applicant")

    on_project = await engage(projects, "兰大处长", project_id=own_org.id)
    on_program = await engage(projects, "兰大处长", program_id=ZDYF)

    assert on_project.status_code == 403
    assert on_project.json()["code"] == "duty.conflict"
    assert on_program.status_code == 201, on_program.text


async def test_a_team_member_is_not_engaged_on_the_project(
    session: AsyncSession, projects: Projects, project: Project
) -> None:
    await put_on_team(session, project, projects.callers["evaluator"])

    reply = await engage(projects, project_id=project.id)

    assert reply.status_code == 403
    assert reply.json()["code"] == "duty.conflict"


async def test_one_active_engagement_per_evaluator_and_scope(projects: Projects) -> None:
    first = await engaged(projects, program_id=ZDYF)

    again = await engage(projects, program_id=ZDYF)

    assert again.status_code == 409
    assert again.json()["code"] == "engagement.exists"
    assert again.json()["engagement_id"] == first


async def test_no_engagement_on_a_cancelled_project(
    session: AsyncSession, projects: Projects
) -> None:
    cancelled = await insert_project(session, projects, "applicant2", status="cancelled")

    reply = await engage(projects, project_id=cancelled.id)

    assert reply.status_code == 409
    assert reply.json()["state"] == "cancelled"


async def test_ending_an_engagement(session: AsyncSession, projects: Projects) -> None:
    engagement_id = await engaged(projects, program_id=ZDYF)
    path = f"/v1/engagements/{engagement_id}/end"
    reason = {"reason": "评价任务完成"}

    by_other = await projects.call("POST", path, "manager2", json=reason)
    by_evaluator = await projects.call("POST", path, "evaluator", json=reason)
    ended = await projects.call("POST", path, "manager", json=reason)
    again = await projects.call("POST", path, "manager", json=reason)

    assert by_other.status_code == 404
    assert by_other.json()["code"] == "engagement.not_found"
    assert by_evaluator.status_code == 403
    assert ended.status_code == 200, ended.text
    assert ended.json()["active"] is False
    assert ended.json()["ended_at"] is not None
    assert again.status_code == 409
    assert again.json()["state"] == "ended"
    last = (await transitions(session, ZDYF))[-1]
    assert (last.action, last.from_state, last.to_state, last.reason) == (
        "evaluator.engagement_ended",
        "active",
        "ended",
        "评价任务完成",
    )


async def test_engagements_are_listed_per_role(
    session: AsyncSession, projects: Projects, gateway: FastAPI, project: Project
) -> None:
    await add_person(session, projects, gateway, "第二评价员", (Role.evaluator,))
    mine = await engaged(projects, program_id=ZDYF)
    theirs = await engaged(projects, evaluator="第二评价员", project_id=project.id)
    other_program = await engage(projects, "manager2", program_id=ZDZX)
    assert other_program.status_code == 201, other_program.text

    async def listed(who: str, **params: Any) -> set[str]:
        reply = await projects.call("GET", "/v1/engagements", who, params=params)
        assert reply.status_code == 200, reply.text
        return {e["id"] for e in reply.json()["items"]}

    assert await listed("evaluator") == {mine, other_program.json()["id"]}
    assert await listed("第二评价员") == {theirs}
    assert await listed("manager") == {mine, theirs}
    assert await listed("manager", project_id=project.id) == {theirs}
    assert await listed("manager2") == {other_program.json()["id"]}
    assert len(await listed("admin")) == 3
    one = await projects.call("GET", f"/v1/engagements/{theirs}", "evaluator")
    assert one.status_code == 404
    for who in ("applicant", "org_admin"):
        reply = await projects.call("GET", "/v1/engagements", who)
        assert reply.status_code == 403


# --- evaluations -------------------------------------------------------------------------


async def test_the_engaged_evaluator_files_an_evaluation_of_a_project(
    session: AsyncSession, projects: Projects, project: Project
) -> None:
    engagement_id = await engaged(projects, program_id=ZDYF)

    reply = await file(projects, engagement_id, project_id=project.id)

    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert body["project_id"] == str(project.id)
    assert body["project_number"] == project.number
    assert body["program_id"] == str(ZDYF)
    assert body["scores"] == SCORES
    assert body["filed_by"] == str(projects.callers["evaluator"].user_id)
    stored = await session.get(Evaluation, UUID(body["id"]))
    assert stored is not None
    assert stored.kind == "execution"
    (moved,) = await transitions(session, project.id)
    assert moved.action == "evaluation.filed"
    assert moved.details["evaluation_id"] == body["id"]


async def test_a_project_engagement_covers_its_project_only(
    session: AsyncSession, projects: Projects, project: Project
) -> None:
    engagement_id = await engaged(projects, project_id=project.id)
    elsewhere = await insert_project(session, projects, "applicant2")

    implied = await file(projects, engagement_id, kind="outputs")
    other = await file(projects, engagement_id, project_id=elsewhere.id)

    assert implied.status_code == 201, implied.text
    assert implied.json()["project_id"] == str(project.id)
    assert other.status_code == 404
    assert other.json()["code"] == "project.not_found"


async def test_a_program_engagement_covers_that_programs_projects_only(
    session: AsyncSession, projects: Projects
) -> None:
    engagement_id = await engaged(projects, program_id=ZDYF)
    in_other_program = await insert_project(session, projects, "applicant2", ZDZX)

    reply = await file(projects, engagement_id, project_id=in_other_program.id)
    unknown = await file(projects, engagement_id, project_id=ZDZX)

    assert reply.status_code == 404
    assert reply.json()["code"] == "project.not_found"
    assert unknown.status_code == 404
    count = await session.scalar(sa.select(sa.func.count()).select_from(Evaluation))
    assert count == 0


async def test_institution_efficiency_is_evaluated_for_the_whole_program(
    session: AsyncSession, projects: Projects
) -> None:
    engagement_id = await engaged(projects, program_id=ZDYF)

    efficiency = await file(projects, engagement_id, kind="efficiency")
    execution = await file(projects, engagement_id, kind="execution")

    assert efficiency.status_code == 201, efficiency.text
    assert efficiency.json()["project_id"] is None
    assert efficiency.json()["program_id"] == str(ZDYF)
    assert execution.status_code == 422
    assert execution.json()["code"] == "evaluation.project_required"
    assert [t.action for t in await transitions(session, ZDYF)] == [
        "evaluator.engaged",
        "evaluation.filed",
    ]


async def test_another_evaluator_cannot_file_under_the_engagement(
    session: AsyncSession, projects: Projects, gateway: FastAPI, project: Project
) -> None:
    await add_person(session, projects, gateway, "第二评价员", (Role.evaluator,))
    engagement_id = await engaged(projects, project_id=project.id)

    reply = await file(projects, engagement_id, "第二评价员")

    assert reply.status_code == 404
    assert reply.json()["code"] == "engagement.not_found"


async def test_nothing_is_filed_after_the_engagement_ended(
    projects: Projects, project: Project
) -> None:
    engagement_id = await engaged(projects, project_id=project.id)
    ended = await projects.call(
        "POST", f"/v1/engagements/{engagement_id}/end", "manager", json={"reason": "合同终止"}
    )
    assert ended.status_code == 200, ended.text

    reply = await file(projects, engagement_id)

    assert reply.status_code == 404
    assert reply.json()["code"] == "engagement.not_found"


async def test_a_program_engagement_does_not_reach_the_evaluators_own_organization(
    session: AsyncSession, projects: Projects, gateway: FastAPI
) -> None:
    await add_person(session, projects, gateway, "兰大评价员", (Role.evaluator,), org=1)
    engagement_id = await engaged(projects, "兰大评价员", program_id=ZDYF)
    own_org = await insert_project(session, projects, "colleague")
    other_org = await insert_project(session, projects, "applicant2")

    refused = await file(projects, engagement_id, "兰大评价员", project_id=own_org.id)
    accepted = await file(projects, engagement_id, "兰大评价员", project_id=other_org.id)

    assert refused.status_code == 403
    assert refused.json()["code"] == "duty.conflict"
    assert accepted.status_code == 201, accepted.text


async def test_a_program_engagement_does_not_reach_a_project_the_evaluator_is_on(
    session: AsyncSession, projects: Projects, project: Project
) -> None:
    engagement_id = await engaged(projects, program_id=ZDYF)
    await put_on_team(session, project, projects.callers["evaluator"])

    reply = await file(projects, engagement_id, project_id=project.id)

    assert reply.status_code == 403
    assert reply.json()["code"] == "duty.conflict"


@pytest.mark.parametrize(
    "overrides",
    [
        {"scores": {"进度执行": 101}},
        {"scores": {"进度执行": -1}},
        {"scores": {"进度执行": "80"}},
        {"scores": {"进度执行": 80.5}},
        {"scores": {"进度执行": True}},
        {"scores": {}},
        {"scores": {f"指标{i}": 50 for i in range(21)}},
        {"scores": {"": 50}},
        {"kind": "popularity"},
        {"summary": "好"},
        {"verdict": "excellent"},
    ],
    ids=[
        "above_100",
        "negative",
        "string",
        "fraction",
        "bool",
        "none",
        "too_many",
        "unnamed",
        "kind",
        "summary",
        "extra",
    ],
)
async def test_bad_evaluations_are_refused(
    session: AsyncSession, projects: Projects, project: Project, overrides: dict[str, Any]
) -> None:
    engagement_id = await engaged(projects, project_id=project.id)

    reply = await file(projects, engagement_id, **overrides)

    assert reply.status_code == 422
    assert reply.json()["code"] == "request.invalid"
    count = await session.scalar(sa.select(sa.func.count()).select_from(Evaluation))
    assert count == 0


async def test_a_cancelled_project_is_not_evaluated(
    session: AsyncSession, projects: Projects
) -> None:
    engagement_id = await engaged(projects, program_id=ZDYF)
    cancelled = await insert_project(session, projects, "applicant2", status="cancelled")

    reply = await file(projects, engagement_id, project_id=cancelled.id)

    assert reply.status_code == 409
    assert reply.json()["state"] == "cancelled"


@pytest.mark.parametrize("who", ["manager", "admin", "applicant2", "org_admin2"])
async def test_only_evaluators_file(projects: Projects, project: Project, who: str) -> None:
    engagement_id = await engaged(projects, project_id=project.id)

    reply = await file(projects, engagement_id, who)

    assert reply.status_code == 403
    assert reply.json()["code"] == "forbidden"


async def test_evaluations_are_listed_per_role(
    session: AsyncSession, projects: Projects, gateway: FastAPI, project: Project
) -> None:
    await add_person(session, projects, gateway, "第二评价员", (Role.evaluator,))
    mine = (await file(projects, await engaged(projects, project_id=project.id))).json()["id"]
    elsewhere = await insert_project(session, projects, "applicant2")
    theirs_engagement = await engaged(projects, "第二评价员", project_id=elsewhere.id)
    theirs = (await file(projects, theirs_engagement, "第二评价员")).json()["id"]
    zdzx = await insert_project(session, projects, "applicant2", ZDZX)
    by_manager2 = await engage(projects, "manager2", "第二评价员", project_id=zdzx.id)
    in_zdzx = (await file(projects, by_manager2.json()["id"], "第二评价员")).json()["id"]

    async def listed(who: str, **params: Any) -> set[str]:
        reply = await projects.call("GET", "/v1/evaluations", who, params=params)
        assert reply.status_code == 200, reply.text
        return {e["id"] for e in reply.json()["items"]}

    assert await listed("evaluator") == {mine}
    assert await listed("第二评价员") == {theirs, in_zdzx}
    assert await listed("manager") == {mine, theirs}
    assert await listed("manager", project_id=str(project.id)) == {mine}
    assert await listed("manager2") == {in_zdzx}
    assert await listed("admin") == {mine, theirs, in_zdzx}
    read = await projects.call("GET", f"/v1/evaluations/{mine}", "manager")
    assert read.status_code == 200
    assert read.json()["summary"] == SUMMARY
    for who, expected in (("第二评价员", 404), ("manager2", 404), ("applicant2", 403)):
        reply = await projects.call("GET", f"/v1/evaluations/{mine}", who)
        assert reply.status_code == expected, who


# --- evaluators change nothing else ------------------------------------------------------


async def test_an_evaluator_cannot_act_as_program_staff(projects: Projects) -> None:
    engagement_id = await engaged(projects, program_id=ZDYF)
    call = {"program_id": str(ZDYF), "year": 2026, "title": "评价人员不应能发布的指南"}

    attempts = [
        await engage(projects, "evaluator", program_id=ZDYF),
        await projects.call(
            "POST", f"/v1/engagements/{engagement_id}/end", "evaluator", json={"reason": "自行结束"}
        ),
        await projects.call("POST", "/v1/calls", "evaluator", json=call),
    ]

    assert [r.status_code for r in attempts] == [403, 403, 403]
