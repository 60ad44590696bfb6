"""Drafting: what a draft must contain, who may draft for which call, and every save a version."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import Application, ApplicationVersion, Transition
from shared.ids import uuid7
from tests.conftest import org_code
from tests.projects.conftest import Projects, content, insert_call
from tests.projects.test_applications_helpers import act, draft, save, user


async def test_a_draft_is_version_1_and_mirrors_title_and_budget(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects)
    created = await draft(projects, call)
    assert created["status"] == "draft"
    assert created["version"] == 1
    assert created["submitted_version"] is None
    assert created["title"] == "旱区小麦节水栽培关键技术研究与示范"
    assert created["requested_budget_fen"] == 100_000_000
    assert created["org_id"] == str(projects.orgs[1])
    assert created["content"]["budget"]["labour"] == 20_000_000
    assert created["formal_check"] is None

    stored = await session.get(Application, created["id"])
    assert stored is not None
    assert stored.applicant_id == user(projects, "applicant")
    version = await session.get(ApplicationVersion, (stored.id, 1))
    assert version is not None
    assert version.content["keywords"] == ["节水农业", "小麦", "栽培"]
    history = (
        await session.scalars(sa.select(Transition).where(Transition.entity_id == stored.id))
    ).all()
    assert [(h.action, h.from_state, h.to_state) for h in history] == [("create", None, "draft")]


async def test_every_save_is_a_new_version_and_old_ones_stay_readable(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects)
    first = await draft(projects, call)
    second = await save(projects, first, title="旱区小麦节水栽培技术集成与示范（修改稿）")
    assert second.status_code == 200, second.text
    assert second.json()["version"] == 2
    assert second.json()["title"] == "旱区小麦节水栽培技术集成与示范（修改稿）"
    third = await save(
        projects,
        second.json(),
        budget={"equipment": 0, "business": 60_000_000, "labour": 30_000_000, "indirect": 0},
    )
    assert third.json()["version"] == 3
    assert third.json()["requested_budget_fen"] == 90_000_000

    versions = await projects.call("GET", f"/v1/applications/{first['id']}/versions", "applicant")
    assert [v["version"] for v in versions.json()["items"]] == [1, 2, 3]
    old = await projects.call("GET", f"/v1/applications/{first['id']}/versions/1", "applicant")
    assert old.status_code == 200
    assert old.json()["content"]["title"] == "旱区小麦节水栽培关键技术研究与示范"
    latest = await projects.call("GET", f"/v1/applications/{first['id']}", "applicant")
    assert latest.json()["content"]["budget"]["business"] == 60_000_000
    missing = await projects.call("GET", f"/v1/applications/{first['id']}/versions/4", "applicant")
    assert missing.status_code == 404
    assert missing.json()["code"] == "application.version_not_found"


async def test_a_stale_base_version_cannot_overwrite_a_newer_save(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects)
    loaded = await draft(projects, call)  # two tabs load version 1
    first_tab = await save(projects, loaded, title="第一个标签页的修改")
    assert first_tab.status_code == 200
    second_tab = await save(projects, loaded, title="第二个标签页的修改")
    assert second_tab.status_code == 409
    assert second_tab.json()["code"] == "application.stale_version"
    assert second_tab.json()["current_version"] == 2
    latest = await projects.call("GET", f"/v1/applications/{loaded['id']}", "applicant")
    assert latest.json()["version"] == 2
    assert latest.json()["title"] == "第一个标签页的修改"


async def test_team_members_must_be_registered_and_the_applicant_leads(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects)
    nobody, colleague = uuid7(), user(projects, "colleague")
    team: list[dict[str, Any]] = [
        {"user_id": str(user(projects, "applicant")), "role": "负责人", "share": 50},
        {"user_id": str(colleague), "role": "骨干", "share": 30},
        {"user_id": str(nobody), "role": "骨干", "share": 20},
    ]
    body: dict[str, Any] = {"call_id": str(call.id), "content": content(projects, team=team)}
    unknown = await projects.call("POST", "/v1/applications", "applicant", json=body)
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "application.unknown_team_members"
    assert unknown.json()["user_ids"] == [str(nobody)]

    # A registered person whose account was disabled is not a team member either.
    await session.execute(
        sa.text("UPDATE projects.directory_users SET is_active = false WHERE id = :id"),
        {"id": colleague},
    )
    await session.commit()
    body["content"]["team"] = team[:2]
    inactive = await projects.call("POST", "/v1/applications", "applicant", json=body)
    assert inactive.json()["user_ids"] == [str(colleague)]

    led_by_someone_else = content(
        projects,
        team=[
            {"user_id": str(user(projects, "applicant")), "role": "骨干", "share": 40},
            {"user_id": str(user(projects, "applicant2")), "role": "负责人", "share": 60},
        ],
    )
    response = await projects.call(
        "POST",
        "/v1/applications",
        "applicant",
        json={"call_id": str(call.id), "content": led_by_someone_else},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "application.invalid_team"
    assert await session.scalar(sa.select(sa.func.count()).select_from(Application)) == 0


async def test_content_limits_are_checked_on_every_save(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects)
    avoid = [{"credit_code": org_code(n), "reason": "竞争关系"} for n in range(3, 7)]
    cases: list[dict[str, Any]] = [
        {"avoid": avoid},  # at most 3 to avoid
        {"keywords": [f"关键词{n}" for n in range(9)]},  # at most 8 keywords
        {"keywords": []},
        {"subject_codes": ["210", "220", "230", "240", "250", "260"]},  # at most 5
        {"budget": {"equipment": 1, "business": 1, "labour": 1, "indirect": -1}},
        {"budget": {"equipment": 1.5, "business": 1, "labour": 1, "indirect": 0}},  # fen only
        {"avoid": [{"credit_code": "91620100000000000X"}]},  # bad check character
    ]
    for overrides in cases:
        body = {"call_id": str(call.id), "content": content(projects, **overrides)}
        response = await projects.call("POST", "/v1/applications", "applicant", json=body)
        assert response.status_code == 422, overrides
        assert response.json()["code"] == "request.invalid"
    three = await draft(projects, call, avoid=avoid[:3])
    assert len(three["content"]["avoid"]) == 3
    more = await save(projects, three, avoid=avoid)
    assert more.status_code == 422


async def test_indirect_costs_above_the_tier_are_refused_when_saved(
    projects: Projects, session: AsyncSession
) -> None:
    """Chosen: refused at save (422 budget.indirect_over_limit); the formal check repeats it.

    The base is direct costs less equipment: 6 million yuan of business and labour costs allow
    30 % of 5 million + 25 % of 1 million = 1.75 million yuan of indirect costs.
    """
    call = await insert_call(session, projects, budget_max_fen=2_000_000_000)
    budget = {
        "equipment": 300_000_000,  # not part of the base
        "business": 400_000_000,
        "labour": 200_000_000,
        "indirect": 175_000_000,
    }
    at_limit = await draft(projects, call, budget=budget)
    assert at_limit["requested_budget_fen"] == 1_075_000_000
    over = await save(projects, at_limit, budget={**budget, "indirect": 175_000_001})
    assert over.status_code == 422
    assert over.json()["code"] == "budget.indirect_over_limit"
    assert over.json()["indirect_limit_fen"] == 175_000_000


async def test_one_live_application_per_person_and_call(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects)
    first = await draft(projects, call)
    again = await projects.call(
        "POST",
        "/v1/applications",
        "applicant",
        json={"call_id": str(call.id), "content": content(projects)},
    )
    assert again.status_code == 409
    assert again.json()["code"] == "application.duplicate"
    # A colleague of the same organization applies on their own.
    assert (await draft(projects, call, "colleague"))["status"] == "draft"
    # Once withdrawn, the person may start again.
    withdrawn = await act(projects, first["id"], "withdraw", "applicant", reason="重新组织团队")
    assert withdrawn.json()["status"] == "withdrawn"
    assert (await draft(projects, call))["version"] == 1


async def test_only_open_calls_and_eligible_organizations_take_drafts(
    projects: Projects, session: AsyncSession
) -> None:
    now = projects.clock.now
    upcoming = await insert_call(session, projects, opens_at=now + timedelta(days=1))
    closed = await insert_call(
        session, projects, opens_at=now - timedelta(days=30), closes_at=now - timedelta(seconds=1)
    )
    unpublished = await insert_call(session, projects, state="draft", published_at=None)
    enterprises_only = await insert_call(session, projects, eligible_org_kinds=["enterprise"])

    async def attempt(call_id: str, who: str = "applicant") -> tuple[int, str]:
        body = {"call_id": call_id, "content": content(projects, who)}
        response = await projects.call("POST", "/v1/applications", who, json=body)
        return response.status_code, response.json()["code"]

    assert await attempt(str(upcoming.id)) == (409, "call.not_open")
    assert await attempt(str(closed.id)) == (409, "call.closed")
    assert await attempt(str(unpublished.id)) == (404, "call.not_found")
    assert await attempt(str(uuid7())) == (404, "call.not_found")
    assert await attempt(str(enterprises_only.id)) == (422, "application.org_ineligible")
    # Someone in no organization cannot apply at all.
    open_call = await insert_call(session, projects)
    assert await attempt(str(open_call.id), "stranger") == (422, "application.no_organization")
    # Only applicants draft.
    body = {"call_id": str(open_call.id), "content": content(projects, "org_admin")}
    refused = await projects.call("POST", "/v1/applications", "org_admin", json=body)
    assert refused.status_code == 403


async def test_only_drafts_and_returned_applications_are_edited(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects)
    created = await draft(projects, call)
    await act(projects, created["id"], "withdraw", "applicant", reason="不再申报")
    response = await save(projects, created)
    assert response.status_code == 409
    assert response.json()["code"] == "state.invalid_transition"
    assert response.json()["state"] == "withdrawn"


async def test_a_team_without_its_leader_is_explained_in_chinese(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects)
    team = [{"user_id": str(user(projects, "applicant")), "role": "骨干", "share": 100}]
    body = {"call_id": str(call.id), "content": content(projects, team=team)}
    response = await projects.call("POST", "/v1/applications", "applicant", json=body)
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["loc"] == ["body", "content"]
    assert error["msg"] == "取值无效：团队：须有且只有一名成员的角色为“负责人”"
