"""Checking a rule's SQL form against its Python form without writing rows: the SQL expression
is evaluated by PostgreSQL over one row (a subquery) holding the columns it reads."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.util import ClauseAdapter


async def in_sql(
    session: AsyncSession, model: type[DeclarativeBase], expression: Any, values: dict[str, Any]
) -> Any:
    """What PostgreSQL makes of `expression` (over `model`'s columns) for a row of `values`."""
    table = model.__table__
    assert isinstance(table, sa.Table)
    row = sa.select(
        *(
            sa.cast(sa.literal(v, table.c[k].type), table.c[k].type).label(k)
            for k, v in values.items()
        )
    ).subquery("row")
    adapted = ClauseAdapter(row, adapt_on_names=True).traverse(expression)
    return (await session.execute(sa.select(adapted))).scalar_one()
