"""Two replicas of the projects service on one database, for periodic jobs that must do each
piece of work once: each replica is the app on a connection pool of its own (every pass commits,
as in production), and the test runs the job's passes itself, both replicas at once."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.config import ProjectsSettings
from services.projects.main import create_app
from services.projects.models import Call, Program
from shared.ids import uuid7
from shared.testing.plugin import running_app
from tests.projects.conftest import TEMPLATE

Pass = Callable[[FastAPI, datetime], Awaitable[int]]


@contextlib.asynccontextmanager
async def replica(database_url: str, **settings: Any) -> AsyncIterator[FastAPI]:
    """One replica; `settings` set the job's period (long: the test runs the passes) and batch."""
    app = create_app(ProjectsSettings(database_url=SecretStr(database_url), **settings))
    async with running_app(app):
        yield app


async def until_done(app: FastAPI, one_pass: Pass, now: datetime, batch: int) -> None:
    """Passes while a full batch was claimed, as the job's loop runs them."""
    while await one_pass(app, now) >= batch:
        pass


async def both_until_done(
    database_url: str, one_pass: Pass, now: datetime, batch: int, **settings: Any
) -> None:
    """Two replicas run the job at once until neither finds work, then once more each."""
    async with (
        replica(database_url, **settings) as first,
        replica(database_url, **settings) as second,
    ):
        for _ in range(2):  # the second round finds nothing left
            await asyncio.gather(
                until_done(first, one_pass, now, batch), until_done(second, one_pass, now, batch)
            )


async def program_with_a_call(
    session: AsyncSession,
    now: datetime,
    *,
    name_zh: str,
    call_state: str,
    **program: Any,
) -> tuple[Program, Call]:
    """A special fund of its own (a random code) with a call closed over a year before `now`."""
    fund = Program(
        id=uuid7(),
        code="T" + secrets.token_hex(3).upper(),
        kind="special",
        name_zh=name_zh,
        name_en="Replica test fund",
        managing_agency="甘肃省科学技术厅",
        active_from_year=2026,
        **program,
    )
    session.add(fund)
    await session.flush()
    call = Call(
        program_id=fund.id,
        year=2026,
        title=name_zh,
        guideline=name_zh,
        opens_at=now - timedelta(days=400),
        closes_at=now - timedelta(days=390),
        eligible_org_kinds=["university"],
        budget_min_fen=1,
        budget_max_fen=100_000_000,
        max_active_projects_per_pi=2,
        min_credit_level="C",
        required_attachments=[],
        review_template=TEMPLATE,
        experts_per_application=3,
        notice_days=7,
        state=call_state,
        published_at=now - timedelta(days=400),
        created_by=uuid7(),
    )
    session.add(call)
    await session.flush()
    return fund, call
