"""The credit standing a schedule is made from: the worse of the PI's and the organization's
levels when the task book is signed. Asked before anything is locked (the credit service may
be slow); unknown when it cannot be asked, which leaves the project under standard supervision
rather than stopping the signature."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.projects.execution.repository import ProjectRepository
from shared.contracts.vocabulary import CreditLevel
from shared.credit_client import CreditClient, CreditUnavailable


@dataclass(frozen=True)
class CreditStanding:
    level: CreditLevel | None  # None: the credit service could not be asked


UNKNOWN = CreditStanding(None)


async def credit_standing(
    credit: CreditClient,
    sessions: async_sessionmaker[AsyncSession],
    project_id: UUID,
    now: datetime,
) -> CreditStanding:
    """Asked of a project the caller will be checked on when signing (the answer is never
    shown to them); unknown for a project that does not exist."""
    async with sessions() as reading:
        project = await ProjectRepository(reading).get(project_id)
    if project is None:
        return UNKNOWN
    try:
        person, organization = await asyncio.gather(
            credit.eligibility(action="apply", at=now, gateway_user_id=project.pi_id),
            credit.eligibility(action="apply", at=now, gateway_org_id=project.org_id),
        )
    except CreditUnavailable:
        return UNKNOWN
    return CreditStanding(max(person.level, organization.level, key=lambda level: level.rank))
