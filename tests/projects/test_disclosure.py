"""Public disclosure (信息公开): approved projects, searchable by anyone without logging in."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import Call, Objection, Project
from tests.projects.conftest import ZDYF, ZDZX, Projects
from tests.projects.factories import insert_project

PUBLIC_KEYS = {
    "id",
    "number",
    "title",
    "call_id",
    "call_title",
    "program_code",
    "program_name_zh",
    "program_name_en",
    "year",
    "organization_id",
    "organization_name",
    "pi_name",
    "approved_budget_fen",
    "status",
    "notice_starts_at",
    "notice_ends_at",
    "starts_on",
    "ends_on",
    "contracted_at",
    "closed_at",
    "termination_cause",
}


@pytest.fixture
async def published(session: AsyncSession, projects: Projects) -> dict[str, Project]:
    """Projects of both organizations, programs and two years, and a cancelled one."""
    return {
        "wheat": await insert_project(session, projects, "applicant"),
        "plateau": await insert_project(
            session,
            projects,
            "applicant2",
            ZDZX,
            status="in_progress",
            title="青藏高原东缘生态修复技术集成",
            contracted_at=datetime(2026, 5, 1, 2, 0, tzinfo=UTC),
            starts_on=date(2026, 5, 1),
            ends_on=date(2029, 4, 30),
        ),
        "older": await insert_project(
            session, projects, "colleague", year=2025, status="accepted", title="荒漠光伏运维"
        ),
        "cancelled": await insert_project(
            session, projects, "applicant2", status="cancelled", title="被撤销的小麦项目"
        ),
    }


async def search(projects: Projects, **params: Any) -> list[str]:
    reply = await projects.call("GET", "/v1/public/projects", None, params=params)
    assert reply.status_code == 200, reply.text
    return [item["number"] for item in reply.json()["items"]]


async def test_anyone_lists_approved_projects_by_number_but_not_cancelled_ones(
    session: AsyncSession, projects: Projects, published: dict[str, Project]
) -> None:
    reply = await projects.call("GET", "/v1/public/projects", None)

    assert reply.status_code == 200, reply.text
    items = reply.json()["items"]
    listed = [p["number"] for p in items]
    assert listed == sorted(p.number for k, p in published.items() if k != "cancelled")
    assert published["cancelled"].number not in listed
    wheat = next(p for p in items if p["number"] == published["wheat"].number)
    # The PI's name is the only personal data; no ids of people, nothing of the application.
    assert set(wheat) == PUBLIC_KEYS
    assert wheat["pi_name"] == "王芳"
    assert wheat["organization_name"] == "兰州大学"
    assert wheat["organization_id"] == str(projects.orgs[1])
    assert wheat["program_code"] == "ZDYF"
    assert wheat["program_name_zh"] == "重点研发计划"
    assert wheat["approved_budget_fen"] == 80_000_000
    assert wheat["status"] == "in_notice"
    assert wheat["notice_starts_at"] == "2026-03-02T10:00:00+08:00"  # stated in Shanghai time
    # What the notice page needs: the project to object to, the call it is announced in.
    assert wheat["id"] == str(published["wheat"].id)
    assert wheat["call_id"] == str(published["wheat"].call_id)
    call = await session.get(Call, published["wheat"].call_id)
    assert call is not None
    assert wheat["call_title"] == call.title
    text = reply.text
    for person in ("applicant", "applicant2", "colleague"):
        assert str(projects.callers[person].user_id) not in text


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"program": "ZDZX"}, ["plateau"]),
        ({"program": "zdyf"}, ["wheat", "older"]),
        ({"program": str(ZDZX)}, ["plateau"]),
        ({"program": str(ZDYF)}, ["wheat", "older"]),
        ({"program": "NOSUCH"}, []),
        ({"year": 2025}, ["older"]),
        ({"year": 2026, "program": "ZDYF"}, ["wheat"]),
        ({"organization": "兰州"}, ["wheat", "older"]),
        ({"organization": "农业科学院"}, ["plateau"]),
        ({"q": "小麦"}, ["wheat"]),
        ({"q": "高原"}, ["plateau"]),
        ({"q": "兰州大学"}, ["wheat", "older"]),
        ({"q": "2025-ZDYF"}, ["older"]),
        ({"q": "zdzx"}, ["plateau"]),  # case-insensitive
        ({"q": "%"}, []),  # a LIKE wildcard from the user is a plain character
        ({"q": "_"}, []),
        ({"q": "   "}, ["wheat", "plateau", "older"]),  # blank is no filter
        ({"status": "accepted"}, ["older"]),
    ],
)
async def test_search_filters(
    projects: Projects,
    published: dict[str, Project],
    params: dict[str, Any],
    expected: list[str],
) -> None:
    assert await search(projects, **params) == sorted(published[k].number for k in expected)


async def test_search_by_exact_organization_id(
    projects: Projects, published: dict[str, Project]
) -> None:
    assert await search(projects, organization=str(projects.orgs[2])) == [
        published["plateau"].number
    ]


async def test_the_cancelled_status_and_bad_filters_are_refused(
    projects: Projects, published: dict[str, Project]
) -> None:
    for params in ({"status": "cancelled"}, {"year": "soon"}, {"q": "x" * 101}, {"limit": 0}):
        reply = await projects.call("GET", "/v1/public/projects", None, params=params)
        assert reply.status_code == 422, params
        assert reply.json()["code"] == "request.invalid"


async def test_pages_follow_the_cursor_in_number_order(
    projects: Projects, published: dict[str, Project]
) -> None:
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    for _ in range(3):
        reply = await projects.call("GET", "/v1/public/projects", None, params=params)
        body = reply.json()
        seen += [p["number"] for p in body["items"]]
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]
    assert seen == sorted(p.number for k, p in published.items() if k != "cancelled")
    assert len(seen) == 3


async def test_one_project_by_number(projects: Projects, published: dict[str, Project]) -> None:
    plateau = published["plateau"]

    reply = await projects.call("GET", f"/v1/public/projects/{plateau.number}", None)

    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert set(body) == PUBLIC_KEYS
    assert body["title"] == "青藏高原东缘生态修复技术集成"
    assert body["pi_name"] == "刘洋"
    assert body["status"] == "in_progress"
    assert body["contracted_at"] == "2026-05-01T10:00:00+08:00"
    assert body["starts_on"] == "2026-05-01"
    assert body["ends_on"] == "2029-04-30"


@pytest.mark.parametrize("number", ["2026-ZDYF-9999", "cancelled"])
async def test_unknown_and_cancelled_numbers_are_not_found(
    projects: Projects, published: dict[str, Project], number: str
) -> None:
    if number == "cancelled":
        number = published["cancelled"].number

    reply = await projects.call("GET", f"/v1/public/projects/{number}", None)

    assert reply.status_code == 404
    assert reply.json()["code"] == "project.not_found"


async def test_a_terminated_project_shows_the_cause_category_only(
    session: AsyncSession, projects: Projects
) -> None:
    project = await insert_project(
        session,
        projects,
        "applicant2",
        status="terminated",
        termination_cause="inability",
        closed_at=datetime(2027, 1, 5, 8, 0, tzinfo=UTC),
    )

    reply = await projects.call("GET", f"/v1/public/projects/{project.number}", None)

    body = reply.json()
    assert body["status"] == "terminated"
    assert body["termination_cause"] == "inability"
    assert body["closed_at"] == "2027-01-05T16:00:00+08:00"


async def test_search_by_call(projects: Projects, published: dict[str, Project]) -> None:
    plateau = published["plateau"]

    assert await search(projects, call=str(plateau.call_id)) == [plateau.number]
    reply = await projects.call("GET", "/v1/public/projects", None, params={"call": "ZDYF"})
    assert reply.status_code == 422


async def test_running_notices_are_those_one_may_still_object_to(
    session: AsyncSession, projects: Projects, published: dict[str, Project]
) -> None:
    """The notice page lists what is open to objections: in notice, and its period running."""
    later = await insert_project(
        session,
        projects,
        "colleague",
        title="祁连山冰川监测",
        notice_starts_at=projects.clock.now + timedelta(days=1),
        notice_ends_at=projects.clock.now + timedelta(days=8),
    )

    assert await search(projects, notice_running=True) == [published["wheat"].number]
    projects.clock.advance(days=1)
    assert await search(projects, notice_running=True) == sorted(
        [published["wheat"].number, later.number]
    )
    projects.clock.advance(days=6)  # the wheat project's seven days are over
    assert await search(projects, notice_running="true") == [later.number]


async def test_the_status_is_shown_as_of_now(
    session: AsyncSession, projects: Projects, published: dict[str, Project]
) -> None:
    """A notice that ran out is over unless an objection is still open (nothing runs on a timer:
    the row keeps `in_notice` until someone acts, but the public is told the truth)."""
    wheat = published["wheat"]
    objected = await insert_project(session, projects, "colleague", title="河西走廊节水灌溉")
    session.add(
        Objection(
            project_id=objected.id,
            filed_by=projects.callers["applicant"].user_id,
            reasons="与已结题项目内容重复，请核查。",
            filed_at=projects.clock.now,
            status="open",
        )
    )
    await session.commit()
    projects.clock.advance(days=7)

    assert await search(projects, status="awaiting_contract") == [wheat.number]
    assert await search(projects, status="in_notice") == [objected.number]
    reply = await projects.call("GET", f"/v1/public/projects/{wheat.number}", None)
    assert reply.json()["status"] == "awaiting_contract"
