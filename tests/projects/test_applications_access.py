"""How much of an application each reader gets: the applicant's side all of it, drafts
included; agency staff what was submitted; an assigned expert the documents under review."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import Assignment, Call, DeclaredConflict, Engagement
from tests.projects.conftest import ZDYF, Projects, content, insert_call
from tests.projects.factories import insert_project, put_on_team
from tests.projects.review_factories import make_expert, make_round
from tests.projects.test_applications_helpers import (
    act,
    complete,
    draft,
    endorsed,
    upload,
    user,
)

STAFF = ("manager", "admin", "evaluator")


async def engage(projects: Projects, session: AsyncSession) -> None:
    session.add(
        Engagement(
            evaluator_id=user(projects, "evaluator"),
            program_id=ZDYF,
            purpose="重点研发计划执行评价",
            engaged_by=user(projects, "admin"),
        )
    )
    await session.commit()


def paths(application_id: str, attachment_id: str, version: int = 1) -> list[str]:
    base = f"/v1/applications/{application_id}"
    return [
        base,
        f"{base}/versions",
        f"{base}/versions/{version}",
        f"{base}/history",
        f"{base}/attachments",
        f"{base}/attachments/{attachment_id}",
    ]


async def test_a_draft_is_its_applicants_and_their_organizations_only(
    projects: Projects, session: AsyncSession
) -> None:
    await engage(projects, session)
    call = await insert_call(session, projects)
    application = await complete(projects, call)
    attachment_id = application["content"]["attachments"][0]["id"]
    for path in paths(application["id"], attachment_id):
        for who in ("applicant", "org_admin"):
            assert (await projects.call("GET", path, who)).status_code == 200, (who, path)
        for who in STAFF:
            refused = await projects.call("GET", path, who)
            assert refused.status_code == 404, (who, path, refused.text)
            assert refused.json()["code"] == "application.not_found"
    for who in STAFF:
        listed = await projects.call("GET", "/v1/applications", who)
        assert application["id"] not in listed.text, who


async def test_staff_read_what_was_submitted_never_the_redraft(
    projects: Projects, session: AsyncSession
) -> None:
    await engage(projects, session)
    call = await insert_call(session, projects)
    first = await endorsed(projects, call)  # version 2 submitted, with its attachment
    application_id = first["id"]
    sent = first["content"]["attachments"][0]["id"]
    returned = await act(
        projects,
        application_id,
        "formal-check/decision",
        "manager",
        decision="return",
        reason="补充材料",
    )
    assert returned.status_code == 200, returned.text
    # The applicant redrafts: a new title and a new attachment, not submitted (yet).
    extra = await upload(projects, application_id, kind="other_material")
    assert extra.status_code == 201, extra.text
    redraft = await projects.call(
        "PUT",
        f"/v1/applications/{application_id}",
        "applicant",
        json={
            "base_version": 2,
            "content": content(
                projects,
                title="草稿中的新题目",
                attachments=[
                    {"id": sent, "kind": "feasibility_report"},
                    {"id": extra.json()["id"], "kind": "other_material"},
                ],
            ),
        },
    )
    assert redraft.status_code == 200, redraft.text
    base = f"/v1/applications/{application_id}"

    mine = (await projects.call("GET", base, "applicant")).json()
    assert (mine["version"], mine["content"]["title"]) == (3, "草稿中的新题目")
    for who in STAFF:
        shown = await projects.call("GET", base, who)
        assert shown.status_code == 200, (who, shown.text)
        body = shown.json()
        assert body["version"] == 2
        assert body["title"] == body["content"]["title"] == first["title"]
        listed = await projects.call("GET", "/v1/applications", who)
        [row] = [a for a in listed.json()["items"] if a["id"] == application_id]
        assert (row["version"], row["title"]) == (2, first["title"])
        versions = (await projects.call("GET", f"{base}/versions", who)).json()
        assert [v["version"] for v in versions["items"]] == [2]
        for hidden in (1, 3):
            assert (await projects.call("GET", f"{base}/versions/{hidden}", who)).status_code == 404
        attachments = (await projects.call("GET", f"{base}/attachments", who)).json()
        assert [a["id"] for a in attachments["items"]] == [sent]
        drafted = await projects.call("GET", f"{base}/attachments/{extra.json()['id']}", who)
        assert drafted.status_code == 404, who
        assert drafted.json()["code"] == "attachment.not_found"
    everything = (await projects.call("GET", f"{base}/versions", "applicant")).json()
    assert [v["version"] for v in everything["items"]] == [1, 2, 3]


async def test_team_members_read_the_application_they_are_on(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects)
    me = str(user(projects, "applicant"))
    team = [
        {"user_id": me, "role": "负责人", "share": 60},
        {"user_id": str(user(projects, "applicant2")), "role": "成员", "share": 40},
    ]
    application = await draft(projects, call, team=team)
    base = f"/v1/applications/{application['id']}"
    for path in (base, f"{base}/versions", f"{base}/versions/1", f"{base}/attachments"):
        reply = await projects.call("GET", path, "applicant2")
        assert reply.status_code == 200, (path, reply.text)
    listed = await projects.call("GET", "/v1/applications", "applicant2")
    assert application["id"] in {a["id"] for a in listed.json()["items"]}
    # Taken off the team in the next version: the application is no longer theirs to read.
    off = await projects.call(
        "PUT",
        base,
        "applicant",
        json={"base_version": 1, "content": content(projects, team=[{**team[0], "share": 100}])},
    )
    assert off.status_code == 200, off.text
    assert (await projects.call("GET", base, "applicant2")).status_code == 404
    # Being on a team is not a licence to change it.
    edit = await projects.call(
        "PUT", base, "applicant2", json={"base_version": 2, "content": content(projects)}
    )
    assert edit.status_code == 404


async def test_team_members_read_the_project_they_are_on(
    projects: Projects, session: AsyncSession
) -> None:
    project = await insert_project(session, projects)
    path = f"/v1/projects/{project.id}"
    assert (await projects.call("GET", path, "colleague")).status_code == 404
    await put_on_team(session, project, projects.callers["colleague"])
    for sub in ("", "/history", "/reports", "/changes"):
        reply = await projects.call("GET", f"{path}{sub}", "colleague")
        assert reply.status_code == 200, (sub, reply.text)
    listed = await projects.call("GET", "/v1/projects", "colleague")
    assert str(project.id) in {p["id"] for p in listed.json()["items"]}
    # Reading the project is not leading it: reports are the PI's.
    report = await projects.call(
        "POST",
        f"{path}/reports",
        "colleague",
        json={"kind": "midterm", "content": {"summary": "中期报告"}},
    )
    assert report.status_code == 403


async def in_review(projects: Projects, call: Call) -> Any:
    """Submitted, endorsed and passed to review (version 2, with its attachment)."""
    application = await endorsed(projects, call)
    passed = await act(
        projects, application["id"], "formal-check/decision", "manager", decision="pass"
    )
    assert passed.status_code == 200, passed.text
    return passed.json()


async def assign(
    session: AsyncSession, projects: Projects, application: dict[str, Any], expert: str
) -> Assignment:
    call = await session.get(Call, UUID(application["call_id"]))
    assert call is not None
    round_ = await make_round(session, projects, call, state="reviewing")
    assignment = Assignment(
        round_id=round_.id,
        application_id=application["id"],
        expert_id=projects.callers[expert].user_id,
        status="invited",
        match_score=80,
        explanation={},
        source="manual",
        assigned_by=user(projects, "manager"),
        assigned_at=projects.clock.now,
    )
    session.add(assignment)
    await session.commit()
    return assignment


async def test_an_assigned_expert_opens_the_documents_under_review_and_nothing_else(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects)
    application = await in_review(projects, call)
    attachment_id = application["content"]["attachments"][0]["id"]
    await make_expert(session, projects, "评审专家", org=None)
    await make_expert(session, projects, "另一专家", org=None)
    base = f"/v1/applications/{application['id']}"
    download = f"{base}/attachments/{attachment_id}"
    assert (await projects.call("GET", download, "评审专家")).status_code == 404
    assignment = await assign(session, projects, application, "评审专家")

    mine = await projects.call("GET", "/v1/me/assignments", "评审专家")
    assert [a["application"]["id"] for a in mine.json()["items"]] == [application["id"]]
    opened = await projects.call("GET", download, "评审专家")
    assert opened.status_code == 200, opened.text
    assert opened.content.startswith(b"%PDF")
    listed = await projects.call("GET", f"{base}/attachments", "评审专家")
    assert [a["id"] for a in listed.json()["items"]] == [attachment_id]
    # The documents, not the application's record: that comes with the assignment.
    for path in (base, f"{base}/versions", f"{base}/versions/2", f"{base}/history"):
        assert (await projects.call("GET", path, "评审专家")).status_code == 404, path
    # Nobody else's assignment opens it.
    assert (await projects.call("GET", download, "另一专家")).status_code == 404

    # Once the assignment no longer stands (declined), the documents are closed again.
    declined = await projects.call(
        "POST",
        f"/v1/assignments/{assignment.id}/decline",
        "评审专家",
        json={"reason": "时间冲突"},
    )
    assert declined.status_code == 200, declined.text
    assert (await projects.call("GET", download, "评审专家")).status_code == 404


async def test_a_conflict_closes_the_documents_as_it_hides_the_assignment(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects)
    application = await in_review(projects, call)
    download = (
        f"/v1/applications/{application['id']}/attachments/"
        f"{application['content']['attachments'][0]['id']}"
    )
    await make_expert(session, projects, "评审专家", org=None)
    await assign(session, projects, application, "评审专家")
    assert (await projects.call("GET", download, "评审专家")).status_code == 200
    session.add(
        DeclaredConflict(
            expert_id=projects.callers["评审专家"].user_id,
            person_id=user(projects, "applicant"),
            reason="与申请人有合作关系",
        )
    )
    await session.commit()
    assert (await projects.call("GET", download, "评审专家")).status_code == 404
    assert (await projects.call("GET", "/v1/me/assignments", "评审专家")).json()["items"] == []
