"""The ledger, as other code in this service calls it.

    results = await LedgerService(session).create_transfers(batch, actor=..., now=...)

`batch` is a sequence of `TransferIn`; the answer is one `TransferResult` per transfer, in
order. Transfers are applied in order, each seeing the effect of those before it; a transfer
flagged `linked` succeeds or fails together with the next one (a chain ends at the first
transfer without the flag); other transfers succeed or fail each on their own. Nothing is
committed here: the caller's transaction (the request's) commits or rolls back all of it.

`create_transfer` is the same for one transfer, raising the refusal as an `AppError`. Code
that has run the maker-checker itself (payment orders, voucher redemptions approved by a
finance officer) passes `approved=True` to pay out of accounts that require approval.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.access.repository import AccessRepository
from services.funds.access.scope import funds_scope
from services.funds.exceptions import IdempotencyKeyReused, TransferNotFound
from services.funds.ledger.coalescer import LedgerCoalescer
from services.funds.ledger.codes import CREATED, EXISTS, outcome, refusal
from services.funds.ledger.repository import LedgerRepository
from services.funds.ledger.schemas import (
    BatchResults,
    TransferIn,
    TransferResult,
    TransferView,
    batch_adapter,
)
from services.funds.models import Transfer
from shared.auth.tokens import Principal
from shared.db import Database

_HOLD_STATES = {"post": "posted", "void": "voided", "expire": "expired"}


def _result(index: int, transfer: TransferIn, answer: str) -> TransferResult:
    found = outcome(answer)
    if answer == CREATED:
        return TransferResult(index=index, id=transfer.id, result="created", status=found.status)
    if answer == EXISTS:
        return TransferResult(index=index, id=transfer.id, result="exists", status=found.status)
    return TransferResult(
        index=index, id=transfer.id, result="failed", status=found.status, code=answer
    )


def _results(batch: Sequence[TransferIn], answers: list[str]) -> list[TransferResult]:
    return [
        _result(index, transfer, answer)
        for index, (transfer, answer) in enumerate(zip(batch, answers, strict=True))
    ]


def summarize(results: list[TransferResult]) -> BatchResults:
    created = sum(1 for r in results if r.result == "created")
    exists = sum(1 for r in results if r.result == "exists")
    return BatchResults(
        created=created, exists=exists, failed=len(results) - created - exists, results=results
    )


async def post_batch(
    database: Database,
    coalescer: LedgerCoalescer,
    batch: Sequence[TransferIn],
    *,
    actor: str,
    now: datetime,
    idempotency_key: str | None = None,
) -> BatchResults:
    """A batch from the API. Without an Idempotency-Key it goes to the coalescer, which sends it
    in one statement on an autocommit connection (the ledger function is the whole write),
    together with the same actor's batches that arrived while the previous statement ran. With
    a key, claiming the key, the batch and keeping the answer commit together in a session's
    transaction. Either way the request holds at most one connection of the pool."""
    if idempotency_key is None:
        if not batch:
            return summarize([])
        return summarize(_results(batch, await coalescer.create(batch, actor=actor)))
    async with database.sessionmaker() as session, session.begin():
        return await LedgerService(session).create_batch(
            batch, actor=actor, now=now, idempotency_key=idempotency_key
        )


class LedgerService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = LedgerRepository(session)

    async def create_transfers(
        self,
        batch: Sequence[TransferIn],
        *,
        actor: str,
        now: datetime,
        approved: bool = False,
    ) -> list[TransferResult]:
        if not batch:
            return []
        # Every field, defaults included, so the body hash does not depend on what was omitted.
        canonical = batch_adapter.dump_json(list(batch)).decode()
        answers = await self.repo.create_transfers(
            canonical, actor=actor, now=now, approved=approved
        )
        return _results(batch, answers)

    async def create_transfer(
        self, transfer: TransferIn, *, actor: str, now: datetime, approved: bool = False
    ) -> Transfer:
        """One transfer: the stored transfer (new, or the same one sent before), or raises."""
        (result,) = await self.create_transfers([transfer], actor=actor, now=now, approved=approved)
        if not result.ok:
            assert result.code is not None
            raise refusal(result.code)
        stored = await self.repo.get(transfer.id)
        assert stored is not None
        return stored

    async def create_batch(
        self,
        batch: Sequence[TransferIn],
        *,
        actor: str,
        now: datetime,
        idempotency_key: str | None = None,
    ) -> BatchResults:
        """A batch from the API; with an Idempotency-Key, a repeat gets the first answer again."""
        if idempotency_key is None:
            return summarize(await self.create_transfers(batch, actor=actor, now=now))
        request_hash = hashlib.sha256(batch_adapter.dump_json(list(batch))).hexdigest()
        claimed, first_hash, answer = await self.repo.claim_idempotency_key(
            actor, idempotency_key, request_hash
        )
        if not claimed:
            if first_hash != request_hash:
                raise IdempotencyKeyReused()
            assert answer is not None
            return BatchResults.model_validate(answer)
        results = summarize(await self.create_transfers(batch, actor=actor, now=now))
        await self.repo.keep_answer(actor, idempotency_key, results.model_dump(mode="json"))
        return results

    async def expire_due(self, now: datetime, limit: int = 1000) -> int:
        """Releases up to `limit` holds whose timeout has passed; how many it released."""
        return await self.repo.expire_due(now, limit)

    async def view(self, transfer_id: UUID) -> TransferView:
        transfer = await self.repo.get(transfer_id)
        if transfer is None:
            raise TransferNotFound()
        extra: dict[str, Any] = {}
        if transfer.kind == "pending":
            resolution = await self.repo.resolution_of(transfer.id)
            extra["hold_state"] = _HOLD_STATES[resolution.kind] if resolution else "pending"
            extra["resolved_by"] = resolution.id if resolution else None
        return TransferView.model_validate(transfer).model_copy(update=extra)

    async def readable_view(self, principal: Principal, transfer_id: UUID) -> TransferView:
        """The transfer if it moved money from or into an account the caller reads; else 404."""
        found = await funds_scope(self.session, principal)
        if not found.everything and not await AccessRepository(self.session).finds(
            Transfer, transfer_id, found.transfers()
        ):
            raise TransferNotFound()
        return await self.view(transfer_id)
