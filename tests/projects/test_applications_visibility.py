"""Object rules: who may read and change which application; everyone else is told 404."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import Engagement
from tests.projects.conftest import ZDYF, ZDZX, Projects, insert_call
from tests.projects.test_applications_helpers import (
    act,
    complete,
    draft,
    endorsed,
    save,
    submitted,
    upload,
    user,
)

READERS = ("applicant", "org_admin", "manager", "admin")
OUTSIDERS = ("colleague", "applicant2", "org_admin2", "manager2", "evaluator", "expert", "stranger")


def _paths(application: dict[str, Any], attachment_id: str) -> list[str]:
    base = f"/v1/applications/{application['id']}"
    return [
        base,
        f"{base}/versions",
        f"{base}/versions/{application['submitted_version']}",
        f"{base}/history",
        f"{base}/attachments",
        f"{base}/attachments/{attachment_id}",
        f"{base}/formal-check",
    ]


async def test_each_role_reads_only_what_is_theirs(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects)
    application = await endorsed(projects, call)
    attachment_id = application["content"]["attachments"][0]["id"]
    for who in READERS:
        for path in _paths(application, attachment_id):
            response = await projects.call("GET", path, who)
            assert response.status_code == 200, (who, path, response.text)
    for who in OUTSIDERS:
        for path in _paths(application, attachment_id):
            response = await projects.call("GET", path, who)
            assert response.status_code == 404, (who, path)
            assert response.json()["code"] == "application.not_found"
    assert (
        await projects.call("GET", _paths(application, attachment_id)[0], None)
    ).status_code == 401


async def test_an_engaged_evaluator_reads_the_programs_submitted_applications(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects)
    application = await complete(projects, call)
    path = f"/v1/applications/{application['id']}"
    evaluator = user(projects, "evaluator")
    session.add(
        Engagement(
            evaluator_id=evaluator,
            program_id=ZDZX,
            purpose="重大专项执行评价",
            engaged_by=user(projects, "admin"),
        )
    )
    await session.commit()
    submitted = await act(projects, application["id"], "submit", "applicant")
    assert submitted.status_code == 200, submitted.text
    assert (await projects.call("GET", path, "evaluator")).status_code == 404  # other program
    session.add(
        Engagement(
            evaluator_id=evaluator,
            program_id=ZDYF,
            purpose="重点研发计划执行评价",
            engaged_by=user(projects, "admin"),
        )
    )
    await session.commit()
    assert (await projects.call("GET", path, "evaluator")).status_code == 200
    # Reading is all: an evaluator changes nothing.
    refused = await save(projects, application, "evaluator")
    assert refused.status_code == 403


async def test_lists_hold_only_what_the_caller_may_read(
    projects: Projects, session: AsyncSession
) -> None:
    zdyf = await insert_call(session, projects)
    zdzx = await insert_call(session, projects, program_id=ZDZX)
    mine = await submitted(projects, zdyf)
    colleagues = await submitted(projects, zdzx, "colleague")
    other_org = await submitted(projects, zdyf, "applicant2")
    still_a_draft = await draft(projects, zdzx, "applicant2")

    async def listed(who: str, **params: Any) -> set[str]:
        response = await projects.call("GET", "/v1/applications", who, params=params)
        assert response.status_code == 200, response.text
        return {a["id"] for a in response.json()["items"]}

    assert await listed("applicant") == {mine["id"]}
    assert await listed("applicant2") == {other_org["id"], still_a_draft["id"]}
    assert await listed("org_admin") == {mine["id"], colleagues["id"]}
    assert await listed("org_admin2") == {other_org["id"], still_a_draft["id"]}
    # Agency staff list what was submitted to them, never a draft.
    assert await listed("manager") == {mine["id"], other_org["id"]}
    assert await listed("manager2") == {colleagues["id"]}
    assert await listed("admin") == {mine["id"], colleagues["id"], other_org["id"]}
    for who in ("evaluator", "expert", "stranger"):
        assert await listed(who) == set()
    assert await listed("org_admin", call_id=str(zdzx.id)) == {colleagues["id"]}
    assert await listed("admin", status="submitted", call_id=str(zdyf.id)) == {
        mine["id"],
        other_org["id"],
    }
    assert await listed("admin", status="draft") == set()
    assert await listed("org_admin2", status="draft") == {still_a_draft["id"]}


async def test_pages_follow_the_cursor_newest_first(
    projects: Projects, session: AsyncSession
) -> None:
    calls = [await insert_call(session, projects) for _ in range(3)]
    made = [(await draft(projects, call))["id"] for call in calls]
    first = await projects.call("GET", "/v1/applications", "applicant", params={"limit": 2})
    assert [a["id"] for a in first.json()["items"]] == made[::-1][:2]
    cursor = first.json()["next_cursor"]
    assert cursor is not None
    second = await projects.call(
        "GET", "/v1/applications", "applicant", params={"limit": 2, "cursor": cursor}
    )
    assert [a["id"] for a in second.json()["items"]] == made[:1]
    assert second.json()["next_cursor"] is None
    bad = await projects.call("GET", "/v1/applications", "applicant", params={"cursor": "e30"})
    assert bad.status_code == 400
    assert bad.json()["code"] == "pagination.invalid_cursor"


async def test_nobody_but_the_applicant_changes_an_application(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects)
    application = await draft(projects, call)
    for who in ("colleague", "applicant2", "stranger"):
        edit = await save(projects, application, who)
        assert edit.status_code == 404, who
        assert (await upload(projects, application["id"], who)).status_code == 404, who
    for who in ("org_admin", "manager", "admin"):
        assert (await save(projects, application, who)).status_code == 403, who
    latest = await projects.call("GET", f"/v1/applications/{application['id']}", "applicant")
    assert latest.json()["version"] == 1


async def test_lists_name_the_call_and_the_applicant(
    projects: Projects, session: AsyncSession
) -> None:
    """An organization's admin sees whose application it is and for which call, without
    asking once per row."""
    call = await insert_call(session, projects)
    mine = await submitted(projects, call)
    response = await projects.call(
        "GET", "/v1/applications", "org_admin", params={"status": "submitted"}
    )
    assert response.status_code == 200, response.text
    [listed] = response.json()["items"]
    assert listed["id"] == mine["id"]
    assert listed["call_title"] == call.title
    assert listed["applicant_name"] == "王芳"
    one = await projects.call("GET", f"/v1/applications/{mine['id']}", "applicant")
    assert one.json()["call_title"] == call.title
    assert one.json()["applicant_name"] == "王芳"
