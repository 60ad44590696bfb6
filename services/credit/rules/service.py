"""The rule catalog. Rules are versioned: a change adds a version and old records keep theirs."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from services.credit.exceptions import RuleExists, RuleNotFound
from services.credit.models import Rule
from services.credit.rules.repository import RuleRepository
from services.credit.rules.schemas import RuleCreate, RuleTerms


class RuleService:
    def __init__(self, session: AsyncSession) -> None:
        self.repository = RuleRepository(session)

    async def current(self, code: str) -> Rule:
        rule = await self.repository.current(code)
        if rule is None:
            raise RuleNotFound()
        return rule

    async def versions(self, code: str, *, offset: int, limit: int) -> Sequence[Rule]:
        if not await self.repository.exists(code):
            raise RuleNotFound()
        return await self.repository.versions(code, offset=offset, limit=limit)

    async def catalog(self, *, offset: int, limit: int) -> Sequence[Rule]:
        return await self.repository.catalog(offset=offset, limit=limit)

    async def create(self, data: RuleCreate, actor: str) -> Rule:
        if await self.repository.exists(data.code):
            raise RuleExists()
        return await self.repository.add(
            Rule(version=1, is_current=True, created_by=actor, **data.model_dump())
        )

    async def revise(self, code: str, terms: RuleTerms, actor: str) -> Rule:
        previous = await self.repository.current(code, lock=True)
        if previous is None:
            raise RuleNotFound()
        # The old version stops being current before the new one is (one current per code).
        previous.is_current = False
        await self.repository.flush()
        return await self.repository.add(
            Rule(
                code=code,
                version=previous.version + 1,
                is_current=True,
                created_by=actor,
                **terms.model_dump(),
            )
        )
