"""Projects after approval: reading them (every role), the task book and its signatures
(`project.contracted`), termination (`project.terminated` as the credit service reads it), and
illegal transitions.

`task_book` and `contracted_projects` are shared with the other execution tests.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import ApplicationVersion, Project, Transition
from shared.contracts.projects import ProjectTerminatedV1
from tests.projects.conftest import ZDYF, Projects
from tests.projects.test_decisions import BUDGET, approved_projects, outbox

OBJECTION = {"reasons": "该项目与已结题项目内容重复，请核查。"}
ORG_ADMIN_OF = {"applicant": "org_admin", "colleague": "org_admin", "applicant2": "org_admin2"}


def task_book(budget: int = BUDGET, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "budget": {
            "equipment": budget // 5,
            "business": budget // 2,
            "labour": budget // 5,
            "indirect": budget // 10,
        },
        "tranches": [
            {"name": "首笔拨款", "amount_fen": budget // 2, "on": "signing"},
            {"name": "中期拨款", "amount_fen": budget * 3 // 8, "on": "midterm"},
            {"name": "验收后拨款", "amount_fen": budget // 8, "on": "acceptance"},
        ],
        "starts_on": "2026-05-01",
        "ends_on": "2028-12-31",
    }
    body.update(overrides)
    return body


async def sign(projects: Projects, project_id: str, who: str) -> Any:
    return await projects.call("POST", f"/v1/projects/{project_id}/task-book/sign", who)


async def contracted_projects(
    session: AsyncSession, projects: Projects, *people: str, book: dict[str, Any] | None = None
) -> list[str]:
    """Projects in progress (task book signed by both sides, `book` or `task_book()`), one per
    person."""
    approved = await approved_projects(session, projects, *people)
    projects.clock.advance(days=8)
    ids = []
    for person, decision in zip(people, approved, strict=True):
        project_id = decision["project_id"]
        drafted = await projects.call(
            "PUT", f"/v1/projects/{project_id}/task-book", "manager", json=book or task_book()
        )
        assert drafted.status_code == 200, drafted.text
        assert (await sign(projects, project_id, ORG_ADMIN_OF[person])).status_code == 200
        signed = await sign(projects, project_id, "manager")
        assert signed.json()["status"] == "in_progress", signed.text
        ids.append(project_id)
    return ids


# --- reading ---------------------------------------------------------------------------------


async def test_who_reads_a_project_and_its_history(
    session: AsyncSession, projects: Projects
) -> None:
    [project_id] = await contracted_projects(session, projects, "applicant")

    for who in ("applicant", "org_admin", "manager", "admin"):
        found = await projects.call("GET", f"/v1/projects/{project_id}", who)
        assert found.status_code == 200, who
        listed = await projects.call("GET", "/v1/projects", who)
        assert [p["id"] for p in listed.json()["items"]] == [project_id], who
        story = await projects.call("GET", f"/v1/projects/{project_id}/history", who)
        assert story.status_code == 200, who
    for who in ("applicant2", "stranger", "colleague", "org_admin2", "manager2", "evaluator"):
        for path in (f"/v1/projects/{project_id}", f"/v1/projects/{project_id}/history"):
            hidden = await projects.call("GET", path, who)
            assert hidden.status_code == 404, (who, path)
            assert hidden.json()["code"] == "project.not_found"
        listed = await projects.call("GET", "/v1/projects", who)
        assert listed.json()["items"] == [], who

    story = (await projects.call("GET", f"/v1/projects/{project_id}/history", "applicant")).json()[
        "items"
    ]
    assert [(t["action"], t["from_state"], t["to_state"]) for t in story] == [
        ("decision.approve", "in_review", "approved"),
        ("approved", None, "in_notice"),
        ("notice.ended", "in_notice", "awaiting_contract"),
        ("task_book.drafted", "awaiting_contract", "awaiting_contract"),
        ("task_book.signed", "awaiting_contract", "awaiting_contract"),
        ("task_book.signed", "awaiting_contract", "awaiting_contract"),
        ("contracted", "awaiting_contract", "in_progress"),
        ("report_schedule.created", "in_progress", "in_progress"),
    ]
    manager = str(projects.callers["manager"].user_id)
    assert story[-1]["actor_id"] == manager
    assert story[-1]["at"].endswith("+08:00")


async def test_the_project_list_filters(session: AsyncSession, projects: Projects) -> None:
    approved = await approved_projects(session, projects, "applicant", "applicant2")
    everything = await projects.call("GET", "/v1/projects", "manager")
    assert {p["number"] for p in everything.json()["items"]} == {
        "2026-ZDYF-0001",
        "2026-ZDYF-0002",
    }
    for query, expected in [
        ({"program_id": str(ZDYF), "year": 2026}, 2),
        ({"year": 2025}, 0),
        ({"status": "in_notice"}, 2),
        ({"status": "in_progress"}, 0),
        ({"limit": 1}, 1),
    ]:
        found = await projects.call("GET", "/v1/projects", "manager", params=query)
        assert len(found.json()["items"]) == expected, query
    mine = await projects.call("GET", "/v1/projects", "org_admin2")
    assert [p["id"] for p in mine.json()["items"]] == [approved[1]["project_id"]]
    wrong = await projects.call("GET", "/v1/projects", "manager", params={"status": "lost"})
    assert wrong.status_code == 422


async def test_the_project_list_comes_in_pages(session: AsyncSession, projects: Projects) -> None:
    await approved_projects(session, projects, "applicant", "applicant2", "colleague")
    numbers: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    for _ in range(3):
        page = await projects.call("GET", "/v1/projects", "manager", params=params)
        assert page.status_code == 200, page.text
        numbers += [p["number"] for p in page.json()["items"]]
        if page.json()["next_cursor"] is None:
            break
        params = {"limit": 2, "cursor": page.json()["next_cursor"]}
    assert numbers == ["2026-ZDYF-0001", "2026-ZDYF-0002", "2026-ZDYF-0003"]
    last = await projects.call("GET", "/v1/projects", "manager", params={"limit": 3})
    assert last.json()["next_cursor"] is None


async def test_reads_show_a_notice_that_ran_out_as_awaiting_contract_without_writing(
    session: AsyncSession, projects: Projects
) -> None:
    quiet, objected = await approved_projects(session, projects, "applicant", "applicant2")
    objection = await projects.call(
        "POST", f"/v1/projects/{objected['project_id']}/objections", "stranger", json=OBJECTION
    )
    assert objection.status_code == 201
    projects.clock.advance(days=7)  # the notice ends now

    def statuses(reply: Any) -> dict[str, str]:
        return {p["id"]: p["status"] for p in reply.json()["items"]}

    listed = await projects.call("GET", "/v1/projects", "manager")
    assert statuses(listed) == {
        quiet["project_id"]: "awaiting_contract",
        objected["project_id"]: "in_notice",  # an open objection holds it
    }
    one = await projects.call("GET", f"/v1/projects/{quiet['project_id']}", "applicant")
    assert one.json()["status"] == "awaiting_contract"
    for status, expected in (
        ("awaiting_contract", [quiet["project_id"]]),
        ("in_notice", [objected["project_id"]]),
    ):
        found = await projects.call("GET", "/v1/projects", "manager", params={"status": status})
        assert list(statuses(found)) == expected, status

    # Nothing was written: the row moves with the first action that needs the notice over.
    row = await session.scalar(
        sa.select(Project.status)
        .where(Project.id == UUID(quiet["project_id"]))
        .execution_options(populate_existing=True)
    )
    assert row == "in_notice"
    ended = sa.select(sa.func.count()).where(Transition.action == "notice.ended")
    assert await session.scalar(ended) == 0

    # Dismissing the last objection after the end: the answer shows where it stands now.
    dismissed = await projects.call(
        "POST",
        f"/v1/projects/{objected['project_id']}/objections/{objection.json()['id']}/resolution",
        "manager",
        json={"decision": "dismiss", "resolution": "经核查，异议不成立"},
    )
    assert dismissed.json()["project"]["status"] == "awaiting_contract"


# --- the task book ---------------------------------------------------------------------------


async def test_the_task_book_must_add_up(session: AsyncSession, projects: Projects) -> None:
    [approved] = await approved_projects(session, projects, "applicant")
    path = f"/v1/projects/{approved['project_id']}/task-book"
    two_signing = task_book()
    two_signing["tranches"][1]["on"] = "signing"
    none_signing = task_book()
    none_signing["tranches"][0]["on"] = "midterm"
    short_tranches = task_book()
    short_tranches["tranches"][2]["amount_fen"] -= 1
    for body, field in [
        (task_book(budget=BUDGET + 10), "budget"),
        (short_tranches, "tranches"),
        (two_signing, "tranches"),
        (none_signing, "tranches"),
        (task_book(ends_on="2026-04-01"), "ends_on"),
    ]:
        reply = await projects.call("PUT", path, "manager", json=body)
        assert reply.status_code == 422, body
        assert reply.json()["code"] == "task_book.invalid"
        assert field in {p["field"] for p in reply.json()["problems"]}

    shaped = await projects.call(
        "PUT", path, "manager", json={**task_book(), "budget": {"equipment": 1}}
    )
    assert shaped.status_code == 422
    assert shaped.json()["code"] == "request.invalid"

    good = await projects.call("PUT", path, "manager", json=task_book())
    assert good.status_code == 200, good.text
    book = good.json()["task_book"]
    # Milestones and indicators come from the submitted application unless given.
    assert [i["name"] for i in book["indicators"]] == ["发表论文", "示范面积"]
    assert book["milestones"][0] == {"name": "完成田间试验设计", "due": "2027-06-30"}
    given = task_book(indicators=[{"name": "授权发明专利", "target": 3, "unit": "件"}])
    redrafted = await projects.call("PUT", path, "manager", json=given)
    assert redrafted.json()["task_book"]["indicators"] == [
        {"name": "授权发明专利", "target": 3, "unit": "件"}
    ]

    elsewhere = await projects.call("PUT", path, "manager2", json=task_book())
    assert elsewhere.status_code == 404
    pi = await projects.call("PUT", path, "applicant", json=task_book())
    assert pi.status_code == 403


async def test_both_signatures_start_the_project_and_tell_funds_once(
    session: AsyncSession, projects: Projects
) -> None:
    [approved] = await approved_projects(session, projects, "applicant")
    project_id = approved["project_id"]
    await projects.call("PUT", f"/v1/projects/{project_id}/task-book", "manager", json=task_book())
    projects.clock.advance(days=7)  # exactly the end of the notice

    shown = await projects.call("GET", f"/v1/projects/{project_id}", "manager")
    assert shown.json()["status"] == "awaiting_contract"  # the notice is over, nobody objected
    assert (await sign(projects, project_id, "org_admin2")).status_code == 404
    assert (await sign(projects, project_id, "applicant")).status_code == 403
    assert (await sign(projects, project_id, "applicant")).json()["code"] == "task_book.not_a_party"
    assert (await sign(projects, project_id, "manager2")).status_code == 404

    by_org = await sign(projects, project_id, "org_admin")
    assert by_org.status_code == 200, by_org.text
    assert by_org.json()["status"] == "awaiting_contract"
    locked = await projects.call(
        "PUT", f"/v1/projects/{project_id}/task-book", "manager", json=task_book()
    )
    assert locked.status_code == 409
    assert locked.json()["code"] == "task_book.signed"

    by_agency = await sign(projects, project_id, "manager")
    assert by_agency.status_code == 200
    body = by_agency.json()
    assert body["status"] == "in_progress"
    assert body["contracted_at"] is not None
    assert (body["starts_on"], body["ends_on"]) == ("2026-05-01", "2028-12-31")
    assert (await sign(projects, project_id, "manager")).status_code == 200  # a retry
    assert (await sign(projects, project_id, "org_admin")).status_code == 200

    events = await outbox(session, "project.contracted")
    assert events == [
        {
            "project_id": project_id,
            "project_number": "2026-ZDYF-0001",
            "program_id": str(ZDYF),
            "program_code": "ZDYF",
            "year": 2026,
            "org": {
                "id": str(projects.orgs[1]),
                "name": "兰州大学",
                "credit_code": events[0]["org"]["credit_code"],
            },
            "pi": {"id": str(projects.callers["applicant"].user_id), "name": "王芳"},
            "approved_budget_fen": BUDGET,
            "budget": {
                "equipment": 16_000_000,
                "business": 40_000_000,
                "labour": 16_000_000,
                "indirect": 8_000_000,
            },
            "tranches": [
                {"name": "首笔拨款", "amount_fen": 40_000_000, "on": "signing"},
                {"name": "中期拨款", "amount_fen": 30_000_000, "on": "midterm"},
                {"name": "验收后拨款", "amount_fen": 10_000_000, "on": "acceptance"},
            ],
            "starts_on": "2026-05-01",
            "ends_on": "2028-12-31",
        }
    ]
    assert len(events[0]["org"]["credit_code"]) == 18
    late = await projects.call(
        "PUT", f"/v1/projects/{project_id}/task-book", "manager", json=task_book()
    )
    assert late.status_code == 409
    assert late.json()["state"] == "in_progress"


async def test_signing_needs_a_task_book(session: AsyncSession, projects: Projects) -> None:
    [approved] = await approved_projects(session, projects, "applicant")
    projects.clock.advance(days=8)
    reply = await sign(projects, approved["project_id"], "manager")
    assert reply.status_code == 409
    assert reply.json()["code"] == "task_book.missing"


async def test_the_agency_side_is_bound_by_separation_of_duties(
    session: AsyncSession, projects: Projects
) -> None:
    [approved] = await approved_projects(session, projects, "applicant")
    project_id = approved["project_id"]
    await projects.call("PUT", f"/v1/projects/{project_id}/task-book", "manager", json=task_book())
    projects.clock.advance(days=8)
    version = await session.get(ApplicationVersion, (UUID(approved["application_id"]), 1))
    assert version is not None
    member = {"user_id": str(projects.callers["manager"].user_id), "role": "成员", "share": 5}
    version.content = {**version.content, "team": [*version.content["team"], member]}
    await session.commit()

    conflicted = await sign(projects, project_id, "manager")
    assert conflicted.status_code == 403
    assert conflicted.json()["code"] == "duty.conflict"
    assert (await sign(projects, project_id, "admin")).status_code == 200


async def test_an_organization_admin_does_not_sign_for_their_own_project(
    session: AsyncSession, projects: Projects
) -> None:
    """The organization's side: neither the PI nor a team member signs for the unit."""
    own, on_team = await approved_projects(session, projects, "org_admin", "colleague")
    version = await session.get(ApplicationVersion, (UUID(on_team["application_id"]), 1))
    assert version is not None
    member = {"user_id": str(projects.callers["org_admin"].user_id), "role": "成员", "share": 5}
    version.content = {**version.content, "team": [*version.content["team"], member]}
    await session.commit()
    projects.clock.advance(days=8)
    for approved in (own, on_team):
        project_id = approved["project_id"]
        drafted = await projects.call(
            "PUT", f"/v1/projects/{project_id}/task-book", "manager", json=task_book()
        )
        assert drafted.status_code == 200, drafted.text
        refused = await sign(projects, project_id, "org_admin")
        assert refused.status_code == 403
        assert refused.json()["code"] == "duty.conflict"
        book = (await projects.call("GET", f"/v1/projects/{project_id}", "manager")).json()
        assert book["task_book"]["org_signed_at"] is None
        # The agency may sign its side; the project waits for an unconflicted organization.
        assert (await sign(projects, project_id, "manager")).json()["status"] == (
            "awaiting_contract"
        )


# --- termination -----------------------------------------------------------------------------


async def test_termination_for_misconduct_proposes_a_credit_record(
    session: AsyncSession, projects: Projects
) -> None:
    [project_id] = await contracted_projects(session, projects, "applicant")
    path = f"/v1/projects/{project_id}/termination"
    misconduct = {
        "cause": "misconduct",
        "reason": "中期检查发现数据造假",
        "rule_code": "FABRICATION",
    }
    assert (await projects.call("POST", path, "manager2", json=misconduct)).status_code == 404
    assert (await projects.call("POST", path, "applicant", json=misconduct)).status_code == 403

    reply = await projects.call("POST", path, "manager", json=misconduct)
    assert reply.status_code == 200, reply.text
    assert reply.json()["status"] == "terminated"
    assert reply.json()["termination_cause"] == "misconduct"

    [payload] = await outbox(session, "project.terminated")
    event = ProjectTerminatedV1.model_validate(payload)
    assert event.at_fault is True
    assert event.rule_code == "FABRICATION"
    assert event.project_number == "2026-ZDYF-0001"
    assert event.reason == "中期检查发现数据造假"
    assert event.managing_agency == "甘肃省科学技术厅"
    assert event.pi.name == "王芳"
    assert str(event.pi.gateway_user_id) == str(projects.callers["applicant"].user_id)
    assert event.organization.name == "兰州大学"
    assert str(event.organization.gateway_org_id) == str(projects.orgs[1])
    assert event.organization.credit_code is not None
    assert (payload["project_id"], payload["cause"]) == (project_id, "misconduct")

    again = await projects.call("POST", path, "manager", json=misconduct)
    assert again.status_code == 409
    assert again.json()["state"] == "terminated"
    report = await projects.call(
        "POST",
        f"/v1/projects/{project_id}/reports",
        "applicant",
        json={"kind": "annual", "content": {"summary": "年度进展"}},
    )
    assert report.status_code == 409
    assert report.json()["state"] == "terminated"


async def test_termination_on_request_is_not_at_fault(
    session: AsyncSession, projects: Projects
) -> None:
    [approved] = await approved_projects(session, projects, "applicant")
    path = f"/v1/projects/{approved['project_id']}/termination"
    blamed = {"cause": "request", "reason": "承担单位主动申请终止", "rule_code": "FABRICATION"}
    assert (await projects.call("POST", path, "manager", json=blamed)).status_code == 422

    reply = await projects.call(
        "POST", path, "manager", json={"cause": "request", "reason": "承担单位主动申请终止"}
    )
    assert reply.status_code == 200, reply.text
    [payload] = await outbox(session, "project.terminated")
    event = ProjectTerminatedV1.model_validate(payload)
    assert event.at_fault is False
    assert payload["cause"] == "request"
    assert "rule_code" not in payload


async def test_misconduct_without_a_rule_uses_the_general_one(
    session: AsyncSession, projects: Projects
) -> None:
    [approved] = await approved_projects(session, projects, "applicant")
    reply = await projects.call(
        "POST",
        f"/v1/projects/{approved['project_id']}/termination",
        "manager",
        json={"cause": "misconduct", "reason": "以虚假材料骗取立项"},
    )
    assert reply.status_code == 200
    [payload] = await outbox(session, "project.terminated")
    assert ProjectTerminatedV1.model_validate(payload).rule_code == "TERMINATED_AT_FAULT"


async def test_illegal_moves_answer_with_the_current_state(
    session: AsyncSession, projects: Projects
) -> None:
    [approved] = await approved_projects(session, projects, "applicant")
    project_id = approved["project_id"]
    report = await projects.call(
        "POST",
        f"/v1/projects/{project_id}/reports",
        "applicant",
        json={"kind": "annual", "content": {"summary": "年度进展"}},
    )
    assert report.status_code == 409
    assert report.json()["state"] == "in_notice"
    change = await projects.call(
        "POST",
        f"/v1/projects/{project_id}/changes",
        "applicant",
        json={"kind": "extension", "new_ends_on": "2029-06-30", "reason": "试验受天气影响"},
    )
    assert change.status_code == 409
    assert change.json()["state"] == "in_notice"

    await projects.call(
        "POST",
        f"/v1/projects/{project_id}/termination",
        "manager",
        json={"cause": "inability", "reason": "负责人调离，无法继续"},
    )
    objection = await projects.call(
        "POST", f"/v1/projects/{project_id}/objections", "stranger", json=OBJECTION
    )
    assert objection.status_code == 409
    assert objection.json()["state"] == "terminated"
    projects.clock.advance(days=8)
    signing = await sign(projects, project_id, "org_admin")
    assert signing.status_code == 409
    assert signing.json()["state"] == "terminated"
