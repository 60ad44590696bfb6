"""The SQL of one-time account tokens and of finding an account by what its owner remembers."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.gateway.models import AccountToken, User


class TokenPurpose(StrEnum):
    password_reset = "password_reset"
    email_verification = "email_verification"


class AccountRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def user_by_login(self, login: str) -> User | None:
        """The account whose username or verified e-mail address this is."""
        login = login.strip().lower()
        column = User.email if "@" in login else User.username
        return await self.session.scalar(
            sa.select(User).options(selectinload(User.roles)).where(column == login)
        )

    async def issue(self, token: AccountToken, *, keep: int) -> None:
        """Adds the token, voiding the user's unspent ones of the same purpose but the `keep`
        newest."""
        kept = (
            sa.select(AccountToken.id)
            .where(
                AccountToken.user_id == token.user_id,
                AccountToken.purpose == token.purpose,
                AccountToken.spent_at.is_(None),
            )
            .order_by(AccountToken.id.desc())  # uuid7: in the order issued
            .limit(keep)
        )
        await self.session.execute(
            sa.update(AccountToken)
            .where(
                AccountToken.user_id == token.user_id,
                AccountToken.purpose == token.purpose,
                AccountToken.spent_at.is_(None),
                AccountToken.id.not_in(kept),
            )
            .values(spent_at=sa.func.now())
        )
        self.session.add(token)
        await self.session.flush()

    async def usable(
        self, token_hash: str, purpose: TokenPurpose, now: datetime
    ) -> AccountToken | None:
        """The unspent, unexpired token with this hash, locked (two confirmations: one wins)."""
        return await self.session.scalar(
            sa.select(AccountToken)
            .where(
                AccountToken.token_hash == token_hash,
                AccountToken.purpose == purpose.value,
                AccountToken.spent_at.is_(None),
                AccountToken.expires_at > now,
            )
            .with_for_update()
        )

    async def pending_email(self, user_id: UUID, now: datetime) -> str | None:
        return await self.session.scalar(
            sa.select(AccountToken.email)
            .where(
                AccountToken.user_id == user_id,
                AccountToken.purpose == TokenPurpose.email_verification.value,
                AccountToken.spent_at.is_(None),
                AccountToken.expires_at > now,
            )
            .order_by(AccountToken.created_at.desc())
            .limit(1)
        )
