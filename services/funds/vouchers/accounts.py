"""The ledger side of vouchers: deterministic account and transfer ids, and opening accounts.

Every id is a uuid5 of the business object it belongs to, so a retry, a replay or a second
approver makes the same account or transfer, never a second one.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.accounts.schemas import AccountCreate, OwnerKind
from services.funds.accounts.service import AccountService
from services.funds.models import Account
from services.funds.models.vouchers import VoucherProgram

_NAMESPACE = uuid.UUID("2b9f5d1e-8c47-4f0a-b6d3-9e1a7c5f0b42")
PROVINCE = "province"


def ledger_of(year: int, code: str) -> str:
    return f"CQ-{year}-{code}"


def derived_id(kind: str, *keys: object) -> UUID:
    return uuid.uuid5(_NAMESPACE, ":".join([kind, *(str(k) for k in keys)]))


def treasury_id(ledger: str) -> UUID:
    return derived_id("treasury", ledger)


def pool_id(program_id: UUID) -> UUID:
    return derived_id("voucher-pool", program_id)


def voucher_account_id(voucher_id: UUID) -> UUID:
    return derived_id("voucher-account", voucher_id)


def payable_id(program_id: UUID, provider_id: UUID) -> UUID:
    return derived_id("provider-payable", program_id, provider_id)


async def open_account(
    session: AsyncSession,
    *,
    account_id: UUID,
    program: VoucherProgram | None,
    ledger: str,
    year: int,
    code: str,
    name: str,
    owner_kind: OwnerKind,
    owner_id: str,
    limited: bool,
    actor: str,
    now: datetime,
) -> Account:
    account, _ = await AccountService(session).open(
        AccountCreate(
            id=account_id,
            ledger=ledger,
            code=code,
            name=name[:200],
            owner_kind=owner_kind,
            owner_id=owner_id,
            program=program.code if program else None,
            fiscal_year=year,
            debits_must_not_exceed_credits=limited,
        ),
        actor=actor,
        now=now,
    )
    return account


def available(account: Account) -> int:
    """What may still leave an account that must not go below zero, holds deducted."""
    return account.credits_posted - account.debits_posted - account.debits_pending
