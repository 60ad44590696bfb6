"""Group commit in the ledger (services/funds/ledger/coalescer.py), on the app's own connections.

Batches that wait for a running statement go together in the next one, and each is answered as
if it had gone alone. Each test holds a lock on an account, so the first statement waits for it
and the next batches queue behind it. The coalescer is set to one statement at a time and a long
stall, so they keep waiting until the test lets the lock go. The default stall, which lets
later batches past a blocked statement, is what
`test_ledger_concurrency.py::test_balances_follow_the_order_transfers_were_applied_in` relies on.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import asyncpg

from services.funds.ledger.coalescer import LedgerCoalescer
from shared.db import async_url, asyncpg_dsn
from tests.conftest import wait_until
from tests.funds.conftest import Funds, fresh_ledger, outcomes, transfer


def _one_at_a_time(funds: Funds) -> LedgerCoalescer:
    coalescer = LedgerCoalescer(funds.app.state.db, funds.clock, in_flight=1, stall_seconds=60)
    funds.app.state.ledger_coalescer = coalescer
    return coalescer


@contextlib.asynccontextmanager
async def _connection(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(asyncpg_dsn(async_url(database_url)))
    try:
        yield connection
    finally:
        await connection.close()


@contextlib.asynccontextmanager
async def _locked(database_url: str, account: dict[str, Any]) -> AsyncIterator[None]:
    """The account's row locked by another transaction until the block ends."""
    async with _connection(database_url) as connection, connection.transaction():
        await connection.execute(
            "SELECT 1 FROM funds.accounts WHERE id = $1 FOR UPDATE", UUID(account["id"])
        )
        yield


async def _statement_waits_for_a_lock(database_url: str) -> bool:
    async with _connection(database_url) as connection:
        waiting: int = await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE wait_event_type = 'Lock' AND query LIKE '%create_transfers%'"
        )
    return waiting == 1


async def _queue(
    funds: Funds, coalescer: LedgerCoalescer, *batches: list[dict[str, Any]]
) -> list[asyncio.Task[Any]]:
    """Sends the batches one after the other, each once the one before is waiting."""
    tasks = []
    for batch in batches:
        before = coalescer.waiting()
        tasks.append(
            asyncio.create_task(funds.call("POST", "/v1/transfers", "finance", json=batch))
        )

        async def queued(count: int = before + 1) -> bool:
            return coalescer.waiting() == count

        await wait_until(queued)
    return tasks


async def _blocked_first(
    funds: Funds, database_url: str, ledger: str, locked: dict[str, Any]
) -> asyncio.Task[dict[str, Any]]:
    source = await funds.account(ledger)
    first = asyncio.create_task(funds.transfers(transfer(source, locked, 5, ledger=ledger)))
    await wait_until(lambda: _statement_waits_for_a_lock(database_url))
    return first


async def _commits(database_url: str, ids: list[str]) -> set[str]:
    """The transactions that wrote these transfers (their rows' xmin)."""
    async with _connection(database_url) as connection:
        rows = await connection.fetch(
            "SELECT xmin::text AS xact FROM funds.transfers WHERE id = ANY($1::uuid[])", ids
        )
    assert len(rows) == len(ids)
    return {row["xact"] for row in rows}


async def test_batches_waiting_for_a_statement_go_together_each_with_its_own_answers(
    committed_funds: Funds, database_url: str
) -> None:
    funds, ledger = committed_funds, fresh_ledger()
    coalescer = _one_at_a_time(funds)
    treasury = await funds.account(ledger, code="treasury")
    fund = await funds.account(ledger, code="program_fund", debits_must_not_exceed_credits=True)
    assert outcomes(await funds.transfers(transfer(treasury, fund, 1_000, ledger=ledger))) == [
        "created"
    ]
    locked = await funds.account(ledger)
    projects = [await funds.account(ledger) for _ in range(3)]
    once = transfer(fund, projects[2], 100, ledger=ledger)
    batches = [
        [transfer(fund, projects[0], 600, ledger=ledger)],
        [transfer(fund, projects[1], 600, ledger=ledger)],  # only 400 left by then
        [transfer(fund, projects[2], 300, ledger=ledger), once],
        [{**once, "amount": 101}],  # the same id with another body
    ]

    async with _locked(database_url, locked):
        first = await _blocked_first(funds, database_url, ledger, locked)
        waiting = await _queue(funds, coalescer, *batches)
        assert not any(task.done() for task in [first, *waiting])
    answers = [(await task).json() for task in waiting]

    assert outcomes(await first) == ["created"]
    assert [outcomes(answer) for answer in answers] == [
        ["created"],
        ["transfer.exceeds_credits"],
        ["created", "created"],
        ["transfer.exists_different"],
    ]
    # Each answer is about its own batch: indexes count from 0 within it.
    assert [[r["index"] for r in answer["results"]] for answer in answers] == [
        [0],
        [0],
        [0, 1],
        [0],
    ]
    assert (await funds.balances(fund["id"]))["available"] == 0
    # The four waiting batches were one statement: one transaction wrote all they created.
    joined = await _commits(
        database_url, [batches[0][0]["id"], batches[2][0]["id"], batches[2][1]["id"]]
    )
    assert len(joined) == 1
    assert joined.isdisjoint(await _commits(database_url, [(await first)["results"][0]["id"]]))


async def test_a_batch_ending_inside_a_linked_chain_is_never_joined(
    committed_funds: Funds, database_url: str
) -> None:
    funds, ledger = committed_funds, fresh_ledger()
    coalescer = _one_at_a_time(funds)
    locked = await funds.account(ledger)
    a, b, c = [await funds.account(ledger) for _ in range(3)]
    complete = [transfer(a, b, 10, ledger=ledger)]
    open_chain = [transfer(b, c, 10, ledger=ledger, linked=True)]

    async with _locked(database_url, locked):
        first = await _blocked_first(funds, database_url, ledger, locked)
        (joinable,) = await _queue(funds, coalescer, complete)
        # Answered at once, as it would be alone, while the joinable batch still waits.
        alone = await funds.transfers(*open_chain)
        assert outcomes(alone) == ["transfer.linked_event_chain_open"]
        assert not joinable.done()
        assert coalescer.waiting() == 1

    assert outcomes(await first) == ["created"]
    assert outcomes((await joinable).json()) == ["created"]
    assert (await funds.balances(c["id"]))["credits_posted"] == 0


async def test_a_joined_statement_that_fails_is_sent_again_batch_by_batch(
    committed_funds: Funds, database_url: str
) -> None:
    """A fault of one batch (here a trigger raising on one amount) is its request's alone."""
    funds, ledger = committed_funds, fresh_ledger()
    coalescer = _one_at_a_time(funds)
    locked = await funds.account(ledger)
    a, b = await funds.account(ledger), await funds.account(ledger)
    fault = f"fault_{ledger.lower()}"
    async with _connection(database_url) as connection:
        await connection.execute(
            f"CREATE FUNCTION funds.{fault}() RETURNS trigger LANGUAGE plpgsql AS $$"
            " BEGIN RAISE EXCEPTION 'injected fault'; END $$;"
            f" CREATE TRIGGER {fault} BEFORE INSERT ON funds.transfers FOR EACH ROW"
            f" WHEN (NEW.amount = 4242 AND NEW.ledger = '{ledger}')"
            f" EXECUTE FUNCTION funds.{fault}()"
        )
    try:
        async with _locked(database_url, locked):
            first = await _blocked_first(funds, database_url, ledger, locked)
            good, poison, also_good = await _queue(
                funds,
                coalescer,
                [transfer(a, b, 7, ledger=ledger)],
                [transfer(a, b, 4242, ledger=ledger)],
                [transfer(b, a, 8, ledger=ledger)],
            )
        assert outcomes(await first) == ["created"]
        assert outcomes((await good).json()) == ["created"]
        assert outcomes((await also_good).json()) == ["created"]
        failed = await poison
        assert failed.status_code == 500
        assert failed.headers["content-type"] == "application/problem+json"
    finally:
        async with _connection(database_url) as connection:
            await connection.execute(
                f"DROP TRIGGER {fault} ON funds.transfers; DROP FUNCTION funds.{fault}()"
            )
    after = await funds.balances(a["id"])
    assert (after["debits_posted"], after["credits_posted"]) == (7, 8)
