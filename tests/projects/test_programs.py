"""Programs: the five seeded basic programs, special funds added and retired, yearly envelopes,
and who manages what."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import Program, ProgramEnvelope, ProgramManager, Transition, events
from services.projects.models.lifecycle import Project
from tests.projects.conftest import (
    TEMPLATE,
    ZDYF,
    ZDZX,
    Projects,
    insert_application,
    insert_call,
    shanghai,
)

CXYD = UUID("0193a5c0-0000-7000-8000-000000000003")  # 技术创新引导计划 (seeded)
BASIC = ["ZDZX", "ZDYF", "CXYD", "JDRC", "ZSCQ"]
# Only admins (the budget authority) give a fund its envelopes.
ENVELOPES = [
    {"year": 2026, "amount_fen": 50_000_000_000},
    {"year": 2027, "amount_fen": 60_000_000_000},
]


def fund(**overrides: Any) -> dict[str, Any]:
    """The Lanbai technology-innovation drive fund, under the innovation guidance program
    (without envelopes: a manager may add it so)."""
    body: dict[str, Any] = {
        "code": "LBJJ",
        "name_zh": "兰白技术创新驱动基金",
        "name_en": "Lanbai Technology Innovation Drive Fund",
        "parent_id": str(CXYD),
        "managing_agency": "兰白科技创新改革试验区管委会",
        "active_from_year": 2026,
        "active_to_year": 2028,
        "eligibility": {
            "eligible_org_kinds": ["enterprise"],
            "max_active_projects_per_pi": 1,
            "min_credit_level": "B",
            "budget_min_fen": 50_000_000,
            "budget_max_fen": 500_000_000,
            "required_attachments": ["feasibility_report", "financial_statement"],
            "experts_per_application": 5,
            "notice_days": 7,
        },
        "review_template": TEMPLATE,
    }
    body.update(overrides)
    return body


async def add_fund(projects: Projects, who: str = "manager", **overrides: Any) -> dict[str, Any]:
    response = await projects.call("POST", "/v1/programs", who, json=fund(**overrides))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def transitions(session: AsyncSession, entity_id: str | UUID) -> list[Transition]:
    rows = await session.scalars(
        sa.select(Transition)
        .where(Transition.entity_id == UUID(str(entity_id)))
        .order_by(Transition.id)
    )
    return list(rows.all())


async def published_events(session: AsyncSession, event_type: str) -> list[dict[str, Any]]:
    rows = await session.scalars(
        sa.select(events.outbox.c.payload)
        .where(events.outbox.c.event_type == event_type)
        .order_by(events.outbox.c.id)
    )
    return list(rows.all())


async def test_the_five_basic_programs_are_listed_publicly(projects: Projects) -> None:
    listed = await projects.call("GET", "/v1/programs", None)
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert [p["code"] for p in items] == BASIC
    assert [p["name_zh"] for p in items] == [
        "科技重大专项计划",
        "重点研发计划",
        "技术创新引导计划",
        "创新基地与人才计划",
        "知识产权计划",
    ]
    assert {p["kind"] for p in items} == {"basic"}
    assert all(p["retired"] == {"retired": False, "at": None, "reason": None} for p in items)
    assert items[1]["eligibility"]["eligible_org_kinds"] == [
        "university",
        "research_institute",
        "hospital",
        "enterprise",
    ]
    assert items[0]["created_at"].endswith("+08:00")

    one = await projects.call("GET", f"/v1/programs/{ZDYF}", None)
    assert one.status_code == 200
    assert one.json()["code"] == "ZDYF"
    assert one.json()["name_en"] == "Key Research and Development Program"
    missing = await projects.call("GET", f"/v1/programs/{UUID(int=7)}", None)
    assert missing.status_code == 404
    assert missing.json()["code"] == "program.not_found"
    specials = await projects.call("GET", "/v1/programs", None, params={"kind": "special"})
    assert specials.json()["items"] == []


async def test_a_manager_adds_a_fund_with_its_parent_and_rules(
    projects: Projects, session: AsyncSession
) -> None:
    created = await add_fund(projects)
    assert created["kind"] == "special"
    assert created["parent"] == {"id": str(CXYD), "code": "CXYD"}
    assert created["envelopes"] == []
    assert created["eligibility"]["min_credit_level"] == "B"
    assert created["review_template"]["criteria"][0]["code"] == "innovation"
    assert (created["active_from_year"], created["active_to_year"]) == (2026, 2028)

    listed = await projects.call("GET", "/v1/programs", None)
    assert [p["code"] for p in listed.json()["items"]] == [*BASIC, "LBJJ"]

    manager = projects.callers["manager"].user_id
    assignment = await session.get(ProgramManager, (UUID(created["id"]), manager))
    assert assignment is not None
    managers = await projects.call("GET", f"/v1/programs/{created['id']}/managers", "manager")
    assert managers.status_code == 200
    assert [(m["user_id"], m["display_name"]) for m in managers.json()["items"]] == [
        (str(manager), "李明")
    ]

    [row] = await transitions(session, created["id"])
    assert (row.entity, row.action, row.to_state) == ("program", "created", "active")
    assert row.actor_id == str(manager)
    [event] = await published_events(session, "program.created")
    assert event["code"] == "LBJJ"
    assert event["envelopes"] == []


async def test_an_admin_adds_a_fund_with_envelopes_without_becoming_its_manager(
    projects: Projects, session: AsyncSession
) -> None:
    created = await add_fund(projects, "admin", code="ZLXX", parent_id=None, envelopes=ENVELOPES)
    assert created["parent"] is None
    assert created["envelopes"] == ENVELOPES
    assigned = await session.scalars(
        sa.select(ProgramManager.user_id).where(ProgramManager.program_id == UUID(created["id"]))
    )
    assert assigned.all() == []
    [event] = await published_events(session, "program.created")
    assert event["envelopes"][1] == {"year": 2027, "amount_fen": 60_000_000_000}


async def test_a_manager_may_not_give_a_new_fund_its_envelopes(
    projects: Projects, session: AsyncSession
) -> None:
    envelopes = sa.select(sa.func.count()).select_from(ProgramEnvelope)
    before = await session.scalar(envelopes)
    refused = await projects.call("POST", "/v1/programs", "manager", json=fund(envelopes=ENVELOPES))
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "program.envelopes_admin_only"
    # Nothing of the fund was written: no program, no envelope, no event.
    assert await session.scalar(sa.select(Program.id).where(Program.code == "LBJJ")) is None
    assert await session.scalar(envelopes) == before
    assert await published_events(session, "program.created") == []
    # Without envelopes the same manager adds it; an admin gives it its money afterwards.
    created = await add_fund(projects)
    funded = await projects.call(
        "PUT",
        f"/v1/programs/{created['id']}/envelopes/2026",
        "admin",
        json={"amount_fen": 50_000_000_000},
    )
    assert funded.json()["envelopes"] == [ENVELOPES[0]]


async def test_fund_codes_are_unique(projects: Projects, session: AsyncSession) -> None:
    await add_fund(projects)
    for code in ("LBJJ", "ZDYF"):
        again = await projects.call("POST", "/v1/programs", "manager", json=fund(code=code))
        assert again.status_code == 409, again.text
        assert again.json()["code"] == "program.exists"
    count = await session.scalar(sa.select(sa.func.count()).select_from(Program))
    assert count == 6


async def test_bad_funds_are_refused_and_nothing_is_written(
    projects: Projects, session: AsyncSession
) -> None:
    special = await add_fund(projects)
    bad_template = {"criteria": [{**c, "weight": 30} for c in TEMPLATE["criteria"]]}
    repeated = {"criteria": [TEMPLATE["criteria"][0], {**TEMPLATE["criteria"][0], "weight": 60}]}
    inverted = {
        "criteria": [{"code": "quality", "name": "质量", "weight": 100, "min": 10, "max": 10}]
    }
    cases: list[tuple[dict[str, Any], str]] = [
        ({"code": "lbjj"}, "request.invalid"),
        ({"code": "L"}, "request.invalid"),
        ({"code": "X" * 13}, "request.invalid"),
        ({"review_template": bad_template}, "request.invalid"),
        ({"review_template": repeated}, "request.invalid"),
        ({"review_template": inverted}, "request.invalid"),
        ({"eligibility": {"eligible_org_kinds": ["company"]}}, "request.invalid"),
        ({"eligibility": {"max_active_projects_per_pi": 0}}, "request.invalid"),
        ({"eligibility": {"min_credit_level": "E"}}, "request.invalid"),
        (
            {"eligibility": {"budget_min_fen": 200, "budget_max_fen": 100}},
            "request.invalid",
        ),
        ({"envelopes": [{"year": 2030, "amount_fen": 1}]}, "request.invalid"),
        ({"envelopes": [{"year": 2026, "amount_fen": -1}]}, "request.invalid"),
        ({"active_from_year": 2027, "active_to_year": 2026, "envelopes": []}, "request.invalid"),
        ({"parent_id": special["id"]}, "program.invalid_parent"),
        ({"parent_id": str(UUID(int=9))}, "program.invalid_parent"),
    ]
    for overrides, code in cases:
        response = await projects.call(
            "POST", "/v1/programs", "manager", json=fund(**{"code": "BAD1", **overrides})
        )
        assert response.status_code == 422, (overrides, response.text)
        assert response.json()["code"] == code, overrides
    codes = await session.scalars(sa.select(Program.code).where(Program.kind == "special"))
    assert codes.all() == ["LBJJ"]


async def test_only_managers_and_admins_add_funds(projects: Projects) -> None:
    for who in ("applicant", "org_admin", "evaluator", "expert"):
        response = await projects.call("POST", "/v1/programs", who, json=fund())
        assert response.status_code == 403, who
    anonymous = await projects.call("POST", "/v1/programs", None, json=fund())
    assert anonymous.status_code == 401


async def test_envelopes_are_set_by_admins_within_the_programs_years(
    projects: Projects, session: AsyncSession
) -> None:
    path = f"/v1/programs/{ZDYF}/envelopes/2026"
    first = await projects.call("PUT", path, "admin", json={"amount_fen": 80_000_000_000})
    assert first.status_code == 200, first.text
    assert first.json()["envelopes"] == [{"year": 2026, "amount_fen": 80_000_000_000}]
    second = await projects.call("PUT", path, "admin", json={"amount_fen": 90_000_000_000})
    assert second.json()["envelopes"] == [{"year": 2026, "amount_fen": 90_000_000_000}]

    # Managers decide within the envelope, so they do not set it, not even their own program's.
    for who in ("manager", "manager2", "applicant"):
        refused = await projects.call("PUT", path, who, json={"amount_fen": 1})
        assert refused.status_code == 403, who
    # ... but they read it.
    shown = await projects.call("GET", f"/v1/programs/{ZDYF}", "manager")
    assert shown.json()["envelopes"] == [{"year": 2026, "amount_fen": 90_000_000_000}]
    negative = await projects.call("PUT", path, "admin", json={"amount_fen": -5})
    assert negative.status_code == 422
    envelope = await session.scalar(
        sa.select(ProgramEnvelope.amount_fen)
        .where(ProgramEnvelope.program_id == ZDYF, ProgramEnvelope.year == 2026)
        .execution_options(populate_existing=True)
    )
    assert envelope == 90_000_000_000

    created = await add_fund(projects)
    outside = await projects.call(
        "PUT", f"/v1/programs/{created['id']}/envelopes/2029", "admin", json={"amount_fen": 1}
    )
    assert outside.status_code == 409
    assert outside.json()["code"] == "program.year_inactive"
    before = await projects.call(
        "PUT", f"/v1/programs/{created['id']}/envelopes/2025", "admin", json={"amount_fen": 1}
    )
    assert before.json()["code"] == "program.year_inactive"

    moves = [t for t in await transitions(session, ZDYF) if t.action == "envelope_set"]
    assert [t.details for t in moves] == [
        {"year": 2026, "from_fen": None, "to_fen": 80_000_000_000},
        {"year": 2026, "from_fen": 80_000_000_000, "to_fen": 90_000_000_000},
    ]
    announced = await published_events(session, "program.envelope_set")
    assert announced[-1]["amount_fen"] == 90_000_000_000


async def test_an_envelope_is_never_set_below_what_was_approved(
    projects: Projects, session: AsyncSession
) -> None:
    call = await insert_call(session, projects)
    application = await insert_application(session, projects, call, status="approved")
    session.add(
        Project(
            application_id=application.id,
            number="2026-ZDYF-0001",
            call_id=call.id,
            program_id=ZDYF,
            year=2026,
            org_id=application.org_id,
            pi_id=application.applicant_id,
            pi_name="王芳",
            org_name="兰州大学",
            title=application.title,
            approved_budget_fen=100_000_000,
            notice_starts_at=projects.clock.now,
            notice_ends_at=projects.clock.now + timedelta(days=7),
        )
    )
    await session.commit()
    path = f"/v1/programs/{ZDYF}/envelopes/2026"
    below = await projects.call("PUT", path, "admin", json={"amount_fen": 99_999_999})
    assert below.status_code == 409
    assert below.json()["code"] == "decision.envelope_exceeded"
    assert below.json()["approved_fen"] == 100_000_000
    exact = await projects.call("PUT", path, "admin", json={"amount_fen": 100_000_000})
    assert exact.status_code == 200


async def test_retiring_a_fund_stops_new_calls_but_not_what_was_published(
    projects: Projects, session: AsyncSession
) -> None:
    basic = await projects.call(
        "POST", f"/v1/programs/{ZDYF}/retire", "admin", json={"reason": "调整计划体系"}
    )
    assert basic.status_code == 409
    assert basic.json()["code"] == "program.basic_permanent"

    created = await add_fund(projects)
    fund_id = UUID(created["id"])
    published = await insert_call(session, projects, program_id=fund_id, title="兰白基金2026年指南")
    path = f"/v1/programs/{fund_id}/retire"
    stranger = await projects.call("POST", path, "manager2", json={"reason": "不再设立"})
    assert stranger.status_code == 403
    assert stranger.json()["code"] == "program.not_managed"
    no_reason = await projects.call("POST", path, "manager", json={})
    assert no_reason.status_code == 422

    retired = await projects.call("POST", path, "manager", json={"reason": "基金期满，整合调整"})
    assert retired.status_code == 200, retired.text
    assert retired.json()["retired"]["retired"] is True
    assert retired.json()["retired"]["reason"] == "基金期满，整合调整"
    assert retired.json()["retired"]["at"].endswith("+08:00")
    again = await projects.call("POST", path, "admin", json={"reason": "再次停止"})
    assert again.status_code == 409
    assert again.json()["state"] == "retired"

    new_call = await projects.call(
        "POST",
        "/v1/calls",
        "manager",
        json={
            "program_id": str(fund_id),
            "year": 2026,
            "title": "兰白基金第二批指南",
            "guideline": "面向兰白试验区企业。",
            "opens_at": shanghai(2026, 4, 1, 9).isoformat(),
            "closes_at": shanghai(2026, 5, 1, 17).isoformat(),
        },
    )
    assert new_call.status_code == 409
    assert new_call.json()["code"] == "program.retired"
    still = await projects.call("GET", f"/v1/calls/{published.id}", None)
    assert still.status_code == 200
    assert still.json()["status"] == "open"

    shown = await projects.call("GET", "/v1/programs", None)
    assert "LBJJ" in [p["code"] for p in shown.json()["items"]]
    hidden = await projects.call("GET", "/v1/programs", None, params={"include_retired": "false"})
    assert [p["code"] for p in hidden.json()["items"]] == BASIC

    [_, retirement] = await transitions(session, fund_id)
    assert (retirement.action, retirement.from_state, retirement.to_state) == (
        "retired",
        "active",
        "retired",
    )
    assert retirement.reason == "基金期满，整合调整"
    [event] = await published_events(session, "program.retired")
    assert event["code"] == "LBJJ"


async def test_admins_assign_and_unassign_program_managers(
    projects: Projects, session: AsyncSession
) -> None:
    manager2 = projects.callers["manager2"].user_id
    path = f"/v1/programs/{ZDYF}/managers/{manager2}"
    # Managing a program shows in what only its managers may do, e.g. retiring it (a basic
    # program answers 409: the manager passed the program check and met the program's rule).
    retire = f"/v1/programs/{ZDYF}/retire"
    reason = {"reason": "调整计划体系"}
    assert (await projects.call("POST", retire, "manager2", json=reason)).status_code == 403
    by_manager = await projects.call("PUT", path, "manager")
    assert by_manager.status_code == 403

    assigned = await projects.call("PUT", path, "admin")
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["user_id"] == str(manager2)
    assert assigned.json()["display_name"] == "赵强"
    assert (await projects.call("PUT", path, "admin")).status_code == 200  # idempotent
    allowed = await projects.call("POST", retire, "manager2", json=reason)
    assert allowed.json()["code"] == "program.basic_permanent"
    listed = await projects.call("GET", f"/v1/programs/{ZDYF}/managers", "manager2")
    assert {m["display_name"] for m in listed.json()["items"]} == {"李明", "赵强"}

    for who in ("applicant", "org_admin"):
        not_a_manager = await projects.call(
            "PUT", f"/v1/programs/{ZDYF}/managers/{projects.callers[who].user_id}", "admin"
        )
        assert not_a_manager.status_code == 422
        assert not_a_manager.json()["code"] == "program.manager_invalid"
    unknown = await projects.call("PUT", f"/v1/programs/{ZDYF}/managers/{UUID(int=5)}", "admin")
    assert unknown.json()["code"] == "program.manager_invalid"
    no_program = await projects.call(
        "PUT", f"/v1/programs/{UUID(int=5)}/managers/{manager2}", "admin"
    )
    assert no_program.status_code == 404

    removed = await projects.call("DELETE", path, "admin")
    assert removed.status_code == 204
    denied = await projects.call("POST", retire, "manager2", json=reason)
    assert denied.status_code == 403
    assert denied.json()["code"] == "program.not_managed"
    twice = await projects.call("DELETE", path, "admin")
    assert twice.status_code == 404
    assert twice.json()["code"] == "program.manager_not_found"

    moves = [t for t in await transitions(session, ZDYF) if t.action.startswith("manager_")]
    assert [(t.action, t.details["user_id"]) for t in moves] == [
        ("manager_assigned", str(manager2)),
        ("manager_removed", str(manager2)),
    ]


async def test_only_its_managers_and_admins_see_who_manages_a_program(projects: Projects) -> None:
    path = f"/v1/programs/{ZDZX}/managers"
    assert (await projects.call("GET", path, "manager2")).status_code == 200
    assert (await projects.call("GET", path, "admin")).status_code == 200
    other = await projects.call("GET", path, "manager")
    assert other.status_code == 403
    assert other.json()["code"] == "program.not_managed"
    assert (await projects.call("GET", path, "applicant")).status_code == 403
    assert (await projects.call("GET", path, None)).status_code == 401
