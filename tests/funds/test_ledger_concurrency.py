"""Races on real connections: each request commits on its own, as in production. What these
tests write stays (transfers are append-only), each test in a ledger of its own."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest
import sqlalchemy as sa

from services.funds.exceptions import LedgerBusy
from services.funds.ledger.repository import create_transfers_alone
from services.funds.ledger.schemas import TransferIn
from services.funds.ledger.service import LedgerService
from services.funds.models import Transfer
from shared.db import async_url, asyncpg_dsn, driver_connection
from tests.conftest import wait_until
from tests.funds.conftest import START, Funds, fresh_ledger, outcomes, post, transfer


async def _fund(funds: Funds, ledger: str, amount: int) -> tuple[dict[str, Any], dict[str, Any]]:
    treasury = await funds.account(ledger, code="treasury")
    fund = await funds.account(ledger, code="program_fund", debits_must_not_exceed_credits=True)
    body = await funds.transfers(transfer(treasury, fund, amount, ledger=ledger))
    assert outcomes(body) == ["created"]
    return fund, await funds.account(ledger)


async def test_a_hundred_payments_race_for_the_money_of_ten(committed_funds: Funds) -> None:
    funds, ledger = committed_funds, fresh_ledger()
    fund, project = await _fund(funds, ledger, 1000)

    async def pay() -> str:
        body = await funds.transfers(transfer(fund, project, 100, ledger=ledger))
        return outcomes(body)[0]

    results = await asyncio.gather(*(pay() for _ in range(100)))

    assert results.count("created") == 10
    assert results.count("transfer.exceeds_credits") == 90
    after = await funds.balances(fund["id"])
    assert (after["debits_posted"], after["available"]) == (1000, 0)
    assert (await funds.balances(project["id"]))["credits_posted"] == 1000


async def test_batches_crossing_the_same_accounts_never_deadlock(committed_funds: Funds) -> None:
    funds, ledger = committed_funds, fresh_ledger()
    accounts = [await funds.account(ledger) for _ in range(6)]
    rng = random.Random(6)

    def batch() -> list[dict[str, Any]]:
        pairs = [rng.sample(accounts, 2) for _ in range(20)]
        return [transfer(a, b, 1 + rng.randrange(100), ledger=ledger) for a, b in pairs]

    batches = [batch() for _ in range(30)]
    answers = await asyncio.gather(*(funds.transfers(*b) for b in batches))

    assert all(answer["created"] == 20 for answer in answers)
    moved = sum(t["amount"] for b in batches for t in b)
    totals = [await funds.balances(a["id"]) for a in accounts]
    assert sum(t["debits_posted"] for t in totals) == moved
    assert sum(t["credits_posted"] for t in totals) == moved


async def test_the_same_new_id_sent_at_once_takes_effect_once(committed_funds: Funds) -> None:
    funds, ledger = committed_funds, fresh_ledger()
    fund, project = await _fund(funds, ledger, 1000)
    others = [await funds.account(ledger) for _ in range(4)]
    payment = transfer(fund, project, 100, ledger=ledger)
    # The same id with other accounts: those batches lock other rows and meet on the id.
    variants = [{**payment, "credit_account_id": other["id"]} for other in others]

    answers = await asyncio.gather(
        *(funds.transfers(payment) for _ in range(10)), *(funds.transfers(v) for v in variants)
    )

    results = [outcomes(answer)[0] for answer in answers]
    if results.count("created") == 1 and results[:10].count("created") == 1:
        assert results[:10].count("exists") == 9
        assert results[10:] == ["transfer.exists_different"] * 4
    else:  # one of the variants got there first
        assert results.count("created") == 1
        assert results[:10] == ["transfer.exists_different"] * 10
    assert (await funds.balances(fund["id"]))["debits_posted"] == 100


async def test_a_post_racing_the_expiry_of_its_hold_one_wins(committed_funds: Funds) -> None:
    funds, ledger = committed_funds, fresh_ledger()
    fund, project = await _fund(funds, ledger, 1000)
    sessionmaker = funds.app.state.db.sessionmaker
    just_before, just_after = START + timedelta(seconds=59), START + timedelta(seconds=61)

    async def post_it(hold: dict[str, Any], linger: float) -> str:
        async with sessionmaker() as session, session.begin():
            (result,) = await LedgerService(session).create_transfers(
                [TransferIn.model_validate(post(hold, ledger=ledger))],
                actor="race",
                now=just_before,
            )
            await asyncio.sleep(linger)  # keep the locks while the other one tries
            return result.code or result.result

    async def expire_it(linger: float) -> None:
        async with sessionmaker() as session, session.begin():
            await LedgerService(session).expire_due(just_after)
            await asyncio.sleep(linger)

    for round_no in range(6):
        hold = transfer(fund, project, 10, ledger=ledger, pending=True, timeout=60)
        assert outcomes(await funds.transfers(hold)) == ["created"]
        post_first = round_no % 2 == 0
        first = post_it(hold, 0.2) if post_first else expire_it(0.2)
        second = expire_it(0) if post_first else post_it(hold, 0)
        first_task = asyncio.create_task(first)
        await asyncio.sleep(0.05)
        answers = await asyncio.gather(first_task, second)
        posted = answers[0] if post_first else answers[1]

        async with sessionmaker() as session:
            kinds = (
                await session.scalars(
                    sa.select(Transfer.kind).where(Transfer.pending_id == hold["id"])
                )
            ).all()
        assert kinds == (["post"] if post_first else ["expire"])
        assert posted == ("created" if post_first else "transfer.pending_transfer_expired")

    after = await funds.balances(fund["id"])
    assert (after["debits_pending"], after["debits_posted"]) == (0, 30)


async def test_two_approvers_of_one_payment_order_pay_once(committed_funds: Funds) -> None:
    funds, ledger = committed_funds, fresh_ledger()
    treasury = await funds.account(ledger, code="treasury")
    fund = await funds.account(
        ledger, code="program_fund", debits_must_not_exceed_credits=True, requires_approval=True
    )
    project = await funds.account(ledger)
    await funds.transfers(transfer(treasury, fund, 1000, ledger=ledger))

    for _ in range(3):
        order = {
            **transfer(fund, project, 300, ledger=ledger),
            "code": "disbursement",
            "purpose": "第一笔拨款",
        }
        made = await funds.call("POST", "/v1/payment-orders", "finance", json=order)
        assert made.status_code == 201, made.text

        answers = await asyncio.gather(
            funds.call("POST", f"/v1/payment-orders/{order['id']}/approve", "finance2"),
            funds.call("POST", f"/v1/payment-orders/{order['id']}/approve", "admin"),
        )

        assert sorted(a.status_code for a in answers) == [200, 409]
        refused = next(a for a in answers if a.status_code == 409).json()
        assert (refused["code"], refused["state"]) == (
            "payment_order.invalid_transition",
            "approved",
        )

    after = await funds.balances(fund["id"])
    assert (after["debits_posted"], after["debits_pending"], after["available"]) == (900, 0, 100)


async def test_a_batch_that_waits_too_long_for_a_locked_account_is_told_to_retry(
    committed_funds: Funds,
) -> None:
    funds, ledger = committed_funds, fresh_ledger()
    fund, project = await _fund(funds, ledger, 1000)
    sessionmaker = funds.app.state.db.sessionmaker
    payment = TransferIn.model_validate(transfer(fund, project, 100, ledger=ledger))

    async with sessionmaker() as holder, holder.begin():
        await holder.execute(
            sa.text("SELECT 1 FROM funds.accounts WHERE id = :id FOR UPDATE"), {"id": fund["id"]}
        )
        async with sessionmaker() as waiter, waiter.begin():
            await waiter.execute(sa.text("SET LOCAL lock_timeout = '100ms'"))
            with pytest.raises(LedgerBusy) as busy:
                await LedgerService(waiter).create_transfers([payment], actor="race", now=START)
    assert busy.value.status == 503
    assert busy.value.headers == {"Retry-After": "1"}
    # Nothing was written: the same transfer goes through once the account is free.
    again = await funds.transfers(payment.model_dump(mode="json"))
    assert outcomes(again) == ["created"]


async def test_a_batch_sent_alone_that_waits_too_long_is_told_to_retry_and_writes_nothing(
    committed_funds: Funds,
) -> None:
    """The API's path: the batch is one statement on an autocommit connection, no session."""
    funds, ledger = committed_funds, fresh_ledger()
    fund, project = await _fund(funds, ledger, 1000)
    database = funds.app.state.db
    payment = TransferIn.model_validate(transfer(fund, project, 100, ledger=ledger))
    batch = f"[{payment.model_dump_json()}]"

    async with database.sessionmaker() as holder, holder.begin():
        await holder.execute(
            sa.text("SELECT 1 FROM funds.accounts WHERE id = :id FOR UPDATE"), {"id": fund["id"]}
        )
        async with database.reading() as alone:
            await alone.exec_driver_sql("SET lock_timeout = '100ms'")
            try:
                with pytest.raises(LedgerBusy) as busy:
                    await create_transfers_alone(alone, batch, actor="race", now=START)
                # Nothing is left open on the connection it goes back to the pool with.
                assert not (await driver_connection(alone)).is_in_transaction()
                assert (
                    await alone.scalar(
                        sa.text("SELECT count(*) FROM funds.transfers WHERE id = :id"),
                        {"id": payment.id},
                    )
                    == 0
                )
            finally:
                await alone.exec_driver_sql("RESET lock_timeout")
    assert busy.value.status == 503
    assert busy.value.headers == {"Retry-After": "1"}
    again = await funds.transfers(payment.model_dump(mode="json"))
    assert outcomes(again) == ["created"]


async def _payment_waits(database_url: str) -> bool:
    connection = await asyncpg.connect(asyncpg_dsn(async_url(database_url)))
    try:
        waiting: int = await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE wait_event_type = 'Lock' AND query LIKE '%create_transfers%'"
        )
    finally:
        await connection.close()
    return waiting > 0


async def test_balances_follow_the_order_transfers_were_applied_in(
    committed_funds: Funds, database_url: str
) -> None:
    """A payment that starts first but waits for a lock is applied after a later top-up: the
    statement and every `as_of` must show the top-up first, never an overdrawn fund."""
    funds, ledger = committed_funds, fresh_ledger()
    treasury = await funds.account(ledger, code="treasury")
    fund = await funds.account(ledger, code="program_fund", debits_must_not_exceed_credits=True)
    # The lowest id of the three: the payment locks it first, and waits there with no lock
    # on the fund, which the top-up then takes freely.
    project = await funds.account(ledger, id=f"00000000-0000-4000-8000-{uuid4().hex[:12]}")
    assert project["id"] < fund["id"]

    blocker = await asyncpg.connect(asyncpg_dsn(async_url(database_url)))
    try:
        holding = blocker.transaction()
        await holding.start()
        await blocker.execute(
            "SELECT 1 FROM funds.accounts WHERE id = $1 FOR UPDATE", UUID(project["id"])
        )
        started_first = funds.clock.now
        payment = asyncio.create_task(funds.transfers(transfer(fund, project, 700, ledger=ledger)))
        await wait_until(lambda: _payment_waits(database_url), seconds=10)
        funds.clock.advance(seconds=1)
        top_up = await funds.transfers(transfer(treasury, fund, 1_000, ledger=ledger))
        assert outcomes(top_up) == ["created"]
        await holding.rollback()
        assert outcomes(await payment) == ["created"]
    finally:
        await blocker.close()

    statement = (await funds.call("GET", f"/v1/accounts/{fund['id']}/statement", "auditor")).json()
    assert [(i["side"], i["amount"], i["net_posted"]) for i in statement["items"]] == [
        ("credit", 1_000, 1_000),
        ("debit", 700, 300),
    ]
    moments = [started_first + timedelta(milliseconds=ms) for ms in (-1, 0, 1, 500, 1000, 1001)]
    for moment in moments:
        past = await funds.balances(fund["id"], as_of=moment.isoformat())
        assert past["net_posted"] >= 0, (moment, past)
        assert past["available"] >= 0, (moment, past)
    final = await funds.balances(fund["id"], as_of=moments[-1].isoformat())
    assert (final["credits_posted"], final["debits_posted"]) == (1_000, 700)
