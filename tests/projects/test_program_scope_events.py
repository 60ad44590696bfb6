"""Projects tells credit and funds who manages which program and who evaluates what.

The events published here are applied by the same handlers credit and funds run
(`shared.program_scope`), so this test checks the contract from both ends: what a manager does
in projects is what the replica answers.
"""

from __future__ import annotations

from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.credit.models import scope as credit_scope
from services.funds.access.handlers import HANDLERS as FUNDS_HANDLERS
from services.funds.access.scope import funds_scope
from services.projects.models import Project, events
from shared.events.outbox import Event
from shared.program_scope import StaffScope, scope_handlers, staff_scope
from tests.projects.conftest import ZDYF, ZDZX, Projects
from tests.projects.factories import insert_project
from tests.projects.test_decisions import approved_projects
from tests.projects.test_programs import add_fund


async def replay(session: AsyncSession, after: int) -> int:
    """Apply every event projects published after outbox row `after` to credit's replica.

    (Read straight from the outbox: the feed only serves committed transactions, and this
    test runs in one that is rolled back.)"""
    handlers = scope_handlers(credit_scope)
    outbox = events.outbox
    rows = (
        await session.execute(sa.select(outbox).where(outbox.c.id > after).order_by(outbox.c.id))
    ).all()
    for row in rows:
        handler = handlers.get(row.event_type)
        if handler is not None:
            event = Event.model_validate({**row._mapping, "position": str(row.id)})
            await handler.handle(session, event)
    return max((row.id for row in rows), default=after)


async def last_event(session: AsyncSession) -> int:
    last = await session.scalar(sa.select(sa.func.max(events.outbox.c.id)))
    return int(last or 0)


async def scope_of(session: AsyncSession, projects: Projects, who: str) -> StaffScope:
    principal = await projects.app.state.token_verifier.verify(
        projects.callers[who].headers["Authorization"].removeprefix("Bearer ")
    )
    return await staff_scope(session, credit_scope, principal)


async def test_managers_and_engagements_reach_the_replica(
    session: AsyncSession, projects: Projects
) -> None:
    position = await last_event(session)
    manager2 = projects.callers["manager2"].user_id
    evaluator = projects.callers["evaluator"].user_id

    assigned = await projects.call("PUT", f"/v1/programs/{ZDYF}/managers/{manager2}", "admin")
    assert assigned.status_code in (200, 201), assigned.text
    project: Project = await insert_project(session, projects, "applicant2", status="in_progress")
    on_program = await projects.call(
        "POST",
        "/v1/engagements",
        "manager",
        json={
            "evaluator_id": str(evaluator),
            "program_id": str(ZDYF),
            "purpose": "计划年度执行情况评价",
        },
    )
    on_project = await projects.call(
        "POST",
        "/v1/engagements",
        "manager",
        json={
            "evaluator_id": str(evaluator),
            "project_id": str(project.id),
            "purpose": "项目专项绩效评价",
        },
    )
    assert on_program.status_code == on_project.status_code == 201, on_program.text
    position = await replay(session, position)

    # the fixture's own assignment (ZDZX) was written straight into projects: no event
    assert (await scope_of(session, projects, "manager2")).managed_programs == {ZDYF}
    seen = await scope_of(session, projects, "evaluator")
    assert (seen.engaged_programs, seen.engaged_projects) == ({ZDYF}, {project.id})
    assert seen.managed_programs == frozenset()
    assert seen.reads_project(project.id, ZDZX)
    assert not seen.reads_program(ZDZX)
    assert await scope_of(session, projects, "applicant") == StaffScope()
    assert (await scope_of(session, projects, "admin")).everything

    ended = await projects.call(
        "POST",
        f"/v1/engagements/{on_program.json()['id']}/end",
        "manager",
        json={"reason": "评价工作已完成"},
    )
    assert ended.status_code == 200, ended.text
    removed = await projects.call("DELETE", f"/v1/programs/{ZDYF}/managers/{manager2}", "admin")
    assert removed.status_code == 204, removed.text
    await replay(session, position)

    assert (await scope_of(session, projects, "manager2")).managed_programs == frozenset()
    seen = await scope_of(session, projects, "evaluator")
    assert (seen.engaged_programs, seen.engaged_projects) == (frozenset(), {project.id})


async def test_an_approved_project_names_its_program_pi_and_organization(
    session: AsyncSession, projects: Projects
) -> None:
    """`project.approved` tells credit whose project is in which program."""
    position = await last_event(session)
    [decided] = await approved_projects(session, projects, "applicant")
    await replay(session, position)
    rows = (await session.execute(sa.select(credit_scope.projects))).all()
    assert [tuple(r) for r in rows] == [
        (
            UUID(decided["project_id"]),
            ZDYF,
            projects.callers["applicant"].user_id,
            projects.orgs[1],
        )
    ]


async def test_funds_learns_the_code_of_every_program_it_is_told_about(
    session: AsyncSession, projects: Projects
) -> None:
    """Funds names programs by code; a basic program (seeded, never announced as created)
    is learnt from the assignment of its manager and the engagement of its evaluator."""
    position = await last_event(session)
    manager2 = projects.callers["manager2"].user_id
    evaluator = projects.callers["evaluator"].user_id
    assigned = await projects.call("PUT", f"/v1/programs/{ZDYF}/managers/{manager2}", "admin")
    assert assigned.status_code in (200, 201), assigned.text
    engaged = await projects.call(
        "POST",
        "/v1/engagements",
        "manager2",
        json={
            "evaluator_id": str(evaluator),
            "program_id": str(ZDYF),
            "purpose": "计划年度执行情况评价",
        },
    )
    assert engaged.status_code == 201, engaged.text
    outbox = events.outbox
    rows = (
        await session.execute(sa.select(outbox).where(outbox.c.id > position).order_by(outbox.c.id))
    ).all()
    for row in rows:
        handler = FUNDS_HANDLERS.get(row.event_type)
        if handler is not None:
            await handler.handle(
                session, Event.model_validate({**row._mapping, "position": str(row.id)})
            )

    for who in ("manager2", "evaluator"):
        principal = await projects.app.state.token_verifier.verify(
            projects.callers[who].headers["Authorization"].removeprefix("Bearer ")
        )
        assert (await funds_scope(session, principal)).codes == {"ZDYF"}, who


async def test_a_manager_who_adds_a_fund_is_known_as_its_manager(
    session: AsyncSession, projects: Projects
) -> None:
    """Funds and credit learn who runs a new special fund from the event, as for any manager
    assigned later: without it its creator was a stranger to its grants and records there."""
    position = await last_event(session)
    fund = await add_fund(projects, "manager", code="SCOPE1")
    await replay(session, position)

    assert UUID(fund["id"]) in (await scope_of(session, projects, "manager")).managed_programs
    assert UUID(fund["id"]) not in (await scope_of(session, projects, "manager2")).managed_programs
