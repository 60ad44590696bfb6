"""Self-raised and matching funds (自筹/配套): declared by the project's organization (its admin
or the PI), confirmed by another admin of the organization, who stands for its finance
(the gateway has no organization finance role; the one who declares never confirms).

It is the organization's money, not the province's: recorded beside the grant and in the
final accounts, never in the ledger.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.cofunding.exceptions import (
    CoFundingAlreadyConfirmed,
    CoFundingExistsDifferent,
    CoFundingNotFound,
    DeclarerCannotConfirm,
    NotTheOrganization,
)
from services.funds.cofunding.repository import CoFundingRepository
from services.funds.cofunding.schemas import CoFundingCreate
from services.funds.grants.views import GrantViews
from services.funds.models.fiscal import CoFundingStatus, GrantCoFunding
from services.funds.models.grants import Grant
from shared.auth.roles import Role
from shared.auth.tokens import Principal


def _of_the_organization(principal: Principal, grant: Grant) -> bool:
    return principal.org_id == grant.org_id and principal.has_any(Role.org_admin)


class CoFundingService:
    def __init__(self, session: AsyncSession) -> None:
        self.repo = CoFundingRepository(session)
        self.grants = GrantViews(session)

    async def declare(
        self, principal: Principal, project_id: UUID, data: CoFundingCreate, *, now: datetime
    ) -> tuple[GrantCoFunding, bool]:
        grant = await self.grants.visible(principal, project_id)
        is_pi = principal.user_id == grant.pi_id and principal.has_any(Role.applicant)
        if not (is_pi or _of_the_organization(principal, grant)):
            raise NotTheOrganization()
        existing = await self.repo.get(data.id)
        if existing is not None:
            mine = (
                existing.project_id,
                existing.category,
                existing.source,
                existing.amount_fen,
                existing.fiscal_year,
                existing.note,
            )
            sent = (
                project_id,
                data.category,
                data.source,
                data.amount_fen,
                data.fiscal_year,
                data.note,
            )
            if mine != sent:
                raise CoFundingExistsDifferent()
            return existing, False
        row = GrantCoFunding(
            id=data.id,
            project_id=project_id,
            category=data.category,
            source=data.source,
            amount_fen=data.amount_fen,
            fiscal_year=data.fiscal_year,
            note=data.note,
            status=CoFundingStatus.declared,
            declared_by=principal.subject,
            declared_at=now,
        )
        self.repo.add(row)
        await self.repo.flush()
        return row, True

    async def confirm(
        self, principal: Principal, project_id: UUID, co_funding_id: UUID, *, now: datetime
    ) -> GrantCoFunding:
        grant = await self.grants.visible(principal, project_id)
        row = await self.repo.get(co_funding_id, lock=True)
        if row is None or row.project_id != project_id:
            raise CoFundingNotFound()
        if not _of_the_organization(principal, grant):
            raise NotTheOrganization()
        if row.status == CoFundingStatus.confirmed:
            if row.confirmed_by == principal.subject:
                return row  # the same confirmation again
            raise CoFundingAlreadyConfirmed()
        if row.declared_by == principal.subject:
            raise DeclarerCannotConfirm()
        row.status = CoFundingStatus.confirmed
        row.confirmed_by = principal.subject
        row.confirmed_at = now
        await self.repo.flush()
        return row

    async def of_project(
        self, principal: Principal, project_id: UUID, *, offset: int, limit: int
    ) -> Sequence[GrantCoFunding]:
        await self.grants.visible(principal, project_id)
        return await self.repo.of_project(project_id, offset=offset, limit=limit)
