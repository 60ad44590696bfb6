from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.gateway.identity.filters import OrganizationFilters, UserFilters
from services.gateway.models import AccountToken, Organization, RefreshToken, User, UserRole
from shared.auth.roles import Role
from shared.clock import utcnow

# Held while a change that could leave no admin is checked and made (see `active_admins`).
ADMIN_LOCK_ID = 0x5C1_0003


class IdentityRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def organization(self, org_id: UUID) -> Organization | None:
        return await self.session.get(Organization, org_id)

    async def organization_by_code(self, credit_code: str) -> Organization | None:
        return await self.session.scalar(
            sa.select(Organization).where(Organization.credit_code == credit_code)
        )

    async def organizations(
        self, filters: OrganizationFilters, *, limit: int, offset: int
    ) -> Sequence[Organization]:
        query = sa.select(Organization)
        if filters.kind is not None:
            query = query.where(Organization.kind == filters.kind.value)
        if filters.parent_id is not None:
            query = query.where(Organization.parent_id == filters.parent_id)
        if filters.credit_code is not None:
            query = query.where(Organization.credit_code == filters.credit_code)
        if filters.name is not None:
            query = query.where(Organization.name.icontains(filters.name, autoescape=True))
        return (
            await self.session.scalars(query.order_by(Organization.id).limit(limit).offset(offset))
        ).all()

    async def user(self, user_id: UUID, *, lock: bool = False) -> User | None:
        query = sa.select(User).options(selectinload(User.roles)).where(User.id == user_id)
        if lock:
            query = query.with_for_update(of=User)
        return await self.session.scalar(query)

    async def user_by_username(self, username: str) -> User | None:
        return await self.session.scalar(
            sa.select(User).options(selectinload(User.roles)).where(User.username == username)
        )

    async def user_by_email(self, email: str) -> User | None:
        return await self.session.scalar(
            sa.select(User).options(selectinload(User.roles)).where(User.email == email)
        )

    async def users(self, filters: UserFilters, *, limit: int, offset: int) -> Sequence[User]:
        query = sa.select(User)
        if filters.role is not None:
            holders = sa.select(UserRole.user_id).where(UserRole.role == filters.role.value)
            query = query.where(User.id.in_(holders))
        if filters.org_id is not None:
            query = query.where(User.org_id == filters.org_id)
        if filters.active is not None:
            query = query.where(User.is_active.is_(filters.active))
        if filters.username_prefix is not None:
            query = query.where(User.username.startswith(filters.username_prefix, autoescape=True))
        if filters.text is not None:
            query = query.where(
                sa.or_(
                    User.username.icontains(filters.text, autoescape=True),
                    User.display_name.icontains(filters.text, autoescape=True),
                    User.email.icontains(filters.text, autoescape=True),
                )
            )
        return (
            await self.session.scalars(
                query.options(selectinload(User.roles))
                .order_by(User.id)
                .limit(limit)
                .offset(offset)
            )
        ).all()

    async def lock_admins(self) -> None:
        """Serializes changes that remove an admin: two admins demoting each other at once
        must not both see the other one still there (held until the transaction ends)."""
        await self.session.execute(sa.select(sa.func.pg_advisory_xact_lock(ADMIN_LOCK_ID)))

    async def active_admins(self, *, besides: UUID) -> int:
        return (
            await self.session.scalar(
                sa.select(sa.func.count())
                .select_from(User)
                .join(UserRole, UserRole.user_id == User.id)
                .where(UserRole.role == Role.admin.value, User.is_active, User.id != besides)
            )
        ) or 0

    async def revoke_sessions(self, user_id: UUID) -> None:
        await self.session.execute(
            sa.update(RefreshToken)
            .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )

    async def void_account_tokens(self, user_id: UUID) -> None:
        """Every unspent one-time token of the account, of any purpose, opens nothing now: a
        link mailed before the password was set, an address confirmed or the account closed
        must not undo it (a reset link kept by someone who had the session, say)."""
        await self.session.execute(
            sa.update(AccountToken)
            .where(AccountToken.user_id == user_id, AccountToken.spent_at.is_(None))
            .values(spent_at=utcnow())
        )
