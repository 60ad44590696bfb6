"""A voucher is usable, and a provider in publicity or accepting vouchers, by one rule each:
the Python check an order meets and the SQL the sweeps and lists filter by agree, also at the
exact instant a voucher expires or a publicity ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import product
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.models.vouchers import ProviderReview, Voucher, VoucherProvider, VoucherStatus
from services.funds.vouchers.parties import provider_status
from tests.rules import in_sql

INSTANT = datetime(2026, 6, 30, 16, 0, tzinfo=UTC)  # midnight in Shanghai
TICK = timedelta(microseconds=1)
MOMENTS = [INSTANT - TICK, INSTANT, INSTANT + TICK]


@pytest.mark.parametrize("status", list(VoucherStatus))
async def test_a_voucher_is_usable_alike_in_python_and_sql(
    session: AsyncSession, status: VoucherStatus
) -> None:
    values: dict[str, Any] = {"status": status, "expires_at": INSTANT}
    voucher = Voucher(**values)
    for now, rule in product(MOMENTS, ["is_usable", "is_due_to_expire"]):
        expression = getattr(Voucher, rule)(now)
        assert getattr(voucher, rule)(now) == await in_sql(session, Voucher, expression, values)


def test_a_voucher_expires_at_the_instant_it_says() -> None:
    voucher = Voucher(status=VoucherStatus.active, expires_at=INSTANT)
    assert [voucher.is_usable(now) for now in MOMENTS] == [True, False, False]
    assert [voucher.is_due_to_expire(now) for now in MOMENTS] == [False, True, True]


@pytest.mark.parametrize(
    ("review", "suspended"),
    [
        (ProviderReview.pending, False),
        (ProviderReview.rejected, False),
        (ProviderReview.approved, False),
        (ProviderReview.approved, True),
    ],
)
async def test_a_provider_accepts_vouchers_alike_in_python_and_sql(
    session: AsyncSession, review: ProviderReview, suspended: bool
) -> None:
    ends = INSTANT if review == ProviderReview.approved else None
    values: dict[str, Any] = {
        "review_state": review,
        "suspended": suspended,
        "publicity_ends_at": ends,
    }
    provider = VoucherProvider(**values)
    for now, rule in product(MOMENTS, ["in_publicity", "accepts_vouchers"]):
        expression = getattr(VoucherProvider, rule)(now)
        python = getattr(provider, rule)(now)
        assert python == bool(await in_sql(session, VoucherProvider, expression, values))
    approved = review == ProviderReview.approved and not suspended
    expected = ["in_publicity", "active", "active"] if approved else None
    if expected:
        assert [provider_status(provider, now) for now in MOMENTS] == expected
