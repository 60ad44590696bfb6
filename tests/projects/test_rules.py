"""Rules with a Python and a SQL form give the same answer, also at the exact instant a call
opens or closes: the row a filter finds is the row the Python check lets through."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.applications.service import ensure_open
from services.projects.calls.repository import CallRepository
from services.projects.calls.service import call_status
from services.projects.disclosure.schemas import PublicStatus
from services.projects.exceptions import CallClosed, CallNotOpen
from services.projects.models import Call, Engagement, Program, Project
from services.projects.models.calls import CallPhase, CallState
from services.projects.models.lifecycle import PUBLIC_PROJECT_STATES, ProjectStatus
from shared.ids import uuid7
from tests.projects.conftest import TEMPLATE, ZDYF
from tests.rules import in_sql

OPENS = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
CLOSES = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)  # PostgreSQL keeps microseconds: the finest step there is
MOMENTS = [OPENS - TICK, OPENS, OPENS + TICK, CLOSES - TICK, CLOSES, CLOSES + TICK]
RULES: list[Callable[..., Any]] = [Call.is_upcoming, Call.is_open, Call.has_closed]


async def _call(session: AsyncSession, state: CallState) -> Call:
    call = Call(
        program_id=ZDYF,
        year=2026,
        title="规则一致性",
        guideline="-",
        opens_at=OPENS,
        closes_at=CLOSES,
        eligible_org_kinds=["university"],
        budget_min_fen=1,
        budget_max_fen=2,
        max_active_projects_per_pi=1,
        min_credit_level="C",
        required_attachments=[],
        review_template=TEMPLATE,
        experts_per_application=3,
        notice_days=7,
        state=state,
        created_by=ZDYF,
    )
    session.add(call)
    await session.flush()
    return call


@pytest.mark.parametrize("state", list(CallState))
async def test_the_call_rules_agree_in_python_and_sql(
    session: AsyncSession, state: CallState
) -> None:
    call = await _call(session, state)
    for now in MOMENTS:
        for rule in RULES:
            name = rule.__name__
            in_sql = await session.scalar(sa.select(rule(now)).where(Call.id == call.id))
            assert getattr(call, name)(now) == in_sql, f"{state} {name} at {now}"


async def test_the_call_is_open_from_its_opening_to_just_before_its_close() -> None:
    call = Call(state=CallState.published, opens_at=OPENS, closes_at=CLOSES)
    assert [call.is_open(now) for now in MOMENTS] == [False, True, True, True, False, False]
    with pytest.raises(CallNotOpen):
        ensure_open(call, OPENS - TICK)
    ensure_open(call, OPENS)
    ensure_open(call, CLOSES - TICK)
    with pytest.raises(CallClosed):
        ensure_open(call, CLOSES)


@pytest.mark.parametrize("state", [CallState.published, CallState.decided])
async def test_the_public_list_finds_a_call_under_the_status_it_shows(
    session: AsyncSession, state: CallState
) -> None:
    call = await _call(session, state)
    repository = CallRepository(session)
    for now in MOMENTS:
        shown = call_status(call, now)
        for status in CallPhase:
            found = await repository.public(
                now=now, status=status, program_id=ZDYF, year=2026, limit=1000, offset=0
            )
            assert (call in found) == (status == shown), f"{state} at {now}: {status}/{shown}"


@pytest.mark.parametrize("ended", [False, True])
async def test_an_engagement_is_active_alike_in_python_and_sql(
    session: AsyncSession, ended: bool
) -> None:
    engagement = Engagement(
        evaluator_id=uuid7(),
        program_id=ZDYF,
        purpose="规则一致性",
        engaged_by=uuid7(),
        ended_at=CLOSES if ended else None,
    )
    session.add(engagement)
    await session.flush()
    in_sql = await session.scalar(
        sa.select(Engagement.is_active).where(Engagement.id == engagement.id)
    )
    assert engagement.is_active is (not ended)
    assert in_sql is (not ended)


@pytest.mark.parametrize("retired", [False, True])
async def test_a_program_is_retired_alike_in_python_and_sql(
    session: AsyncSession, retired: bool
) -> None:
    program = await session.get(Program, ZDYF)
    assert program is not None
    program.retired_at = CLOSES if retired else None
    await session.flush()
    in_sql = await session.scalar(sa.select(Program.is_retired).where(Program.id == ZDYF))
    assert program.is_retired is retired
    assert in_sql is retired


@pytest.mark.parametrize("status", list(ProjectStatus))
async def test_a_notice_runs_out_alike_in_python_and_sql(
    session: AsyncSession, status: ProjectStatus
) -> None:
    values: dict[str, Any] = {"status": status, "notice_ends_at": CLOSES}
    project = Project(**values)
    for now in MOMENTS:
        in_sql_form = await in_sql(session, Project, Project.notice_ran_out(now), values)
        assert project.notice_ran_out(now) == in_sql_form, f"{status} at {now}"
    if status == ProjectStatus.in_notice:
        assert [project.notice_ran_out(now) for now in MOMENTS[3:]] == [False, True, True]


def test_the_public_project_statuses_are_the_ones_the_disclosure_api_names() -> None:
    assert set(get_args(PublicStatus)) == set(PUBLIC_PROJECT_STATES)
