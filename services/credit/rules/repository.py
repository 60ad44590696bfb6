"""The SQL of the rule catalog."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.credit.models import Rule


class RuleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def current(self, code: str, *, lock: bool = False) -> Rule | None:
        query = sa.select(Rule).where(Rule.code == code, Rule.is_current)
        if lock:
            query = query.with_for_update()
        return await self.session.scalar(query)

    async def exists(self, code: str) -> bool:
        found = await self.session.scalar(sa.select(Rule.code).where(Rule.code == code).limit(1))
        return found is not None

    async def versions(self, code: str, *, offset: int, limit: int) -> Sequence[Rule]:
        return (
            await self.session.scalars(
                sa.select(Rule)
                .where(Rule.code == code)
                .order_by(Rule.version)
                .offset(offset)
                .limit(limit)
            )
        ).all()

    async def catalog(self, *, offset: int, limit: int) -> Sequence[Rule]:
        return (
            await self.session.scalars(
                sa.select(Rule)
                .where(Rule.is_current)
                .order_by(Rule.code)
                .offset(offset)
                .limit(limit)
            )
        ).all()

    async def add(self, rule: Rule) -> Rule:
        self.session.add(rule)
        await self.session.flush()
        await self.session.refresh(rule, ["created_at"])
        return rule

    async def flush(self) -> None:
        await self.session.flush()
