"""Providers (reviewed, publicised for 7 days, suspendable) and enterprises (who controls them,
whom they are related to), each registered by a user of the organization itself."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.access.repository import AccessRepository
from services.funds.models.vouchers import (
    ProviderReview,
    ProviderStatus,
    VoucherEnterprise,
    VoucherProvider,
)
from services.funds.vouchers.exceptions import (
    EnterpriseExistsDifferent,
    EnterpriseNotFound,
    NotSchemeManager,
    OrganizationRequired,
    OrganizationUnknown,
    ProviderExistsDifferent,
    ProviderInvalidTransition,
    ProviderNotFound,
)
from services.funds.vouchers.repository import VoucherRepository
from services.funds.vouchers.schemas import (
    EnterpriseCreate,
    ProviderCreate,
    ProviderRead,
)
from services.funds.vouchers.visibility import voucher_scope
from shared.auth.tokens import Principal

PUBLICITY = timedelta(days=7)


def provider_status(provider: VoucherProvider, now: datetime) -> ProviderStatus:
    """Computed from the review, the suspension and the clock (`VoucherProvider.in_publicity`):
    publicity ends by itself, no job needs to flip a flag."""
    if provider.review_state == ProviderReview.pending:
        return ProviderStatus.pending_review
    if provider.review_state == ProviderReview.rejected:
        return ProviderStatus.rejected
    if provider.suspended:
        return ProviderStatus.suspended
    return ProviderStatus.in_publicity if provider.in_publicity(now) else ProviderStatus.active


def provider_read(provider: VoucherProvider, now: datetime) -> ProviderRead:
    status = provider_status(provider, now)
    return ProviderRead.model_validate(
        {
            **{c: getattr(provider, c) for c in ProviderRead.model_fields if hasattr(provider, c)},
            "status": status,
            "accepts_vouchers": status == ProviderStatus.active,
        }
    )


def controller_or_self(controller: str | None, credit_code: str) -> str:
    return controller or credit_code


def _party_values(data: ProviderCreate | EnterpriseCreate) -> dict[str, Any]:
    values = data.model_dump(mode="json", exclude={"id", "actual_controller"})
    values["related_parties"] = sorted(
        values["related_parties"], key=lambda p: (p["credit_code"], p["relation"])
    )
    return values


class PartyService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = VoucherRepository(session)

    async def _organization(self, principal: Principal) -> tuple[UUID, str, str]:
        if principal.org_id is None:
            raise OrganizationRequired()
        org = await self.repo.organization(principal.org_id)
        if org is None:
            raise OrganizationUnknown()
        return org

    # --- providers ---------------------------------------------------------------------------

    async def register_provider(
        self, data: ProviderCreate, *, principal: Principal, now: datetime
    ) -> tuple[VoucherProvider, bool]:
        org_id, name, credit_code = await self._organization(principal)
        values = {
            **_party_values(data),
            "actual_controller": controller_or_self(data.actual_controller, credit_code),
        }
        created = await self.repo.insert_provider(
            {
                **values,
                "id": data.id,
                "org_id": org_id,
                "name": name,
                "credit_code": credit_code,
                "review_state": ProviderReview.pending,
                "suspended": False,
                "registered_by": principal.subject,
                "created_at": now,
            }
        )
        provider = await self.repo.provider_of(org_id)
        if provider is None or (
            not created
            and (
                provider.id != data.id or any(getattr(provider, k) != v for k, v in values.items())
            )
        ):
            raise ProviderExistsDifferent()
        if created:
            await self._history(
                provider,
                "registered",
                None,
                ProviderStatus.pending_review,
                principal.subject,
                None,
                now,
            )
        return provider, created

    async def provider(self, provider_id: UUID, principal: Principal) -> VoucherProvider:
        """The provider if the caller may see it (`visibility.py`); else not found."""
        found = await voucher_scope(self.session, principal)
        provider = await AccessRepository(self.session).visible(
            VoucherProvider, provider_id, found.providers()
        )
        if provider is None:
            raise ProviderNotFound()
        return provider

    async def providers(
        self, principal: Principal, *, offset: int, limit: int
    ) -> Sequence[VoucherProvider]:
        found = await voucher_scope(self.session, principal)
        return await self.repo.providers(found.providers(), offset=offset, limit=limit)

    async def reviewable(self, provider_id: UUID, principal: Principal) -> VoucherProvider:
        """The provider, locked, for one who admits providers (an admin, or a manager of a
        program running a scheme); one who may only read it is refused (403), anyone else
        is told it does not exist."""
        found = await voucher_scope(self.session, principal)
        if not found.admits_providers:
            await self.provider(provider_id, principal)
            raise NotSchemeManager()
        return await self._locked(provider_id)

    async def in_publicity(
        self, now: datetime, *, offset: int, limit: int
    ) -> Sequence[VoucherProvider]:
        return await self.repo.providers_in_publicity(now, offset=offset, limit=limit)

    async def approve(
        self, provider_id: UUID, *, principal: Principal, reason: str | None, now: datetime
    ) -> VoucherProvider:
        provider = await self.reviewable(provider_id, principal)
        actor = principal.subject
        if provider.review_state == ProviderReview.approved and provider.reviewed_by == actor:
            return provider  # the same approval again: publicity does not restart
        if provider.review_state != ProviderReview.pending:
            raise ProviderInvalidTransition(extra={"state": provider_status(provider, now)})
        provider.review_state = ProviderReview.approved
        provider.publicity_ends_at = now + PUBLICITY
        return await self._reviewed(provider, actor, reason, now)

    async def reject(
        self, provider_id: UUID, *, principal: Principal, reason: str, now: datetime
    ) -> VoucherProvider:
        provider = await self.reviewable(provider_id, principal)
        actor = principal.subject
        if provider.review_state == ProviderReview.rejected and provider.reviewed_by == actor:
            return provider
        if provider.review_state != ProviderReview.pending:
            raise ProviderInvalidTransition(extra={"state": provider_status(provider, now)})
        provider.review_state = ProviderReview.rejected
        return await self._reviewed(provider, actor, reason, now)

    async def suspend(
        self, provider_id: UUID, *, principal: Principal, reason: str, now: datetime
    ) -> VoucherProvider:
        provider = await self.reviewable(provider_id, principal)
        return await self.set_suspended(
            provider, True, actor=principal.subject, reason=reason, now=now
        )

    async def reinstate(
        self, provider_id: UUID, *, principal: Principal, reason: str, now: datetime
    ) -> VoucherProvider:
        provider = await self.reviewable(provider_id, principal)
        return await self.set_suspended(
            provider, False, actor=principal.subject, reason=reason, now=now
        )

    async def set_suspended(
        self,
        provider: VoucherProvider,
        suspended: bool,
        *,
        actor: str,
        reason: str,
        now: datetime,
    ) -> VoucherProvider:
        if provider.review_state != ProviderReview.approved or provider.suspended == suspended:
            raise ProviderInvalidTransition(extra={"state": provider_status(provider, now)})
        before = provider_status(provider, now)
        provider.suspended = suspended
        provider.suspension_reason = reason if suspended else None
        await self.session.flush()
        action = "suspended" if suspended else "reinstated"
        after = provider_status(provider, now)
        await self._history(provider, action, before, after, actor, reason, now)
        return provider

    async def lock_provider(self, provider_id: UUID) -> VoucherProvider:
        return await self._locked(provider_id)

    async def _locked(self, provider_id: UUID) -> VoucherProvider:
        provider = await self.repo.lock_provider(provider_id)
        if provider is None:
            raise ProviderNotFound()
        return provider

    async def _reviewed(
        self, provider: VoucherProvider, actor: str, reason: str | None, now: datetime
    ) -> VoucherProvider:
        provider.reviewed_by = actor
        provider.reviewed_at = now
        provider.review_reason = reason
        await self.session.flush()
        after = provider_status(provider, now)
        await self._history(
            provider,
            provider.review_state,
            ProviderStatus.pending_review,
            after,
            actor,
            reason,
            now,
        )
        return provider

    async def _history(
        self,
        provider: VoucherProvider,
        action: str,
        before: ProviderStatus | None,
        after: ProviderStatus | None,
        actor: str,
        reason: str | None,
        now: datetime,
    ) -> None:
        await self.repo.record(
            subject_kind="provider",
            subject_id=provider.id,
            action=action,
            from_state=before,
            to_state=after,
            actor=actor,
            reason=reason,
            at=now,
        )

    # --- enterprises -------------------------------------------------------------------------

    async def register_enterprise(
        self, data: EnterpriseCreate, *, principal: Principal, now: datetime
    ) -> tuple[VoucherEnterprise, bool]:
        """One registration per organization; the controller cannot be changed afterwards
        (a new controller would let the group's vouchers escape its cap)."""
        org_id, name, credit_code = await self._organization(principal)
        values = {
            **_party_values(data),
            "actual_controller": controller_or_self(data.actual_controller, credit_code),
        }
        created = await self.repo.insert_enterprise(
            {
                **values,
                "id": data.id,
                "org_id": org_id,
                "name": name,
                "credit_code": credit_code,
                "registered_by": principal.subject,
                "created_at": now,
            }
        )
        enterprise = await self.repo.enterprise_of(org_id)
        if enterprise is None or (
            not created
            and (
                enterprise.id != data.id
                or any(getattr(enterprise, k) != v for k, v in values.items())
            )
        ):
            raise EnterpriseExistsDifferent()
        return enterprise, created

    async def enterprise(self, enterprise_id: UUID, principal: Principal) -> VoucherEnterprise:
        found = await voucher_scope(self.session, principal)
        enterprise = await AccessRepository(self.session).visible(
            VoucherEnterprise, enterprise_id, found.enterprises()
        )
        if enterprise is None:
            raise EnterpriseNotFound()
        return enterprise

    async def own_enterprise(self, principal: Principal) -> VoucherEnterprise:
        if principal.org_id is None:
            raise OrganizationRequired()
        enterprise = await self.repo.enterprise_of(principal.org_id)
        if enterprise is None:
            raise EnterpriseNotFound()
        return enterprise
