"""The events that tell an enterprise and a provider what became of their vouchers and orders
(their contracts: `shared/contracts/funds.py`), published with the change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.models import events
from services.funds.models.vouchers import (
    Voucher,
    VoucherEnterprise,
    VoucherOrder,
    VoucherProgram,
    VoucherProvider,
)
from services.funds.vouchers.repository import VoucherRepository
from shared.contracts.funds import (
    VoucherIssuedV1,
    VoucherOrderPlacedV1,
    VoucherRedemptionApprovedV1,
)
from shared.contracts.projects import CreditOrganization
from shared.events.outbox import publish


def party(found: VoucherEnterprise | VoucherProvider) -> CreditOrganization:
    return CreditOrganization(
        name=found.name, gateway_org_id=found.org_id, credit_code=found.credit_code
    )


async def voucher_issued(
    session: AsyncSession, voucher: Voucher, program: VoucherProgram, enterprise: VoucherEnterprise
) -> None:
    await publish(
        session,
        events,
        VoucherIssuedV1(
            voucher_id=voucher.id,
            voucher_number=voucher.number,
            program_id=program.id,
            program_code=program.code,
            program_name=program.name,
            enterprise=party(enterprise),
            amount_fen=voucher.amount_fen,
            valid_until=voucher.valid_until,
            expires_at=voucher.expires_at,
            issued_at=voucher.issued_at,
        ),
    )


async def order_placed(
    session: AsyncSession,
    order: VoucherOrder,
    voucher: Voucher,
    program: VoucherProgram,
    provider: VoucherProvider,
    enterprise: VoucherEnterprise,
) -> None:
    about = _order(order, voucher, program, provider, enterprise)
    await publish(session, events, VoucherOrderPlacedV1(**about, ordered_at=order.created_at))


async def redemption_approved(
    session: AsyncSession, order: VoucherOrder, program: VoucherProgram, now: datetime
) -> None:
    repo = VoucherRepository(session)
    voucher = await repo.voucher(order.voucher_id)
    provider = await repo.provider(order.provider_id)
    enterprise = await repo.enterprise(order.enterprise_id)
    assert voucher is not None  # foreign keys
    assert provider is not None
    assert enterprise is not None
    about = _order(order, voucher, program, provider, enterprise)
    await publish(
        session,
        events,
        VoucherRedemptionApprovedV1(**about, invoice_number=order.invoice_number, approved_at=now),
    )


def _order(
    order: VoucherOrder,
    voucher: Voucher,
    program: VoucherProgram,
    provider: VoucherProvider,
    enterprise: VoucherEnterprise,
) -> dict[str, Any]:
    return {
        "order_id": order.id,
        "voucher_number": voucher.number,
        "program_code": program.code,
        "enterprise": party(enterprise),
        "provider": party(provider),
        "service_name": order.service_name,
        "contract_amount_fen": order.contract_amount_fen,
        "voucher_amount_fen": order.voucher_amount_fen,
    }
