"""Public bulk data (like NIH RePORTER's ExPORTER): every funded project of a year, as the
public search shows it, in one file: CSV, or JSON lines. Read in batches along the project
number (the public search's own order and keyset), each in a session of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.projects.disclosure.schemas import PublicProject
from services.projects.disclosure.service import ProjectSearch, search_projects
from services.projects.models import Project
from services.projects.models.lifecycle import PUBLIC_PROJECT_STATES
from shared.pagination import PageParams
from shared.tabular import BATCH_ROWS, Batch, model_columns, model_row

PUBLIC_COLUMNS = model_columns(PublicProject)


async def public_batches(
    sessions: async_sessionmaker[AsyncSession], year: int, now: datetime
) -> AsyncIterator[list[PublicProject]]:
    """The year's public projects in number order, a batch at a time."""
    search = ProjectSearch(year=year)
    cursor: dict[str, object] | None = None
    while True:
        page = PageParams(limit=BATCH_ROWS, offset=0, cursor=cursor)
        async with sessions() as session:
            found, more = await search_projects(session, search, page, now)
        yield found
        if more is None or not found:
            return
        cursor = {"after": found[-1].number}


async def csv_batches(
    sessions: async_sessionmaker[AsyncSession], year: int, now: datetime
) -> AsyncIterator[Batch]:
    async for found in public_batches(sessions, year, now):
        yield [model_row(p, PUBLIC_COLUMNS) for p in found]


async def json_lines(
    sessions: async_sessionmaker[AsyncSession], year: int, now: datetime
) -> AsyncIterator[bytes]:
    async for found in public_batches(sessions, year, now):
        if found:
            yield b"".join(orjson.dumps(p.model_dump(mode="json")) + b"\n" for p in found)


async def years(session: AsyncSession) -> list[tuple[int, int]]:
    """(year, number of public projects) for every year that has any, latest first."""
    rows = await session.execute(
        sa.select(Project.year, sa.func.count())
        .where(Project.status.in_(PUBLIC_PROJECT_STATES))
        .group_by(Project.year)
        .order_by(Project.year.desc())
    )
    return [(row[0], row[1]) for row in rows]
