"""The public notice (公示): objections while it runs, their resolution, and signing after it."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import Application, Transition
from tests.projects.conftest import Projects
from tests.projects.test_decisions import approved_projects, outbox, set_envelope
from tests.projects.test_execution import task_book

OBJECTION = {"reasons": "该项目与本单位2024年已结题项目内容高度重复，请核查。"}
# A real-name objection (实名异议) from someone without an account.
IN_PERSON = {
    "name": "赵敏",
    "contact": "139 3101 2233",
    "organization": "兰州市城关区居民",
    "reasons": "项目负责人所列的合作单位并未参与该研究，申报材料与事实不符。",
}


async def file_objection(projects: Projects, project_id: str, who: str) -> Any:
    return await projects.call("POST", f"/v1/projects/{project_id}/objections", who, json=OBJECTION)


async def lodge_in_person(projects: Projects, project_id: str, **changes: Any) -> Any:
    """A real-name objection without an account (`None` leaves a field out)."""
    body = {k: v for k, v in {**IN_PERSON, **changes}.items() if v is not None}
    return await projects.call(
        "POST", f"/v1/public/projects/{project_id}/objections", None, json=body
    )


def invalid_fields(reply: Any) -> dict[str, str]:
    assert reply.status_code == 422, reply.text
    return {e["loc"][-1]: e["msg"] for e in reply.json()["errors"]}


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
    # Without an account the objection is lodged on the public route, under a real name: the
    # account's route wants a login, and the public one a name and a contact.
    no_login = await projects.call(
        "POST", f"/v1/projects/{project_id}/objections", None, json=OBJECTION
    )
    assert no_login.status_code == 401
    nameless = await lodge_in_person(projects, project_id, name=None, contact=None)
    assert set(invalid_fields(nameless)) == {"name", "contact"}

    everything = await projects.call("GET", f"/v1/projects/{project_id}/objections", "manager")
    assert {o["id"] for o in everything.json()["items"]} == {
        by_stranger.json()["id"],
        by_expert.json()["id"],
    }
    # The manager reads who objected: an account's objection under its display name.
    assert {(o["filed_by"], o["objector_name"]) for o in everything.json()["items"]} == {
        (str(projects.callers["stranger"].user_id), "路人"),
        (str(projects.callers["expert"].user_id), "吴磊"),
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


async def test_the_public_objects_under_their_real_name_while_the_notice_runs(
    session: AsyncSession, projects: Projects
) -> None:
    [approved] = await approved_projects(session, projects, "applicant")
    project_id, number = approved["project_id"], approved["project_number"]

    lodged = await lodge_in_person(projects, project_id)
    assert lodged.status_code == 201, lodged.text
    receipt = lodged.json()
    assert (receipt["project_id"], receipt["project_number"], receipt["status"]) == (
        project_id,
        number,
        "open",
    )
    assert IN_PERSON["contact"] not in lodged.text  # nothing said about oneself comes back
    by_mail = await lodge_in_person(
        projects, project_id, contact="Zhao.Min@Example.org", organization="  "
    )
    assert by_mail.status_code == 201, by_mail.text

    # The manager handles them as any other, and reads who objected and how to reach them.
    listed = await projects.call("GET", f"/v1/projects/{project_id}/objections", "manager")
    found = {o["id"]: o for o in listed.json()["items"]}
    assert {
        k: found[receipt["id"]][k]
        for k in ("filed_by", "objector_name", "objector_contact", "objector_organization")
    } == {
        "filed_by": None,
        "objector_name": "赵敏",
        "objector_contact": "139 3101 2233",
        "objector_organization": "兰州市城关区居民",
    }
    assert found[receipt["id"]]["reasons"] == IN_PERSON["reasons"]
    assert (
        found[by_mail.json()["id"]]["objector_contact"],
        found[by_mail.json()["id"]]["objector_organization"],
    ) == (
        "zhao.min@example.org",
        None,
    )
    # The public listing, the PI and the project's history never show the objector.
    public = [
        await projects.call("GET", "/v1/public/projects", None, params={"notice_running": True}),
        await projects.call("GET", f"/v1/public/projects/{number}", None),
        await projects.call("GET", f"/v1/projects/{project_id}/objections", "applicant"),
        await projects.call("GET", f"/v1/projects/{project_id}/history", "applicant"),
    ]
    for reply in public:
        assert reply.status_code == 200, reply.text
        for private in ("赵敏", "139 3101 2233", "zhao.min@example.org", "城关区"):
            assert private not in reply.text
    assert public[2].json()["items"] == []

    dismissed = await resolve_objection(projects, project_id, receipt["id"], "dismiss")
    assert dismissed.status_code == 200, dismissed.text
    assert dismissed.json()["objection"]["status"] == "dismissed"
    [decided] = [
        e
        for e in await outbox(session, "objection.decided.v2")
        if e["objection_id"] == receipt["id"]
    ]
    assert decided["objector_id"] is None
    told = json.dumps(decided, ensure_ascii=False)
    assert "赵敏" not in told  # who objected stays with the agency
    assert "3101" not in told

    projects.clock.advance(days=7)  # the notice is over
    late = await lodge_in_person(projects, project_id)
    assert late.status_code == 409
    assert late.json()["code"] == "notice.over"
    unknown = await lodge_in_person(projects, "0193a5c0-0000-7000-8000-0000000000ff")
    assert unknown.status_code == 404


async def test_a_public_objection_names_someone_the_agency_can_reach(
    session: AsyncSession, projects: Projects
) -> None:
    [approved] = await approved_projects(session, projects, "applicant")
    project_id = approved["project_id"]
    for contact in (
        "13931012233",
        "+86 139-3101-2233",
        "0931-8912345",
        "(0931) 891 2345",
        "+44 20 7946 0958",
        "wang@lzu.edu.cn",
    ):
        reply = await lodge_in_person(projects, project_id, contact=contact)
        assert reply.status_code == 201, (contact, reply.text)

    for contact in ("12345", "139310122", "8912345", "wang@lzu", "wang fang@lzu.edu.cn", ""):
        assert set(
            invalid_fields(await lodge_in_person(projects, project_id, contact=contact))
        ) == {"contact"}, contact
    said = invalid_fields(await lodge_in_person(projects, project_id, contact="微信 zhaomin"))
    assert said["contact"] == "取值无效：应为手机号码、带区号的固定电话或电子邮件地址"
    assert set(invalid_fields(await lodge_in_person(projects, project_id, name=" 赵 "))) == {"name"}
    assert set(invalid_fields(await lodge_in_person(projects, project_id, name="赵" * 51))) == {
        "name"
    }
    assert set(invalid_fields(await lodge_in_person(projects, project_id, reasons="有问题"))) == {
        "reasons"
    }
    listed = await projects.call("GET", f"/v1/projects/{project_id}/objections", "manager")
    assert len(listed.json()["items"]) == 6  # the valid ones only


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
    assert (await lodge_in_person(projects, project_id)).status_code == 404
    # Those who may read it, and the objector, still do.
    own = await projects.call("GET", path, "stranger")
    assert [(o["id"], o["status"]) for o in own.json()["items"]] == [(objection["id"], "upheld")]
    assert (await projects.call("GET", path, "applicant")).json()["items"] == []
    assert len((await projects.call("GET", path, "manager")).json()["items"]) == 1
    missing = await projects.call(
        "GET", "/v1/projects/0193a5c0-0000-7000-8000-0000000000ff/objections", "manager"
    )
    assert missing.status_code == 404
