"""Transfers: batches in, one result per transfer out; reading one transfer back."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Header, Request

from services.funds.auth import LedgerReader, NowDep, TransferPoster
from services.funds.config import FundsSettings
from services.funds.ledger.coalescer import LedgerCoalescer
from services.funds.ledger.schemas import BatchResults, TransferBatch, TransferView
from services.funds.ledger.service import LedgerService, post_batch
from shared.db import DatabaseDep, SessionDep

router = APIRouter(prefix="/v1/transfers", tags=["transfers"])


async def ledger_service(session: SessionDep) -> LedgerService:
    return LedgerService(session)


async def ledger_coalescer(request: Request) -> LedgerCoalescer:
    """The app's coalescer, made at the first batch for the app's current database."""
    state = request.app.state
    coalescer: LedgerCoalescer | None = getattr(state, "ledger_coalescer", None)
    if coalescer is None or coalescer.database is not state.db:
        settings: FundsSettings = state.settings
        coalescer = state.ledger_coalescer = LedgerCoalescer(
            state.db,
            lambda: state.clock(),  # read at each statement: tests put their own clock
            in_flight=settings.ledger_statements_in_flight,
            stall_seconds=settings.ledger_statement_stall_ms / 1000,
        )
    return coalescer


Ledger = Annotated[LedgerService, Depends(ledger_service)]
Coalescer = Annotated[LedgerCoalescer, Depends(ledger_coalescer)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=8,
        max_length=200,
        description="optional: a repeat of the request with this key gets the first answer",
    ),
]


@router.post(
    "",
    response_model=BatchResults,
    summary="Create a batch of transfers (up to 8,190)",
    description=(
        "Applied in order. A transfer flagged `linked` succeeds or fails together with the "
        "next one; other transfers succeed or fail on their own, so the answer is 200 with one "
        "result per transfer: `created` (201), `exists` (200: the same id and body were sent "
        "before; no second effect) or `failed` with its `status` and `code` (e.g. 409 "
        "`transfer.exists_different`, 409 `transfer.exceeds_credits`). A failed id stays "
        "failed: sending it again returns the same code. A malformed batch is refused as a "
        "whole (422, nothing written)."
    ),
)
async def create_transfers(
    batch: Annotated[TransferBatch, Body()],
    database: DatabaseDep,
    coalescer: Coalescer,
    poster: TransferPoster,
    now: NowDep,
    idempotency_key: IdempotencyKey = None,
) -> BatchResults:
    return await post_batch(
        database, coalescer, batch, actor=poster.subject, now=now, idempotency_key=idempotency_key
    )


@router.get("/{transfer_id}", response_model=TransferView, summary="One transfer")
async def get_transfer(transfer_id: UUID, ledger: Ledger, reader: LedgerReader) -> TransferView:
    return await ledger.readable_view(reader, transfer_id)
