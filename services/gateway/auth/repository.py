"""The SQL of logins, tokens, login throttling and signing keys."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.gateway.models import (
    ApiClient,
    LoginAddressFailure,
    LoginFailure,
    LoginKnownAddress,
    RefreshToken,
    SigningKey,
    User,
)
from shared.auth.active_users import Lookup
from shared.db import CompiledRead, Database

KEY_LOCK_ID = 0x5C1_0001  # advisory lock: only one process creates the first key


class CredentialRepository:
    """Users as a login sees them, service accounts and refresh tokens."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def user_by_username(self, username: str) -> User | None:
        return await self.session.scalar(
            sa.select(User).options(selectinload(User.roles)).where(User.username == username)
        )

    async def user(self, user_id: UUID) -> User | None:
        return await self.session.scalar(
            sa.select(User).options(selectinload(User.roles)).where(User.id == user_id)
        )

    async def api_client(self, client_id: str) -> ApiClient | None:
        return await self.session.get(ApiClient, client_id)

    async def save_api_client(self, client_id: str, secret_hash: str, audiences: list[str]) -> None:
        """Creates the service account, or gives an existing one this secret and audiences."""
        await self.session.execute(
            insert(ApiClient)
            .values(client_id=client_id, secret_hash=secret_hash, audiences=audiences)
            .on_conflict_do_update(
                index_elements=[ApiClient.client_id],
                set_={"secret_hash": secret_hash, "audiences": audiences},
            )
        )

    async def refresh_token(self, token_hash: str, *, lock: bool = False) -> RefreshToken | None:
        query = sa.select(RefreshToken).where(RefreshToken.token_hash == token_hash)
        if lock:
            query = query.with_for_update()
        return await self.session.scalar(query)

    async def add_refresh_token(self, token: RefreshToken) -> None:
        self.session.add(token)
        await self.session.flush()

    async def revoke_family(self, family_id: UUID, at: datetime) -> None:
        await self.session.execute(
            sa.update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=at)
        )

    async def revoke_user(self, user_id: UUID, at: datetime) -> None:
        await self.session.execute(
            sa.update(RefreshToken)
            .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=at)
        )


class ThrottleRepository:
    """The failure counts and locks of login throttling, and the addresses owners use."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def address_locked_until(self, username: str, address: str) -> datetime | None:
        return await self.session.scalar(
            sa.select(LoginAddressFailure.locked_until).where(
                LoginAddressFailure.username == username, LoginAddressFailure.address == address
            )
        )

    async def account_locked_until(self, username: str) -> datetime | None:
        return await self.session.scalar(
            sa.select(LoginFailure.locked_until).where(LoginFailure.username == username)
        )

    async def is_known_address(self, username: str, address: str, since: datetime) -> bool:
        return bool(
            await self.session.scalar(
                sa.select(sa.literal(True)).where(
                    LoginKnownAddress.username == username,
                    LoginKnownAddress.address == address,
                    LoginKnownAddress.last_success_at > since,
                )
            )
        )

    async def count_address_failure(self, username: str, address: str, memory: timedelta) -> int:
        return await self._count(
            LoginAddressFailure, {"username": username, "address": address}, memory
        )

    async def count_account_failure(self, username: str, memory: timedelta) -> int:
        return await self._count(LoginFailure, {"username": username}, memory)

    async def lock_address(self, username: str, address: str, until: datetime) -> None:
        await self.session.execute(
            sa.update(LoginAddressFailure)
            .where(LoginAddressFailure.username == username, LoginAddressFailure.address == address)
            .values(locked_until=until)
        )

    async def lock_account(self, username: str, until: datetime) -> None:
        await self.session.execute(
            sa.update(LoginFailure)
            .where(LoginFailure.username == username)
            .values(locked_until=until)
        )

    async def forget_address_failures(self, username: str, address: str) -> None:
        await self.session.execute(
            sa.delete(LoginAddressFailure).where(
                LoginAddressFailure.username == username, LoginAddressFailure.address == address
            )
        )

    async def remember_address(self, username: str, address: str, at: datetime) -> None:
        await self.session.execute(
            insert(LoginKnownAddress)
            .values(username=username, address=address, last_success_at=at)
            .on_conflict_do_update(
                index_elements=[LoginKnownAddress.username, LoginKnownAddress.address],
                set_={"last_success_at": at},
            )
        )

    async def forget_failures(self, username: str) -> None:
        await self.session.execute(sa.delete(LoginFailure).where(LoginFailure.username == username))
        await self.session.execute(
            sa.delete(LoginAddressFailure).where(LoginAddressFailure.username == username)
        )

    async def _count(
        self,
        model: type[LoginFailure] | type[LoginAddressFailure],
        key: dict[str, str],
        memory: timedelta,
    ) -> int:
        """Adds a failure (starting over after `memory` without one) and returns the count."""
        fresh = model.updated_at > sa.func.now() - memory
        statement = (
            insert(model)
            .values(**key, failures=1, updated_at=sa.func.now())
            .on_conflict_do_update(
                index_elements=[getattr(model, name) for name in key],
                set_={
                    "failures": sa.case((fresh, model.failures + 1), else_=1),
                    "updated_at": sa.func.now(),
                },
            )
            .returning(model.failures)
        )
        return int((await self.session.execute(statement)).scalar_one())


def active_user_lookup(db: Database) -> Lookup:
    """Whether a user is active (None: no such user), with one autocommit statement."""
    query = CompiledRead(sa.select(User.is_active).where(User.id == sa.bindparam("id")))

    async def is_active(user_id: UUID) -> bool | None:
        async with db.reading() as connection:
            found = await query.first(connection, id=user_id)
        return None if found is None else bool(found["is_active"])

    return is_active


class KeyRepository:
    """The signing keys: the newest active one signs, every active one verifies."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_keys(self) -> None:
        await self.session.execute(sa.select(sa.func.pg_advisory_xact_lock(KEY_LOCK_ID)))

    async def active_keys(self) -> Sequence[SigningKey]:
        """Newest first."""
        return (
            await self.session.scalars(
                sa.select(SigningKey)
                .where(SigningKey.retired_at.is_(None))
                .order_by(SigningKey.created_at.desc(), SigningKey.kid.desc())
            )
        ).all()

    async def has_active_key(self) -> bool:
        found = await self.session.scalar(
            sa.select(sa.func.count())
            .select_from(SigningKey)
            .where(SigningKey.retired_at.is_(None))
        )
        return bool(found)

    async def add(self, key: SigningKey) -> None:
        self.session.add(key)
        await self.session.flush()

    async def retire(self, kid: str, at: datetime) -> bool:
        result = await self.session.execute(
            sa.update(SigningKey)
            .where(SigningKey.kid == kid, SigningKey.retired_at.is_(None))
            .values(retired_at=at)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
