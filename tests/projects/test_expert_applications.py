"""People apply to join the expert pool; a program manager other than the applicant approves
(the person is in the pool, `expert.admitted` is published with it) or declines, always with
a reason (`expert_application.declined`)."""

from __future__ import annotations

from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import Expert, events
from tests.projects.conftest import Projects

APPLICATION = {
    "title": "研究员",
    "region": "甘肃",
    "primary_subjects": ["210.20"],
    "secondary_subjects": ["210.10"],
    "keywords": ["小麦", "节水农业"],
    "statement": "长期从事旱区小麦栽培研究，曾参加省级项目评审十余次。",
}


async def apply(projects: Projects, who: str, **changes: Any) -> httpx.Response:
    return await projects.call("POST", "/v1/expert-applications", who, json=APPLICATION | changes)


async def decide(
    projects: Projects,
    application_id: str,
    who: str,
    decision: str,
    reason: str | None = "理由充分",
) -> httpx.Response:
    body: dict[str, Any] = {"decision": decision}
    if reason is not None:
        body["reason"] = reason
    return await projects.call(
        "POST", f"/v1/expert-applications/{application_id}/decision", who, json=body
    )


async def published(session: AsyncSession, event_type: str) -> list[dict[str, Any]]:
    rows = await session.execute(
        sa.select(events.outbox.c.payload)
        .where(events.outbox.c.event_type == event_type)
        .order_by(events.outbox.c.id)
    )
    return [dict(r.payload) for r in rows]


async def test_a_researcher_applies_and_sees_the_application_pending(projects: Projects) -> None:
    reply = await apply(projects, "applicant")
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert body["state"] == "pending"
    assert body["name"] == "王芳"
    assert body["org_name"] == "兰州大学"
    assert body["primary_subjects"] == ["210.20"]
    mine = (await projects.call("GET", "/v1/me/expert-applications", "applicant")).json()
    assert [a["id"] for a in mine["items"]] == [body["id"]]
    assert (await projects.call("GET", "/v1/me/expert-applications", "colleague")).json()[
        "items"
    ] == []


async def test_a_second_application_while_one_is_pending_is_refused(projects: Projects) -> None:
    first = await apply(projects, "applicant")
    again = await apply(projects, "applicant", title="教授")
    assert again.status_code == 409
    assert again.json()["code"] == "expert_application.pending"
    assert again.json()["application_id"] == first.json()["id"]


async def test_an_expert_is_told_they_are_in_the_pool_already(projects: Projects) -> None:
    reply = await apply(projects, "expert")
    assert reply.status_code == 409
    assert reply.json()["code"] == "expert_application.already_expert"


async def test_an_inconsistent_application_is_refused(projects: Projects) -> None:
    both = await apply(projects, "applicant", secondary_subjects=["210.20"])
    assert both.status_code == 422
    bare = await apply(projects, "applicant", statement="我")
    assert bare.status_code == 422


async def test_a_manager_approves_and_the_person_joins_the_pool_with_an_event(
    session: AsyncSession, projects: Projects
) -> None:
    application = (await apply(projects, "applicant")).json()
    reply = await decide(
        projects, application["id"], "manager", "approve", "研究方向与评审需求相符"
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["state"] == "approved"
    assert reply.json()["reason"] == "研究方向与评审需求相符"
    user_id = projects.callers["applicant"].user_id
    expert = await session.scalar(sa.select(Expert).where(Expert.user_id == user_id))
    assert expert is not None
    assert (expert.name, expert.title, expert.keywords) == ("王芳", "研究员", ["小麦", "节水农业"])
    assert expert.org_id == projects.callers["applicant"].org_id
    entry = await projects.call("GET", f"/v1/experts/{user_id}", "manager")
    assert entry.status_code == 200
    [event] = await published(session, "expert.admitted")
    assert event["user_id"] == str(user_id)
    assert event["application_id"] == application["id"]
    assert event["decided_by"] == str(projects.callers["manager"].user_id)
    assert await published(session, "expert_application.declined") == []
    again = await decide(projects, application["id"], "manager2", "decline")
    assert again.status_code == 409
    assert again.json()["code"] == "expert_application.decided"


async def test_a_decline_needs_a_reason_and_tells_it(
    session: AsyncSession, projects: Projects
) -> None:
    application = (await apply(projects, "applicant")).json()
    for reason in (None, "", " "):
        refused = await decide(projects, application["id"], "manager", "decline", reason)
        assert refused.status_code == 422, reason
    reply = await decide(projects, application["id"], "manager", "decline", "评审经历不足")
    assert reply.status_code == 200, reply.text
    assert reply.json()["state"] == "declined"
    [event] = await published(session, "expert_application.declined")
    assert event["reason"] == "评审经历不足"
    assert event["user_id"] == str(projects.callers["applicant"].user_id)
    assert await published(session, "expert.admitted") == []
    user_id = projects.callers["applicant"].user_id
    assert await session.scalar(sa.select(Expert).where(Expert.user_id == user_id)) is None
    # Declined, one may apply again.
    assert (await apply(projects, "applicant")).status_code == 201


async def test_a_manager_who_applies_cannot_approve_himself(projects: Projects) -> None:
    application = (await apply(projects, "manager")).json()
    own = await decide(projects, application["id"], "manager", "approve")
    assert own.status_code == 403
    assert own.json()["code"] == "expert_application.own"
    other = await decide(projects, application["id"], "manager2", "approve")
    assert other.status_code == 200, other.text


async def test_only_program_staff_decide_and_list(projects: Projects) -> None:
    application = (await apply(projects, "applicant")).json()
    for who in ("org_admin", "colleague", "applicant", "expert"):
        reply = await decide(projects, application["id"], who, "approve")
        assert reply.status_code == 403, who
        listed = await projects.call("GET", "/v1/expert-applications", who)
        assert listed.status_code == 403, who
    assert (await decide(projects, application["id"], "admin", "approve")).status_code == 200


async def test_managers_page_through_the_pending_applications(projects: Projects) -> None:
    for who in ("applicant", "colleague", "applicant2"):
        assert (await apply(projects, who)).status_code == 201
    decided = (await apply(projects, "org_admin")).json()
    assert (await decide(projects, decided["id"], "manager", "decline")).status_code == 200

    seen: list[str] = []
    query: dict[str, Any] = {"status": "pending", "limit": 2}
    while True:
        page = await projects.call("GET", "/v1/expert-applications", "manager", params=query)
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["items"]) <= 2
        seen += [a["name"] for a in body["items"]]
        if body["next_cursor"] is None:
            break
        query = {"status": "pending", "limit": 2, "cursor": body["next_cursor"]}
    assert seen == ["王芳", "陈静", "刘洋"]
    declined = await projects.call(
        "GET", "/v1/expert-applications", "manager", params={"status": "declined"}
    )
    assert [a["id"] for a in declined.json()["items"]] == [decided["id"]]
    unknown = await projects.call(
        "GET", "/v1/expert-applications", "manager", params={"state": "pending"}
    )
    assert unknown.status_code == 422
    bad = await projects.call(
        "GET", "/v1/expert-applications", "manager", params={"status": "lost"}
    )
    assert bad.status_code == 422


async def test_an_unknown_application_is_not_found(projects: Projects) -> None:
    reply = await decide(projects, "0193a5c0-0000-7000-8000-00000000ffff", "manager", "approve")
    assert reply.status_code == 404
