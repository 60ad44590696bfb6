"""SQL of the ledger: one call of `funds.create_transfers` per batch, and reads of transfers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.funds.exceptions import LedgerBusy
from services.funds.models import IdempotencyKey, Transfer
from shared.db import DRIVER_ERRORS, as_dbapi_error, driver_connection

# The ledger could not finish in time: a deadlock or id clash left after the function's own
# retries (see the migration), a lock or statement timeout behind a long queue on a hot
# account. Nothing was written; the client retries, and transfer ids make that safe.
_BUSY_STATES = frozenset({"40P01", "23505", "40001", "55P03", "57014"})

_CREATE = sa.text(
    "SELECT funds.create_transfers(CAST(:batch AS jsonb), :actor, :now, :approved)"
).columns(sa.column("results", sa.ARRAY(sa.Text)))
# The same call, as asyncpg takes it: for a batch that is a request's whole write.
_CREATE_ALONE = "SELECT funds.create_transfers($1::jsonb, $2, $3, $4)"
_EXPIRE = sa.text("SELECT funds.expire_pending_transfers(:now, :limit)")


def _sqlstate(error: DBAPIError) -> str | None:
    original = getattr(error, "orig", None)
    state = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    cause = getattr(original, "__cause__", None)
    return state or getattr(cause, "sqlstate", None)


async def create_transfers_alone(
    connection: AsyncConnection, batch_json: str, *, actor: str, now: datetime
) -> list[str]:
    """Applies a batch in a statement of its own, straight on the driver's connection.

    The function checks and writes the whole batch, so on an autocommit connection PostgreSQL
    runs it as its own transaction: no BEGIN and COMMIT round trips, no ORM session (together
    about a third of a single transfer's CPU in this service). On a connection already inside a
    transaction (the tests') it runs in a savepoint, so a refusal leaves that transaction usable.
    """
    driver = await driver_connection(connection)
    args: list[object] = [batch_json, actor, now, False]
    try:
        if driver.is_in_transaction():
            async with driver.transaction():
                results = await driver.fetchval(_CREATE_ALONE, *args)
        else:
            results = await driver.fetchval(_CREATE_ALONE, *args)
    except asyncpg.PostgresError as exc:
        if exc.sqlstate in _BUSY_STATES:
            raise LedgerBusy(headers={"Retry-After": "1"}) from exc
        raise as_dbapi_error(_CREATE_ALONE, args, exc) from exc
    except DRIVER_ERRORS as exc:
        raise as_dbapi_error(_CREATE_ALONE, args, exc) from exc
    return list(results or [])


class LedgerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create_transfers(
        self, batch_json: str, *, actor: str, now: datetime, approved: bool
    ) -> list[str]:
        """Applies a batch (a JSON array of canonical transfers); one result per transfer."""
        try:
            results = await self.session.scalar(
                _CREATE, {"batch": batch_json, "actor": actor, "now": now, "approved": approved}
            )
        except DBAPIError as exc:
            if _sqlstate(exc) in _BUSY_STATES:
                raise LedgerBusy(headers={"Retry-After": "1"}) from exc
            raise
        return list(results or [])

    async def expire_due(self, now: datetime, limit: int) -> int:
        expired = await self.session.scalar(_EXPIRE, {"now": now, "limit": limit})
        return int(expired or 0)

    async def get(self, transfer_id: UUID) -> Transfer | None:
        return await self.session.get(Transfer, transfer_id)

    async def many(self, ids: Sequence[UUID]) -> dict[UUID, Transfer]:
        rows = await self.session.scalars(sa.select(Transfer).where(Transfer.id.in_(ids)))
        return {row.id: row for row in rows}

    async def resolution_of(self, pending_id: UUID) -> Transfer | None:
        return await self.session.scalar(
            sa.select(Transfer).where(Transfer.pending_id == pending_id)
        )

    async def claim_idempotency_key(
        self, principal: str, key: str, request_hash: str
    ) -> tuple[bool, str, dict[str, Any] | None]:
        """Claims `key` for this request; (claimed, hash of the first request, its answer).

        A second request with the key waits here until the first one commits (unique index),
        then finds its answer; if the first rolled back, the second claims the key itself.
        """
        claimed = await self.session.scalar(
            insert(IdempotencyKey)
            .values(principal=principal, key=key, request_hash=request_hash)
            .on_conflict_do_nothing()
            .returning(IdempotencyKey.principal)
        )
        if claimed is not None:
            return True, request_hash, None
        row = (
            await self.session.execute(
                sa.select(IdempotencyKey.request_hash, IdempotencyKey.response).where(
                    IdempotencyKey.principal == principal, IdempotencyKey.key == key
                )
            )
        ).one()
        return False, row.request_hash, row.response

    async def keep_answer(self, principal: str, key: str, response: dict[str, Any]) -> None:
        await self.session.execute(
            sa.update(IdempotencyKey)
            .where(IdempotencyKey.principal == principal, IdempotencyKey.key == key)
            .values(response=response)
        )
