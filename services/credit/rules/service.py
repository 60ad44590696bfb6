"""The rule catalog. Rules are versioned: a change adds a version and old records keep theirs."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.credit.exceptions import RuleExists, RuleNotFound
from services.credit.models import Rule
from services.credit.rules.schemas import RuleCreate, RuleTerms


class RuleService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def current(self, code: str) -> Rule:
        rule = await self.session.scalar(sa.select(Rule).where(Rule.code == code, Rule.is_current))
        if rule is None:
            raise RuleNotFound()
        return rule

    async def versions(self, code: str, *, offset: int, limit: int) -> Sequence[Rule]:
        if await self.session.scalar(sa.select(Rule.code).where(Rule.code == code)) is None:
            raise RuleNotFound()
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

    async def create(self, data: RuleCreate, actor: str) -> Rule:
        exists = await self.session.scalar(sa.select(Rule.code).where(Rule.code == data.code))
        if exists:
            raise RuleExists()
        rule = Rule(version=1, is_current=True, created_by=actor, **data.model_dump())
        self.session.add(rule)
        await self.session.flush()
        await self.session.refresh(rule, ["created_at"])
        return rule

    async def revise(self, code: str, terms: RuleTerms, actor: str) -> Rule:
        previous = await self.session.scalar(
            sa.select(Rule).where(Rule.code == code, Rule.is_current).with_for_update()
        )
        if previous is None:
            raise RuleNotFound()
        previous.is_current = False
        await self.session.flush()
        rule = Rule(
            code=code,
            version=previous.version + 1,
            is_current=True,
            created_by=actor,
            **terms.model_dump(),
        )
        self.session.add(rule)
        await self.session.flush()
        await self.session.refresh(rule, ["created_at"])
        return rule
