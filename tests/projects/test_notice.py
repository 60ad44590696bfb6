"""The public notice (公示): objections while it runs, their resolution, and signing after it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import Application, Transition
from tests.projects.conftest import Projects
from tests.projects.test_decisions import approved_projects, set_envelope
from tests.projects.test_execution import task_book

OBJECTION = {"reasons": "该项目与本单位2024年已结题项目内容高度重复，请核查。"}


async def file_objection(projects: Projects, project_id: str, who: str) -> Any:
    return await projects.call("POST", f"/v1/projects/{project_id}/objections", who, json=OBJECTION)


async def resolve_objection(
    projects: Projects, project_id: str, objection_id: str, decision: str, who: str = "manager"
) -> Any:
    return await projects.call(
        "POST",
        f"/v1/projects/{project_id}/objections/{objection_id}/resolution",
        who,
        json={
            "decision": decision,
            "resolution": "经核查，异议" + ("成立" if decision == "uphold" else "不成立"),
        },
    )


async def test_anyone_logged_in_objects_while_the_notice_runs(
    session: AsyncSession, projects: Projects
) -> None:
    [approved] = await approved_projects(session, projects, "applicant")
    project_id = approved["project_id"]

    by_stranger = await file_objection(projects, project_id, "stranger")
    assert by_stranger.status_code == 201, by_stranger.text
    assert by_stranger.json()["status"] == "open"
    projects.clock.advance(days=6, hours=23)
    by_expert = await file_objection(projects, project_id, "expert")
    assert by_expert.status_code == 201
    anonymous = await projects.call(
        "POST", f"/v1/projects/{project_id}/objections", None, json=OBJECTION
    )
    assert anonymous.status_code == 401

    everything = await projects.call("GET", f"/v1/projects/{project_id}/objections", "manager")
    assert {o["id"] for o in everything.json()["items"]} == {
        by_stranger.json()["id"],
        by_expert.json()["id"],
    }
    own = await projects.call("GET", f"/v1/projects/{project_id}/objections", "stranger")
    assert [o["id"] for o in own.json()["items"]] == [by_stranger.json()["id"]]
    pi = await projects.call("GET", f"/v1/projects/{project_id}/objections", "applicant")
    assert pi.json()["items"] == []
    # The PI reads the project's history, but not who objected.
    story = await projects.call("GET", f"/v1/projects/{project_id}/history", "applicant")
    filed = [t for t in story.json()["items"] if t["action"] == "objection.filed"]
    assert len(filed) == 2
    assert str(projects.callers["stranger"].user_id) not in {t["actor_id"] for t in filed}

    projects.clock.advance(hours=1)  # the notice is over
    late = await file_objection(projects, project_id, "applicant2")
    assert late.status_code == 409
    assert late.json()["code"] == "notice.over"

    unknown = await file_objection(projects, "0193a5c0-0000-7000-8000-0000000000ff", "stranger")
    assert unknown.status_code == 404


async def test_signing_waits_for_the_notice_and_its_objections(
    session: AsyncSession, projects: Projects
) -> None:
    [approved] = await approved_projects(session, projects, "applicant")
    project_id = approved["project_id"]
    drafted = await projects.call(
        "PUT", f"/v1/projects/{project_id}/task-book", "manager", json=task_book()
    )
    assert drafted.status_code == 200, drafted.text
    assert drafted.json()["status"] == "in_notice"  # drafting may start during the notice

    early = await projects.call("POST", f"/v1/projects/{project_id}/task-book/sign", "org_admin")
    assert early.status_code == 409
    assert early.json()["code"] == "notice.running"

    objection = (await file_objection(projects, project_id, "applicant2")).json()
    projects.clock.advance(days=8)
    blocked = await projects.call("POST", f"/v1/projects/{project_id}/task-book/sign", "org_admin")
    assert blocked.status_code == 409
    assert blocked.json()["code"] == "notice.objections_open"

    dismissed = await resolve_objection(projects, project_id, objection["id"], "dismiss")
    assert dismissed.status_code == 200, dismissed.text
    assert dismissed.json()["objection"]["status"] == "dismissed"
    again = await resolve_objection(projects, project_id, objection["id"], "uphold")
    assert again.status_code == 409
    assert again.json()["state"] == "dismissed"

    signed = await projects.call("POST", f"/v1/projects/{project_id}/task-book/sign", "org_admin")
    assert signed.status_code == 200, signed.text
    assert signed.json()["status"] == "awaiting_contract"
    assert signed.json()["task_book"]["org_signed_at"] is not None
    ended = await session.scalar(sa.select(Transition).where(Transition.action == "notice.ended"))
    assert ended is not None
    assert (ended.from_state, ended.to_state) == ("in_notice", "awaiting_contract")


async def test_an_upheld_objection_cancels_the_project(
    session: AsyncSession, projects: Projects
) -> None:
    [approved] = await approved_projects(session, projects, "applicant")
    project_id = approved["project_id"]
    first = (await file_objection(projects, project_id, "stranger")).json()
    second = (await file_objection(projects, project_id, "applicant2")).json()

    # Only the program's managers resolve; others do not even learn the project's inner state.
    assert (
        await resolve_objection(projects, project_id, first["id"], "uphold", "manager2")
    ).status_code == 404
    assert (
        await resolve_objection(projects, project_id, first["id"], "uphold", "applicant")
    ).status_code == 403

    upheld = await resolve_objection(projects, project_id, first["id"], "uphold")
    assert upheld.status_code == 200, upheld.text
    assert upheld.json()["objection"]["status"] == "upheld"
    assert upheld.json()["project"]["status"] == "cancelled"
    # The decision stands on the application; the project does not go on.
    status = await session.scalar(
        sa.select(Application.status).where(Application.id == approved["application_id"])
    )
    assert status == "approved"
    # A later objection of the same notice can still be closed.
    assert (
        await resolve_objection(projects, project_id, second["id"], "uphold")
    ).status_code == 200

    projects.clock.advance(days=8)
    sign = await projects.call("POST", f"/v1/projects/{project_id}/task-book/sign", "org_admin")
    assert sign.status_code == 409
    assert sign.json()["state"] == "cancelled"
    story = await projects.call("GET", f"/v1/projects/{project_id}/history", "manager")
    cancelled = [t for t in story.json()["items"] if t["to_state"] == "cancelled"]
    assert len(cancelled) == 1
    assert cancelled[0]["reason"] == "经核查，异议成立"


async def test_a_cancelled_project_gives_its_money_back_to_the_envelope(
    session: AsyncSession, projects: Projects
) -> None:
    [approved] = await approved_projects(session, projects, "applicant")
    await set_envelope(session, amount_fen=80_000_000)
    objection = (await file_objection(projects, approved["project_id"], "stranger")).json()
    await resolve_objection(projects, approved["project_id"], objection["id"], "uphold")
    call_id = (
        await projects.call("GET", f"/v1/projects/{approved['project_id']}", "manager")
    ).json()["call_id"]
    listing = await projects.call("GET", f"/v1/calls/{call_id}/decisions", "manager")
    assert listing.json()["envelope"]["committed_fen"] == 0
    assert listing.json()["envelope"]["remaining_fen"] == 80_000_000


async def test_objections_of_a_project_no_longer_public_are_not_found(
    session: AsyncSession, projects: Projects
) -> None:
    [approved] = await approved_projects(session, projects, "applicant")
    project_id = approved["project_id"]
    path = f"/v1/projects/{project_id}/objections"
    # While public, anyone logged in may ask (and sees only their own objections).
    assert (await projects.call("GET", path, "applicant2")).json()["items"] == []
    objection = (await file_objection(projects, project_id, "stranger")).json()
    await resolve_objection(projects, project_id, objection["id"], "uphold")

    # Cancelled: the project is no longer public.
    for who in ("applicant2", "expert"):
        hidden = await projects.call("GET", path, who)
        assert hidden.status_code == 404, who
        assert hidden.json()["code"] == "project.not_found"
        late = await file_objection(projects, project_id, who)
        assert late.status_code == 404, who
    # Those who may read it, and the objector, still do.
    own = await projects.call("GET", path, "stranger")
    assert [(o["id"], o["status"]) for o in own.json()["items"]] == [(objection["id"], "upheld")]
    assert (await projects.call("GET", path, "applicant")).json()["items"] == []
    assert len((await projects.call("GET", path, "manager")).json()["items"]) == 1
    missing = await projects.call(
        "GET", "/v1/projects/0193a5c0-0000-7000-8000-0000000000ff/objections", "manager"
    )
    assert missing.status_code == 404
