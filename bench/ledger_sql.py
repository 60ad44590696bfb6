"""PostgreSQL's own CPU for one ledger call of a single transfer, next to a bare INSERT.

    .venv/bin/python -m bench.ledger_sql [--calls 3000] [--rounds 10]

Starts a PostgreSQL (embedded under .sciplan/bench-pg unless SCIPLAN_DATABASE_URL names a
server), a fresh database migrated as `make run` does, opens three accounts with SQL, and from
one asyncpg connection sends `funds.create_transfers` with a batch of one plain transfer
(debiting an account that may not go below zero, as the transfers bench's hot account): alone
(autocommit: how the API sends it) and between BEGIN and COMMIT (how a session sends it); then
`apply_transfers` itself, the version the database runs and the first version (loaded as a
temporary function), so the two are compared in the same run, on the hot account and between
two of 1,000 analyzed accounts at random; and a bare single-row INSERT into an ordinary table
as the baseline. The CPU is the server process's own (/proc/<pid>/stat
of the connection's backend), so the client's cost is left out. The scenarios take turns, a
tenth of the calls at a time, as the account rows and the tables grow under all of them alike.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable

import asyncpg
import orjson

from bench.gateway_overhead import postgres_server
from sciplan.stack import Stack
from services.funds.ledger.sql import function_sql, versions
from shared.db import async_url, asyncpg_dsn
from shared.devdb import create_database, drop_database

DATABASE = "sciplan_ledger_sql_bench"
SPREAD = 1000  # accounts of the spread scenarios: a transfer between two of them at random
CALL = "SELECT funds.create_transfers($1::text::jsonb, 'bench', now(), false)"
APPLY = "SELECT {function}($1::text::jsonb, 'bench', now(), false)"
OPEN = (
    "INSERT INTO funds.accounts (id, ledger, code, name, owner_kind, owner_id,"
    " debits_must_not_exceed_credits, credits_must_not_exceed_debits, requires_approval,"
    " user_data, created_at, created_by)"
    " VALUES ($1, 'BENCH', 'bench', $2, 'external', $2, $3, false, false, '{}', now(), 'bench')"
)


def backend_cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_transfer(debit: uuid.UUID, credit: uuid.UUID, amount: int) -> str:
    transfer = {
        "id": str(uuid.uuid4()),
        "debit_account_id": str(debit),
        "credit_account_id": str(credit),
        "amount": amount,
        "ledger": "BENCH",
        "code": "bench",
        "pending_id": None,
        "pending": False,
        "post_pending": False,
        "void_pending": False,
        "linked": False,
        "timeout": None,
        "user_data": {},
    }
    return orjson.dumps([transfer]).decode()


async def cpu_seconds(
    connection: asyncpg.Connection, pid: int, calls: int, step: Callable[[], Awaitable[object]]
) -> float:
    """Seconds of the backend's CPU for `calls` runs of `step`."""
    before = backend_cpu_seconds(pid)
    for _ in range(calls):
        await step()
    return backend_cpu_seconds(pid) - before


async def interleaved(
    connection: asyncpg.Connection,
    pid: int,
    calls: int,
    rounds: int,
    steps: dict[str, Callable[[], Awaitable[object]]],
) -> dict[str, float]:
    """Milliseconds of the backend's CPU per call of each step, the steps taking turns in
    `rounds` rounds (every step meets the same, growing, tables), after a warm-up of each."""
    for step in steps.values():
        await cpu_seconds(connection, pid, max(1, calls // 10), step)
    spent = dict.fromkeys(steps, 0.0)
    per_round = max(1, calls // rounds)
    for _ in range(rounds):
        for label, step in steps.items():
            spent[label] += await cpu_seconds(connection, pid, per_round, step)
    return {label: 1000 * seconds / (per_round * rounds) for label, seconds in spent.items()}


async def measure(server_url: str, calls: int, rounds: int) -> dict[str, float]:
    url = await create_database(server_url, DATABASE, drop_first=True)
    try:
        stack = Stack(database_url=url, ports={}, host="127.0.0.1", environment="development")
        await asyncio.to_thread(stack.prepare, secrets.token_urlsafe(12))
        connection = await asyncpg.connect(asyncpg_dsn(async_url(url)))
        try:
            return await _scenarios(connection, calls, rounds)
        finally:
            await connection.close()
    finally:
        await drop_database(server_url, DATABASE)


async def _scenarios(connection: asyncpg.Connection, calls: int, rounds: int) -> dict[str, float]:
    pid: int = await connection.fetchval("SELECT pg_backend_pid()")
    treasury, hot, payee = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for account, name, limited in ((treasury, "treasury", False), (hot, "hot", True)):
        await connection.execute(OPEN, account, name, limited)
    await connection.execute(OPEN, payee, "payee", False)
    await connection.fetchval(CALL, one_transfer(treasury, hot, 10**15))
    # Many accounts, as a ledger has them, with the statistics ANALYZE gives: what the planner
    # sees there differs from three fresh rows (see the v3 notes in the SQL file).
    many = [uuid.uuid4() for _ in range(SPREAD)]
    for n, account in enumerate(many):
        await connection.execute(OPEN, account, f"spread-{n}", True)
    await connection.executemany(CALL, [(one_transfer(treasury, a, 10**12),) for a in many])
    await connection.execute("ANALYZE")
    pick = random.Random(7)
    await connection.execute(
        "CREATE TABLE bench_bare (id uuid PRIMARY KEY, debit uuid, credit uuid,"
        " amount bigint, at timestamptz)"
    )
    first = function_sql("apply_transfers", 1).replace(
        "FUNCTION funds.apply_transfers(", "FUNCTION pg_temp.apply_transfers_v1(", 1
    )
    await connection.execute(first)
    latest = versions()["apply_transfers"][-1]

    def apply(function: str, spread: bool = False) -> Callable[[], Awaitable[object]]:
        sql = APPLY.format(function=function)

        async def step() -> object:
            debit, credit = pick.sample(many, 2) if spread else (hot, payee)
            return await connection.fetchval(sql, one_transfer(debit, credit, 1))

        return step

    async def alone() -> object:
        return await connection.fetchval(CALL, one_transfer(hot, payee, 1))

    async def in_transaction() -> object:
        async with connection.transaction():
            return await connection.fetchval(CALL, one_transfer(hot, payee, 1))

    async def bare() -> object:
        return await connection.execute(
            "INSERT INTO bench_bare VALUES ($1, $2, $3, 1, now())", uuid.uuid4(), hot, payee
        )

    steps = {
        "bare INSERT (baseline)": bare,
        "ledger call, alone (autocommit)": alone,
        "ledger call, BEGIN ... COMMIT": in_transaction,
        "apply_transfers v1, alone": apply("pg_temp.apply_transfers_v1"),
        f"apply_transfers v{latest}, alone": apply("funds.apply_transfers"),
        f"v1, {SPREAD} accounts": apply("pg_temp.apply_transfers_v1", spread=True),
        f"v{latest}, {SPREAD} accounts": apply("funds.apply_transfers", spread=True),
    }
    return await interleaved(connection, pid, calls, rounds, steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=3000, help="calls per scenario (3000)")
    parser.add_argument("--rounds", type=int, default=10, help="turns the scenarios take (10)")
    args = parser.parse_args()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load = os.getloadavg()
    with postgres_server() as (server_url, _):
        figures = asyncio.run(measure(server_url, args.calls, args.rounds))
    print(f"\nSciPlan ledger SQL  {started}  load average {load[0]:.2f}; {args.calls} calls each")
    baseline = figures["bare INSERT (baseline)"]
    print(f"{'statement':<36}{'PG CPU ms':>10}{'vs bare':>9}")
    for label, cpu in figures.items():
        print(f"{label:<36}{cpu:>10.3f}{cpu / baseline:>9.2f}")


if __name__ == "__main__":
    main()
