"""What a consortium must be for its application to be submitted: the shares add up to the
budget of the version submitted, the co-PIs are on its team, and every participating
organization has endorsed its part. (Kept apart from the service: the applications service
asks it at submission.)"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.consortium.exceptions import InvalidCoPis, PartsNotEndorsed, SharesMismatch
from services.projects.consortium.repository import ConsortiumRepository
from services.projects.models import Application, ConsortiumPart, PartEndorsement
from shared.errors import Text


def pending(parts: Sequence[ConsortiumPart]) -> list[UUID]:
    """The participating organizations that have not endorsed their part."""
    return [p.org_id for p in parts if not p.is_lead and p.endorsement != PartEndorsement.endorsed]


def check_shares(shares_fen: int, budget_fen: int) -> None:
    if shares_fen != budget_fen:
        raise SharesMismatch(budget_fen=budget_fen, shares_fen=shares_fen)


def check_co_pis_on_team(co_pis: Sequence[UUID], team: set[UUID]) -> None:
    off = [u for u in co_pis if u not in team]
    if off:
        raise InvalidCoPis(
            Text("课题负责人须列入申报团队", "every co-PI must be on the application's team"), off
        )


async def check_submittable(
    session: AsyncSession, application: Application, budget_fen: int, team: set[UUID]
) -> None:
    """Refuse (422, 409) the submission of a consortium that is not ready; nothing if the
    application has no consortium."""
    parts = await ConsortiumRepository(session).parts(application.id)
    if not parts:
        return
    check_shares(sum(p.budget_fen for p in parts), budget_fen)
    check_co_pis_on_team([u for p in parts for u in p.co_pi_ids], team)
    waiting = pending(parts)
    if waiting:
        raise PartsNotEndorsed(waiting)
