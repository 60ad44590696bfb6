"""Payment orders: made by one finance officer, approved or rejected by another."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response, status

from services.funds.auth import FinanceOfficer, LedgerReader, NowDep
from services.funds.models.payments import PaymentOrderStatus
from services.funds.payments.schemas import (
    Decision,
    PaymentOrderCreate,
    PaymentOrderRead,
    Rejection,
)
from services.funds.payments.service import PaymentOrderService
from shared.db import SessionDep
from shared.pagination import Page, PageDep, next_cursor, start_of

router = APIRouter(prefix="/v1/payment-orders", tags=["payment orders"])


async def payment_order_service(session: SessionDep) -> PaymentOrderService:
    return PaymentOrderService(session)


PaymentOrders = Annotated[PaymentOrderService, Depends(payment_order_service)]


@router.post(
    "",
    response_model=PaymentOrderRead,
    status_code=status.HTTP_201_CREATED,
    summary="Make a payment order: the amount is held until a second officer decides",
)
async def make_order(
    data: PaymentOrderCreate,
    orders: PaymentOrders,
    maker: FinanceOfficer,
    now: NowDep,
    response: Response,
) -> PaymentOrderRead:
    order, created = await orders.make(data, maker=maker.subject, now=now)
    if not created:
        response.status_code = status.HTTP_200_OK
    return await orders.view(order)


@router.get("", response_model=Page[PaymentOrderRead], summary="Payment orders, oldest first")
async def list_orders(
    orders: PaymentOrders,
    reader: LedgerReader,
    page: PageDep,
    order_status: Annotated[PaymentOrderStatus | None, Query(alias="status")] = None,
) -> Page[PaymentOrderRead]:
    offset = start_of(page)
    found = await orders.search(reader, status=order_status, offset=offset, limit=page.limit + 1)
    return Page[PaymentOrderRead](
        items=await orders.views(found[: page.limit]),
        next_cursor=next_cursor(offset, page.limit, len(found)),
    )


@router.get("/{order_id}", response_model=PaymentOrderRead)
async def get_order(
    order_id: UUID, orders: PaymentOrders, reader: LedgerReader
) -> PaymentOrderRead:
    return await orders.view(await orders.readable(reader, order_id))


@router.post(
    "/{order_id}/approve",
    response_model=PaymentOrderRead,
    summary="Approve (a finance officer other than the maker): the hold is paid",
)
async def approve_order(
    order_id: UUID,
    orders: PaymentOrders,
    checker: FinanceOfficer,
    now: NowDep,
    decision: Decision | None = None,
) -> PaymentOrderRead:
    reason = decision.reason if decision else None
    order = await orders.approve(order_id, checker=checker.subject, now=now, reason=reason)
    return await orders.view(order)


@router.post(
    "/{order_id}/reject",
    response_model=PaymentOrderRead,
    summary="Reject (or withdraw, by the maker): the hold is released",
)
async def reject_order(
    order_id: UUID,
    rejection: Rejection,
    orders: PaymentOrders,
    checker: FinanceOfficer,
    now: NowDep,
) -> PaymentOrderRead:
    order = await orders.reject(order_id, checker=checker.subject, now=now, reason=rejection.reason)
    return await orders.view(order)
