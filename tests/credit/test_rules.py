"""A record stands (confirmed, not withdrawn) and is unrepaired by the same rule in the rating
(Python) and in the public disclosure list (SQL), also at the exact instant of a confirmation,
withdrawal or repair."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import product
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from services.credit.models import CreditRecord
from services.credit.rating.model import RecordFacts, stands_in_sql, unrepaired_in_sql
from shared.ids import uuid7
from tests.rules import in_sql

INSTANT = datetime(2026, 5, 6, 2, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)
MOMENTS = [INSTANT - TICK, INSTANT, INSTANT + TICK]
WHEN = [None, INSTANT]  # never, or at the instant


def _facts(**times: datetime | None) -> RecordFacts:
    return RecordFacts(
        id=uuid7(),
        rule_code="R",
        tier="serious",
        score_effect=-10,
        restrictions=[],
        effective_from=date(2026, 1, 1),
        valid_until=date(2029, 1, 1),
        restriction_until=None,
        restriction_permanent=False,
        **times,
    )


@pytest.mark.parametrize(("confirmed", "withdrawn", "repaired"), list(product(WHEN, WHEN, WHEN)))
async def test_a_record_stands_alike_in_python_and_sql(
    session: AsyncSession,
    confirmed: datetime | None,
    withdrawn: datetime | None,
    repaired: datetime | None,
) -> None:
    times: dict[str, Any] = {
        "confirmed_at": confirmed,
        "withdrawn_at": withdrawn,
        "repaired_at": repaired,
    }
    facts = _facts(**times)
    for now in MOMENTS:
        stands = await in_sql(session, CreditRecord, stands_in_sql(now), times)
        unrepaired = await in_sql(session, CreditRecord, unrepaired_in_sql(now), times)
        assert facts.stands_at(now) is bool(stands), f"stands {times} at {now}"
        assert facts.unrepaired_at(now) is unrepaired, f"unrepaired {times} at {now}"


def test_a_record_counts_from_its_confirmation_until_its_withdrawal() -> None:
    facts = _facts(confirmed_at=INSTANT, withdrawn_at=None, repaired_at=None)
    assert [facts.stands_at(now) for now in MOMENTS] == [False, True, True]
    withdrawn = _facts(confirmed_at=INSTANT - 2 * TICK, withdrawn_at=INSTANT, repaired_at=None)
    assert [withdrawn.stands_at(now) for now in MOMENTS] == [True, False, False]
