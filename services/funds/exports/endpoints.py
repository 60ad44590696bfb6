"""`/v1/exports/payment-orders`: the payment orders as a file (`?format=csv|xlsx`), with the
filter and the scope of `/v1/payment-orders` (the orders paying from or into an account the
caller reads). Batches are read in sessions of their own, as the client downloads."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import StreamingResponse

from services.funds.auth import LedgerReader, NowDep
from services.funds.models.payments import PaymentOrderStatus
from services.funds.payments.schemas import PaymentOrderRead
from services.funds.payments.service import PaymentOrderService
from shared.db import SessionmakerDep
from shared.tabular import (
    FILE_RESPONSES,
    Batch,
    FormatQuery,
    export_response,
    in_batches,
    model_columns,
    model_row,
)

router = APIRouter(prefix="/v1/exports", tags=["exports"])

ORDER_COLUMNS = model_columns(PaymentOrderRead)


@router.get(
    "/payment-orders",
    response_class=StreamingResponse,
    responses=FILE_RESPONSES,
    summary="Payment orders the caller may read, oldest first, as a file",
)
async def export_payment_orders(
    sessions: SessionmakerDep,
    reader: LedgerReader,
    export_format: FormatQuery,
    now: NowDep,
    order_status: Annotated[PaymentOrderStatus | None, Query(alias="status")] = None,
) -> StreamingResponse:
    async def fetch(offset: int, limit: int) -> Batch:
        async with sessions() as session:
            orders = PaymentOrderService(session)
            found = await orders.search(reader, status=order_status, offset=offset, limit=limit)
            views = await orders.views(found)
        return [model_row(view, ORDER_COLUMNS) for view in views]

    return await export_response(
        export_format, f"payment-orders-{now:%Y%m%d}", ORDER_COLUMNS, in_batches(fetch)
    )
