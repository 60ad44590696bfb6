"""Innovation vouchers (科技创新券): programs, providers, enterprises, orders, redemptions."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Response, status

from services.funds.auth import CreditDep, NowDep
from services.funds.vouchers.auth import (
    EnterpriseUser,
    ProgramMaker,
    ProviderReviewer,
    ProviderUser,
    VoucherFinance,
    VoucherReader,
)
from services.funds.vouchers.fraud import FraudService
from services.funds.vouchers.issuing import VoucherService
from services.funds.vouchers.orders import OrderService
from services.funds.vouchers.parties import PartyService, provider_read
from services.funds.vouchers.programs import ProgramService
from services.funds.vouchers.redemptions import RedemptionService
from services.funds.vouchers.schemas import (
    EnterpriseCreate,
    EnterpriseRead,
    FraudReport,
    HistoryEntry,
    OrderCreate,
    OrderDecision,
    OrderRead,
    OrderRejection,
    ProgramCreate,
    ProgramRead,
    ProviderCreate,
    ProviderDecision,
    ProviderNotice,
    ProviderRead,
    ProviderRejection,
    Redemption,
    VoucherIssue,
    VoucherRead,
)
from shared.auth.dependencies import CurrentPrincipal
from shared.db import SessionDep, SessionmakerDep
from shared.pagination import Page, PageDep, next_cursor, page_of, start_of

router = APIRouter(prefix="/v1", tags=["vouchers"])

# Routes anyone may read without logging in (the providers in their publicity period).
PUBLIC_ROUTES: frozenset[tuple[str, str]] = frozenset({("GET", "/v1/voucher-providers/publicity")})


async def _programs(session: SessionDep) -> ProgramService:
    return ProgramService(session)


async def _parties(session: SessionDep) -> PartyService:
    return PartyService(session)


async def _vouchers(session: SessionDep) -> VoucherService:
    return VoucherService(session)


async def _orders(session: SessionDep) -> OrderService:
    return OrderService(session)


async def _redemptions(session: SessionDep) -> RedemptionService:
    return RedemptionService(session)


async def _frauds(session: SessionDep) -> FraudService:
    return FraudService(session)


Programs = Annotated[ProgramService, Depends(_programs)]
Parties = Annotated[PartyService, Depends(_parties)]
Vouchers = Annotated[VoucherService, Depends(_vouchers)]
Orders = Annotated[OrderService, Depends(_orders)]
Redemptions = Annotated[RedemptionService, Depends(_redemptions)]
Frauds = Annotated[FraudService, Depends(_frauds)]


def _created(response: Response, created: bool) -> None:
    if not created:
        response.status_code = status.HTTP_200_OK


# --- programs --------------------------------------------------------------------------------


@router.post(
    "/voucher-programs",
    response_model=ProgramRead,
    status_code=status.HTTP_201_CREATED,
    summary="Create a voucher program: its budget moves from the treasury to its pool",
)
async def create_program(
    data: ProgramCreate, programs: Programs, maker: ProgramMaker, now: NowDep, response: Response
) -> ProgramRead:
    program, created = await programs.create(data, actor=maker.subject, now=now)
    _created(response, created)
    return ProgramRead.model_validate(program)


@router.get("/voucher-programs", response_model=Page[ProgramRead])
async def list_programs(
    programs: Programs, _caller: CurrentPrincipal, page: PageDep
) -> Page[ProgramRead]:
    offset = start_of(page)
    found = await programs.search(offset=offset, limit=page.limit + 1)
    return page_of(found, offset, page.limit, ProgramRead.model_validate)


@router.get("/voucher-programs/{program_id}", response_model=ProgramRead)
async def get_program(
    program_id: UUID, programs: Programs, _caller: CurrentPrincipal
) -> ProgramRead:
    return ProgramRead.model_validate(await programs.get(program_id))


# --- providers -------------------------------------------------------------------------------


@router.post(
    "/voucher-providers",
    response_model=ProviderRead,
    status_code=status.HTTP_201_CREATED,
    summary="Register the caller's organization as a provider (then reviewed and publicised)",
)
async def register_provider(
    data: ProviderCreate, parties: Parties, caller: ProviderUser, now: NowDep, response: Response
) -> ProviderRead:
    provider, created = await parties.register_provider(data, principal=caller, now=now)
    _created(response, created)
    return provider_read(provider, now)


@router.get(
    "/voucher-providers/publicity",
    response_model=Page[ProviderNotice],
    summary="Providers in their publicity period (public)",
)
async def providers_in_publicity(
    parties: Parties, now: NowDep, page: PageDep
) -> Page[ProviderNotice]:
    offset = start_of(page)
    found = await parties.in_publicity(now, offset=offset, limit=page.limit + 1)
    return Page(
        items=[ProviderNotice.model_validate(p, from_attributes=True) for p in found[: page.limit]],
        next_cursor=next_cursor(offset, page.limit, len(found)),
    )


@router.get("/voucher-providers", response_model=Page[ProviderRead])
async def list_providers(
    parties: Parties, caller: VoucherReader, now: NowDep, page: PageDep
) -> Page[ProviderRead]:
    offset = start_of(page)
    found = await parties.providers(caller, offset=offset, limit=page.limit + 1)
    return Page(
        items=[provider_read(p, now) for p in found[: page.limit]],
        next_cursor=next_cursor(offset, page.limit, len(found)),
    )


@router.get("/voucher-providers/{provider_id}", response_model=ProviderRead)
async def get_provider(
    provider_id: UUID, parties: Parties, caller: VoucherReader, now: NowDep
) -> ProviderRead:
    return provider_read(await parties.provider(provider_id, caller), now)


@router.post(
    "/voucher-providers/{provider_id}/approve",
    response_model=ProviderRead,
    summary="Approve: the 7-day publicity starts now",
)
async def approve_provider(
    provider_id: UUID,
    parties: Parties,
    reviewer: ProviderReviewer,
    now: NowDep,
    decision: ProviderDecision | None = None,
) -> ProviderRead:
    reason = decision.reason if decision else None
    provider = await parties.approve(provider_id, principal=reviewer, reason=reason, now=now)
    return provider_read(provider, now)


@router.post("/voucher-providers/{provider_id}/reject", response_model=ProviderRead)
async def reject_provider(
    provider_id: UUID,
    rejection: ProviderRejection,
    parties: Parties,
    reviewer: ProviderReviewer,
    now: NowDep,
) -> ProviderRead:
    provider = await parties.reject(
        provider_id, principal=reviewer, reason=rejection.reason, now=now
    )
    return provider_read(provider, now)


@router.post("/voucher-providers/{provider_id}/suspend", response_model=ProviderRead)
async def suspend_provider(
    provider_id: UUID,
    rejection: ProviderRejection,
    parties: Parties,
    reviewer: ProviderReviewer,
    now: NowDep,
) -> ProviderRead:
    provider = await parties.suspend(
        provider_id, principal=reviewer, reason=rejection.reason, now=now
    )
    return provider_read(provider, now)


@router.post("/voucher-providers/{provider_id}/reinstate", response_model=ProviderRead)
async def reinstate_provider(
    provider_id: UUID,
    rejection: ProviderRejection,
    parties: Parties,
    reviewer: ProviderReviewer,
    now: NowDep,
) -> ProviderRead:
    provider = await parties.reinstate(
        provider_id, principal=reviewer, reason=rejection.reason, now=now
    )
    return provider_read(provider, now)


# --- enterprises -----------------------------------------------------------------------------


@router.post(
    "/voucher-enterprises",
    response_model=EnterpriseRead,
    status_code=status.HTTP_201_CREATED,
    summary="Register the caller's organization as an enterprise that may hold vouchers",
)
async def register_enterprise(
    data: EnterpriseCreate,
    parties: Parties,
    caller: EnterpriseUser,
    now: NowDep,
    response: Response,
) -> EnterpriseRead:
    enterprise, created = await parties.register_enterprise(data, principal=caller, now=now)
    _created(response, created)
    return EnterpriseRead.model_validate(enterprise)


@router.get("/voucher-enterprises/{enterprise_id}", response_model=EnterpriseRead)
async def get_enterprise(
    enterprise_id: UUID, parties: Parties, caller: VoucherReader
) -> EnterpriseRead:
    return EnterpriseRead.model_validate(await parties.enterprise(enterprise_id, caller))


# --- vouchers --------------------------------------------------------------------------------


@router.post(
    "/voucher-programs/{program_id}/vouchers",
    response_model=VoucherRead,
    status_code=status.HTTP_201_CREATED,
    summary="Issue a voucher to the caller's enterprise (credit-eligible, within the cap)",
)
async def issue_voucher(
    program_id: UUID,
    data: VoucherIssue,
    vouchers: Vouchers,
    caller: EnterpriseUser,
    credit: CreditDep,
    now: NowDep,
    response: Response,
    sessions: SessionmakerDep,
) -> VoucherRead:
    voucher, created = await vouchers.issue(
        program_id, data, principal=caller, credit=credit, now=now, sessions=sessions
    )
    _created(response, created)
    return await vouchers.read(voucher)


@router.get("/vouchers", response_model=Page[VoucherRead])
async def list_vouchers(
    vouchers: Vouchers, caller: VoucherReader, page: PageDep
) -> Page[VoucherRead]:
    offset = start_of(page)
    found = await vouchers.search(caller, offset=offset, limit=page.limit + 1)
    return Page(
        items=[await vouchers.read(v) for v in found[: page.limit]],
        next_cursor=next_cursor(offset, page.limit, len(found)),
    )


@router.get("/vouchers/{voucher_id}", response_model=VoucherRead)
async def get_voucher(voucher_id: UUID, vouchers: Vouchers, caller: VoucherReader) -> VoucherRead:
    return await vouchers.read(await vouchers.get(voucher_id, caller))


# --- orders ----------------------------------------------------------------------------------


@router.post(
    "/voucher-orders",
    response_model=OrderRead,
    status_code=status.HTTP_201_CREATED,
    summary="Order a service: the voucher part is held on the voucher",
)
async def place_order(
    data: OrderCreate, orders: Orders, caller: EnterpriseUser, now: NowDep, response: Response
) -> OrderRead:
    order, created = await orders.place(data, principal=caller, now=now)
    _created(response, created)
    return OrderRead.model_validate(order)


@router.get("/voucher-orders", response_model=Page[OrderRead])
async def list_orders(orders: Orders, caller: VoucherReader, page: PageDep) -> Page[OrderRead]:
    offset = start_of(page)
    found = await orders.search(caller, offset=offset, limit=page.limit + 1)
    return page_of(found, offset, page.limit, OrderRead.model_validate)


@router.get("/voucher-orders/{order_id}", response_model=OrderRead)
async def get_order(order_id: UUID, orders: Orders, caller: VoucherReader) -> OrderRead:
    return OrderRead.model_validate(await orders.get(order_id, caller))


@router.get("/voucher-orders/{order_id}/history", response_model=Page[HistoryEntry])
async def order_history(
    order_id: UUID, orders: Orders, caller: VoucherReader, page: PageDep
) -> Page[HistoryEntry]:
    offset = start_of(page)
    found = await orders.history(order_id, caller, offset=offset, limit=page.limit + 1)
    return page_of(found, offset, page.limit, HistoryEntry.model_validate)


@router.post("/voucher-orders/{order_id}/deliver", response_model=OrderRead)
async def deliver_order(
    order_id: UUID, orders: Orders, caller: ProviderUser, now: NowDep
) -> OrderRead:
    return OrderRead.model_validate(await orders.deliver(order_id, principal=caller, now=now))


@router.post("/voucher-orders/{order_id}/confirm", response_model=OrderRead)
async def confirm_order(
    order_id: UUID, orders: Orders, caller: EnterpriseUser, now: NowDep
) -> OrderRead:
    return OrderRead.model_validate(await orders.confirm(order_id, principal=caller, now=now))


@router.post("/voucher-orders/{order_id}/cancel", response_model=OrderRead)
async def cancel_order(
    order_id: UUID,
    orders: Orders,
    caller: EnterpriseUser,
    now: NowDep,
    decision: OrderDecision | None = None,
) -> OrderRead:
    reason = decision.reason if decision else None
    order = await orders.cancel(order_id, principal=caller, reason=reason, now=now)
    return OrderRead.model_validate(order)


@router.post(
    "/voucher-orders/{order_id}/redemption",
    response_model=OrderRead,
    status_code=status.HTTP_201_CREATED,
    summary="File the redemption: invoice (unique number), contract, self-payment, delivery",
)
async def file_redemption(
    order_id: UUID,
    data: Redemption,
    redemptions: Redemptions,
    caller: ProviderUser,
    now: NowDep,
    response: Response,
) -> OrderRead:
    order, created = await redemptions.file_redemption(order_id, data, principal=caller, now=now)
    _created(response, created)
    return OrderRead.model_validate(order)


@router.post(
    "/voucher-orders/{order_id}/redemption/approve",
    response_model=OrderRead,
    summary="Approve the redemption: the held voucher part is paid to the provider",
)
async def approve_redemption(
    order_id: UUID,
    redemptions: Redemptions,
    officer: VoucherFinance,
    now: NowDep,
    decision: OrderDecision | None = None,
) -> OrderRead:
    reason = decision.reason if decision else None
    order = await redemptions.approve_redemption(
        order_id, principal=officer, reason=reason, now=now
    )
    return OrderRead.model_validate(order)


@router.post("/voucher-orders/{order_id}/redemption/reject", response_model=OrderRead)
async def reject_redemption(
    order_id: UUID,
    rejection: OrderRejection,
    redemptions: Redemptions,
    officer: VoucherFinance,
    now: NowDep,
) -> OrderRead:
    order = await redemptions.reject_redemption(
        order_id, principal=officer, reason=rejection.reason, now=now
    )
    return OrderRead.model_validate(order)


@router.post(
    "/voucher-orders/{order_id}/fraud",
    response_model=OrderRead,
    summary="Confirm fraud: order and voucher cancelled, money back, provider suspended",
)
async def confirm_fraud(
    order_id: UUID, report: FraudReport, frauds: Frauds, officer: VoucherFinance, now: NowDep
) -> OrderRead:
    order = await frauds.confirm_fraud(order_id, principal=officer, facts=report.facts, now=now)
    return OrderRead.model_validate(order)
