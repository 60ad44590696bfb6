"""The project reserve (项目储备库): a reserved application waits for money and may be approved
later, within the envelope as any approval, or rejected when the reserve is cleared; it is
not reserved twice."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import Project, Transition
from tests.projects.conftest import Projects, closed_call, insert_application
from tests.projects.test_decisions import (
    approve,
    decide,
    reject,
    reserve,
    set_envelope,
    status_of,
)
from tests.projects.test_notice import file_objection, resolve_objection


async def test_a_reserved_application_is_approved_when_money_is_freed(
    session: AsyncSession, projects: Projects
) -> None:
    await set_envelope(session, amount_fen=80_000_000)
    call = await closed_call(session, projects)
    first = await insert_application(session, projects, call, who="applicant")
    waiting = await insert_application(session, projects, call, who="applicant2")
    decided = await decide(projects, call, approve(first), reserve(waiting))
    assert decided.status_code == 200, decided.text
    project_id = decided.json()["decisions"][0]["project_id"]

    # The envelope is spent: the reserve waits.
    no_money = await decide(projects, call, approve(waiting))
    assert no_money.status_code == 409
    assert no_money.json()["code"] == "decision.envelope_exceeded"
    assert await status_of(session, waiting) == "reserved"

    # An upheld objection cancels the first project and gives its money back.
    objection = (await file_objection(projects, project_id, "stranger")).json()
    assert (
        await resolve_objection(projects, project_id, objection["id"], "uphold")
    ).status_code == 200

    drawn = await decide(projects, call, approve(waiting))
    assert drawn.status_code == 200, drawn.text
    [one] = drawn.json()["decisions"]
    assert (one["status"], one["project_number"]) == ("approved", "2026-ZDYF-0002")
    assert drawn.json()["envelope"]["remaining_fen"] == 0
    project = await session.scalar(sa.select(Project).where(Project.application_id == waiting.id))
    assert project is not None
    assert project.status == "in_notice"
    assert project.notice_starts_at == projects.clock.now
    moves = (
        await session.execute(
            sa.select(Transition.action, Transition.from_state, Transition.to_state)
            .where(Transition.entity == "application", Transition.entity_id == waiting.id)
            .order_by(Transition.id)
        )
    ).all()
    assert [tuple(m) for m in moves] == [
        ("decision.reserve", "in_review", "reserved"),
        ("decision.approve", "reserved", "approved"),
    ]


async def test_the_reserve_is_cleared_by_rejection_and_not_reserved_twice(
    session: AsyncSession, projects: Projects
) -> None:
    await set_envelope(session)
    call = await closed_call(session, projects)
    waiting = await insert_application(session, projects, call)
    assert (await decide(projects, call, reserve(waiting))).status_code == 200

    twice = await decide(projects, call, reserve(waiting))
    assert twice.status_code == 409
    assert twice.json()["state"] == "reserved"

    cleared = await decide(projects, call, reject(waiting))
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["decisions"][0]["status"] == "rejected"
    assert (await decide(projects, call, approve(waiting))).json()["state"] == "rejected"
    pool = await projects.call("GET", f"/v1/calls/{call.id}/reserve", "manager")
    assert pool.json()["items"] == []
