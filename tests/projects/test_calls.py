"""Calls (申报指南): drafted with the program's defaults, published, public while upcoming, open
and closed by the clock (stated in Asia/Shanghai), cancelled while nobody has submitted."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import Call
from tests.projects.conftest import (
    TEMPLATE,
    ZDYF,
    ZDZX,
    Projects,
    insert_application,
    insert_call,
    shanghai,
)
from tests.projects.test_programs import add_fund, published_events, transitions

OPENS = shanghai(2026, 3, 9, 9)  # a week after START, 09:00 in Shanghai
CLOSES = shanghai(2026, 4, 10, 17)


def draft(program_id: UUID = ZDYF, **overrides: Any) -> dict[str, Any]:
    """A complete call for ZDYF: its defaults give only the org kinds, 限项 and credit level."""
    body: dict[str, Any] = {
        "program_id": str(program_id),
        "year": 2026,
        "title": "2026年度重点研发计划（第二批）",
        "guideline": "围绕现代农业、生物医药、新材料等领域组织申报。",
        "opens_at": OPENS.isoformat(),
        "closes_at": CLOSES.isoformat(),
        "budget_min_fen": 10_000_000,
        "budget_max_fen": 300_000_000,
        "required_attachments": ["feasibility_report"],
        "review_template": TEMPLATE,
        "experts_per_application": 5,
        "notice_days": 7,
    }
    body.update(overrides)
    return body


async def create(projects: Projects, who: str = "manager", **overrides: Any) -> dict[str, Any]:
    response = await projects.call("POST", "/v1/calls", who, json=draft(**overrides))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def publish(projects: Projects, call_id: str, who: str = "manager") -> dict[str, Any]:
    response = await projects.call("POST", f"/v1/calls/{call_id}/publish", who)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def public_ids(projects: Projects, **params: str) -> list[str]:
    response = await projects.call("GET", "/v1/calls", None, params=params)
    assert response.status_code == 200, response.text
    return [c["id"] for c in response.json()["items"]]


async def test_a_draft_takes_what_it_leaves_out_from_its_program(projects: Projects) -> None:
    created = await create(projects)
    assert created["state"] == "draft"
    assert created["status"] == "draft"
    assert created["program"]["code"] == "ZDYF"
    assert created["program"]["name_zh"] == "重点研发计划"
    # From ZDYF's defaults:
    assert created["eligible_org_kinds"] == [
        "university",
        "research_institute",
        "hospital",
        "enterprise",
    ]
    assert created["max_active_projects_per_pi"] == 2
    assert created["min_credit_level"] == "C"
    # Given, and shown in Shanghai time:
    assert created["opens_at"] == "2026-03-09T09:00:00+08:00"
    assert created["closes_at"] == "2026-04-10T17:00:00+08:00"
    assert created["review_template"] == TEMPLATE
    assert created["created_by"] == str(projects.callers["manager"].user_id)

    stricter = await create(projects, max_active_projects_per_pi=1, min_credit_level="B")
    assert (stricter["max_active_projects_per_pi"], stricter["min_credit_level"]) == (1, "B")


async def test_a_call_of_a_fund_can_rely_on_all_of_the_funds_defaults(projects: Projects) -> None:
    fund = await add_fund(projects)
    minimal = {
        "program_id": fund["id"],
        "year": 2027,
        "title": "兰白技术创新驱动基金2027年度指南",
        "guideline": "支持兰白试验区企业开展关键技术攻关。",
        "opens_at": "2027-03-01T01:00:00Z",
        "closes_at": "2027-04-01T09:00:00Z",
    }
    response = await projects.call("POST", "/v1/calls", "manager", json=minimal)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["eligible_org_kinds"] == ["enterprise"]
    assert (body["budget_min_fen"], body["budget_max_fen"]) == (50_000_000, 500_000_000)
    assert body["required_attachments"] == ["feasibility_report", "financial_statement"]
    assert (body["experts_per_application"], body["notice_days"]) == (5, 7)
    assert body["opens_at"] == "2027-03-01T09:00:00+08:00"

    outside = await projects.call("POST", "/v1/calls", "manager", json={**minimal, "year": 2029})
    assert outside.status_code == 409
    assert outside.json()["code"] == "call.year_inactive"
    early = await projects.call("POST", "/v1/calls", "manager", json={**minimal, "year": 2025})
    assert early.json()["code"] == "call.year_inactive"
    contradicting = await projects.call(
        "POST", "/v1/calls", "manager", json={**minimal, "budget_min_fen": 600_000_000}
    )
    assert contradicting.status_code == 422
    assert contradicting.json()["code"] == "call.invalid"


async def test_terms_neither_the_call_nor_the_program_give_are_refused(
    projects: Projects, session: AsyncSession
) -> None:
    body = draft()
    for name in ("budget_min_fen", "review_template", "notice_days"):
        del body[name]
    response = await projects.call("POST", "/v1/calls", "manager", json=body)
    assert response.status_code == 422
    assert response.json()["code"] == "call.incomplete"
    assert response.json()["missing"] == ["budget_min_fen", "review_template", "notice_days"]
    assert await session.scalar(sa.select(sa.func.count()).select_from(Call)) == 0


async def test_invalid_calls_are_refused(projects: Projects, session: AsyncSession) -> None:
    lopsided = {"criteria": [{**c, "weight": 50} for c in TEMPLATE["criteria"]]}
    cases: list[dict[str, Any]] = [
        {"closes_at": OPENS.isoformat(), "opens_at": CLOSES.isoformat()},
        {"closes_at": OPENS.isoformat()},  # closing when it opens
        {"opens_at": "2026-03-09T09:00:00"},  # naive: which 09:00?
        {"closes_at": "2026-04-10 17:00"},
        {"review_template": lopsided},
        {"review_template": {"criteria": []}},
        {"budget_min_fen": 300_000_001},
        {"budget_min_fen": 1.5},
        {"experts_per_application": 0},
        {"experts_per_application": 16},
        {"notice_days": 61},
        {"max_active_projects_per_pi": 0},
        {"min_credit_level": "E"},
        {"eligible_org_kinds": []},
        {"eligible_org_kinds": ["enterprise", "enterprise"]},
        {"required_attachments": ["Feasibility Report"]},
        {"title": ""},
        {"year": 1999},
        {"unknown": 1},
    ]
    for overrides in cases:
        response = await projects.call("POST", "/v1/calls", "manager", json=draft(**overrides))
        assert response.status_code == 422, (overrides, response.text)
        assert response.json()["code"] == "request.invalid", overrides
    unknown = await projects.call("POST", "/v1/calls", "manager", json=draft(UUID(int=3)))
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "program.not_found"
    assert await session.scalar(sa.select(sa.func.count()).select_from(Call)) == 0


async def test_only_the_programs_managers_draft_and_run_its_calls(
    projects: Projects, session: AsyncSession
) -> None:
    denied = await projects.call("POST", "/v1/calls", "manager2", json=draft())
    assert denied.status_code == 403
    assert denied.json()["code"] == "program.not_managed"
    for who in ("applicant", "org_admin", "evaluator"):
        assert (await projects.call("POST", "/v1/calls", who, json=draft())).status_code == 403
    assert (await projects.call("POST", "/v1/calls", None, json=draft())).status_code == 401
    assert (await create(projects, "admin"))["created_by"] == str(projects.callers["admin"].user_id)
    assert (await create(projects, "manager2", program_id=str(ZDZX)))["program"]["code"] == "ZDZX"

    # A draft of another program is not there for manager2; a published one is, but not theirs.
    drafted = await create(projects)
    for method, action, body in (
        ("PATCH", "", {"title": "改个标题"}),
        ("POST", "/publish", None),
        ("POST", "/cancel", {"reason": "不需要了"}),
    ):
        response = await projects.call(
            method, f"/v1/calls/{drafted['id']}{action}", "manager2", json=body
        )
        assert response.status_code == 404, (action, response.text)
        assert response.json()["code"] == "call.not_found"
    published = await insert_call(session, projects)
    response = await projects.call(
        "POST", f"/v1/calls/{published.id}/cancel", "manager2", json={"reason": "不需要了"}
    )
    assert response.status_code == 403
    assert response.json()["code"] == "program.not_managed"
    patched = await projects.call(
        "PATCH", f"/v1/calls/{drafted['id']}", "applicant", json={"title": "改个标题"}
    )
    assert patched.status_code == 403


async def test_drafts_are_seen_by_their_managers_only(
    projects: Projects, session: AsyncSession
) -> None:
    drafted = await create(projects)
    published = await insert_call(session, projects)
    cancelled = await insert_call(session, projects, state="cancelled", title="已撤销的指南")

    hidden = await projects.call("GET", f"/v1/calls/{drafted['id']}", None)
    assert hidden.status_code == 404
    assert hidden.json()["code"] == "call.not_found"
    assert (await projects.call("GET", f"/v1/calls/{cancelled.id}", None)).status_code == 404
    assert (await projects.call("GET", f"/v1/calls/{UUID(int=1)}", None)).status_code == 404
    assert await public_ids(projects) == [str(published.id)]

    own = await projects.call("GET", f"/v1/programs/{ZDYF}/calls", "manager")
    assert own.status_code == 200, own.text
    assert {c["id"]: c["status"] for c in own.json()["items"]} == {
        drafted["id"]: "draft",
        str(published.id): "open",
        str(cancelled.id): "cancelled",
    }
    assert (await projects.call("GET", f"/v1/programs/{ZDYF}/calls", "admin")).status_code == 200
    other = await projects.call("GET", f"/v1/programs/{ZDYF}/calls", "manager2")
    assert other.status_code == 403
    assert other.json()["code"] == "program.not_managed"
    assert (
        await projects.call("GET", f"/v1/programs/{ZDYF}/calls", "applicant")
    ).status_code == 403
    assert (await projects.call("GET", f"/v1/programs/{ZDYF}/calls", None)).status_code == 401
    missing = await projects.call("GET", f"/v1/programs/{UUID(int=4)}/calls", "admin")
    assert missing.status_code == 404


async def test_status_follows_the_clock_and_closes_at_the_second(projects: Projects) -> None:
    call_id = (await create(projects))["id"]
    published = await publish(projects, call_id)
    assert published["state"] == "published"
    assert published["published_at"] == "2026-03-02T10:00:00+08:00"  # START in Shanghai
    assert published["status"] == "upcoming"

    async def status_now() -> str:
        response = await projects.call("GET", f"/v1/calls/{call_id}", None)
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        assert body["opens_at"] == "2026-03-09T09:00:00+08:00"
        assert body["closes_at"] == "2026-04-10T17:00:00+08:00"
        assert "created_by" not in body
        return str(body["status"])

    async def listed() -> dict[str, bool]:
        return {
            s: call_id in await public_ids(projects, status=s)
            for s in ("upcoming", "open", "closed")
        }

    assert await status_now() == "upcoming"
    assert await listed() == {"upcoming": True, "open": False, "closed": False}

    projects.clock.now = OPENS.astimezone(UTC) - timedelta(seconds=1)
    assert await status_now() == "upcoming"
    projects.clock.now = OPENS.astimezone(UTC)
    assert await status_now() == "open"
    assert await listed() == {"upcoming": False, "open": True, "closed": False}

    projects.clock.now = CLOSES.astimezone(UTC) - timedelta(seconds=1)
    assert await status_now() == "open"
    assert await listed() == {"upcoming": False, "open": True, "closed": False}
    projects.clock.now = CLOSES.astimezone(UTC)
    assert await status_now() == "closed"
    assert await listed() == {"upcoming": False, "open": False, "closed": True}
    projects.clock.advance(days=400)
    assert await status_now() == "closed"


async def test_public_list_filters_and_pages(projects: Projects, session: AsyncSession) -> None:
    now = projects.clock.now
    first = await insert_call(session, projects, closes_at=now + timedelta(days=10))
    second = await insert_call(session, projects, closes_at=now + timedelta(days=20))
    other_year = await insert_call(session, projects, year=2027, closes_at=now + timedelta(days=30))
    zdzx = await insert_call(session, projects, program_id=ZDZX, closes_at=now + timedelta(days=40))

    assert await public_ids(projects) == [str(c.id) for c in (first, second, other_year, zdzx)]
    assert await public_ids(projects, program_id=str(ZDZX)) == [str(zdzx.id)]
    assert await public_ids(projects, year="2027") == [str(other_year.id)]
    assert await public_ids(projects, program_id=str(ZDYF), year="2026") == [
        str(first.id),
        str(second.id),
    ]

    page = await projects.call("GET", "/v1/calls", None, params={"limit": "3"})
    assert [c["id"] for c in page.json()["items"]] == [
        str(first.id),
        str(second.id),
        str(other_year.id),
    ]
    cursor = page.json()["next_cursor"]
    assert cursor is not None
    rest = await projects.call("GET", "/v1/calls", None, params={"limit": "3", "cursor": cursor})
    assert [c["id"] for c in rest.json()["items"]] == [str(zdzx.id)]
    assert rest.json()["next_cursor"] is None

    wrong = await projects.call("GET", "/v1/calls", None, params={"status": "draft"})
    assert wrong.status_code == 422
    bad_cursor = await projects.call("GET", "/v1/calls", None, params={"cursor": "bm9wZQ"})
    assert bad_cursor.status_code == 400


async def test_a_published_call_shows_applicants_everything_they_need(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects)
    body = (await projects.call("GET", f"/v1/calls/{call.id}", None)).json()
    assert body["budget_min_fen"] == 10_000_000
    assert body["budget_max_fen"] == 300_000_000
    assert body["max_active_projects_per_pi"] == 2
    assert body["min_credit_level"] == "C"
    assert body["required_attachments"] == ["feasibility_report"]
    assert [c["code"] for c in body["review_template"]["criteria"]] == [
        "innovation",
        "feasibility",
        "team",
    ]
    assert body["experts_per_application"] == 3
    assert body["notice_days"] == 7
    assert body["eligible_org_kinds"] == ["university", "research_institute", "enterprise"]
    assert body["guideline"].startswith("围绕现代农业")


async def test_only_drafts_change(projects: Projects, session: AsyncSession) -> None:
    call_id = (await create(projects))["id"]
    path = f"/v1/calls/{call_id}"
    changed = await projects.call(
        "PATCH",
        path,
        "manager",
        json={"title": "2026年度重点研发计划（第二批，修订）", "budget_max_fen": 200_000_000},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["title"] == "2026年度重点研发计划（第二批，修订）"
    assert changed.json()["budget_max_fen"] == 200_000_000
    assert changed.json()["budget_min_fen"] == 10_000_000

    for body in (
        {"title": None},
        {"closes_at": "2026-03-01T00:00:00+08:00"},  # before it opens
        {"opens_at": "2026-03-20T09:00:00"},
        {"budget_min_fen": 200_000_001},
    ):
        refused = await projects.call("PATCH", path, "manager", json=body)
        assert refused.status_code == 422, (body, refused.text)
    outside = await projects.call("PATCH", path, "manager", json={"year": 2015})
    assert outside.status_code == 409
    assert outside.json()["code"] == "call.year_inactive"

    await publish(projects, call_id)
    late = await projects.call("PATCH", path, "manager", json={"title": "发布后再改"})
    assert late.status_code == 409
    assert late.json()["code"] == "state.invalid_transition"
    assert late.json()["state"] == "published"

    [created, updated, published] = await transitions(session, call_id)
    assert updated.action == "updated"
    assert updated.details == {"fields": ["budget_max_fen", "title"]}
    assert (published.action, published.from_state, published.to_state) == (
        "published",
        "draft",
        "published",
    )
    assert created.to_state == "draft"


async def test_publish_guards(projects: Projects, session: AsyncSession) -> None:
    call_id = (await create(projects))["id"]
    await publish(projects, call_id)
    again = await projects.call("POST", f"/v1/calls/{call_id}/publish", "manager")
    assert again.status_code == 409
    assert again.json()["state"] == "published"

    late_id = (await create(projects))["id"]
    projects.clock.now = CLOSES.astimezone(UTC)
    late = await projects.call("POST", f"/v1/calls/{late_id}/publish", "manager")
    assert late.status_code == 409
    assert late.json()["code"] == "call.deadline_passed"
    assert late.json()["state"] == "draft"
    assert late_id not in await public_ids(projects)

    [event] = await published_events(session, "call.published")
    assert event["call_id"] == call_id
    assert event["program_code"] == "ZDYF"
    assert event["closes_at"] == "2026-04-10T17:00:00+08:00"


async def test_a_draft_of_a_fund_retired_since_is_not_published(projects: Projects) -> None:
    fund = await add_fund(projects)
    drafted = await create(projects, program_id=fund["id"])
    retired = await projects.call(
        "POST", f"/v1/programs/{fund['id']}/retire", "manager", json={"reason": "基金整合"}
    )
    assert retired.status_code == 200
    refused = await projects.call("POST", f"/v1/calls/{drafted['id']}/publish", "manager")
    assert refused.status_code == 409
    assert refused.json()["code"] == "program.retired"
    assert refused.json()["state"] == "draft"


async def test_cancel_guards(projects: Projects, session: AsyncSession) -> None:
    drafted = (await create(projects))["id"]
    no_reason = await projects.call("POST", f"/v1/calls/{drafted}/cancel", "manager", json={})
    assert no_reason.status_code == 422
    cancelled = await projects.call(
        "POST", f"/v1/calls/{drafted}/cancel", "manager", json={"reason": "与第一批重复"}
    )
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["state"], cancelled.json()["status"]) == ("cancelled", "cancelled")
    twice = await projects.call(
        "POST", f"/v1/calls/{drafted}/cancel", "manager", json={"reason": "再次撤销"}
    )
    assert twice.status_code == 409
    assert twice.json()["state"] == "cancelled"
    republish = await projects.call("POST", f"/v1/calls/{drafted}/publish", "manager")
    assert republish.status_code == 409
    assert republish.json()["state"] == "cancelled"

    busy = await insert_call(session, projects)
    await insert_application(session, projects, busy, status="submitted")
    refused = await projects.call(
        "POST", f"/v1/calls/{busy.id}/cancel", "manager", json={"reason": "经费调整"}
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "call.has_applications"
    assert refused.json()["state"] == "published"
    assert refused.json()["submitted"] == 1

    quiet = await insert_call(session, projects, title="仅有草稿的指南")
    await insert_application(session, projects, quiet, status="draft")
    await insert_application(session, projects, quiet, who="applicant2", status="withdrawn")
    done = await projects.call(
        "POST", f"/v1/calls/{quiet.id}/cancel", "admin", json={"reason": "经费调整，暂停申报"}
    )
    assert done.status_code == 200, done.text
    assert (await projects.call("GET", f"/v1/calls/{quiet.id}", None)).status_code == 404
    assert await public_ids(projects) == [str(busy.id)]

    [_, cancel_draft] = await transitions(session, drafted)
    assert (cancel_draft.from_state, cancel_draft.to_state, cancel_draft.reason) == (
        "draft",
        "cancelled",
        "与第一批重复",
    )
    [cancel_published] = await transitions(session, quiet.id)
    assert cancel_published.from_state == "published"
    assert cancel_published.actor_id == str(projects.callers["admin"].user_id)
    [event] = await published_events(session, "call.cancelled")  # drafts were never announced
    assert event == {
        "call_id": str(quiet.id),
        "program_id": str(ZDYF),
        "program_code": "ZDYF",
        "reason": "经费调整，暂停申报",
    }
