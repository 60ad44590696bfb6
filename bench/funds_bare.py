"""The baseline for the ledger: a bare FastAPI endpoint that stores one transfer with a single
asyncpg INSERT (no authentication, no checks, no balances), served like `bench.hello`.

`python -m bench.funds_bare PORT DSN` creates the table `bench_bare.transfers` if missing and
serves `POST /transfers` on 127.0.0.1 (uvloop, httptools, no access log).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import asyncpg
import uvicorn
from fastapi import FastAPI, Request
from pydantic import BaseModel

SCHEMA = """
CREATE SCHEMA IF NOT EXISTS bench_bare;
CREATE TABLE IF NOT EXISTS bench_bare.transfers (
    id uuid PRIMARY KEY,
    debit_account_id uuid NOT NULL,
    credit_account_id uuid NOT NULL,
    amount bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
)
"""
INSERT = (
    "INSERT INTO bench_bare.transfers (id, debit_account_id, credit_account_id, amount)"
    " VALUES ($1, $2, $3, $4)"
)


class BareTransfer(BaseModel):
    id: UUID
    debit_account_id: UUID
    credit_account_id: UUID
    amount: int


def create_app(dsn: str) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool: Any = await asyncpg.create_pool(dsn, min_size=10, max_size=10)
        async with pool.acquire() as conn:
            await conn.execute(SCHEMA)
        app.state.pool = pool
        try:
            yield
        finally:
            await pool.close()

    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None, lifespan=lifespan)

    @app.post("/transfers")
    async def create_transfer(transfer: BareTransfer, request: Request) -> dict[str, str]:
        await request.app.state.pool.execute(
            INSERT,
            transfer.id,
            transfer.debit_account_id,
            transfer.credit_account_id,
            transfer.amount,
        )
        return {"id": str(transfer.id)}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main() -> None:
    port, dsn = int(sys.argv[1]), sys.argv[2]
    uvicorn.run(
        create_app(dsn),
        host="127.0.0.1",
        port=port,
        log_config=None,
        log_level="warning",
        access_log=False,
        loop="uvloop",
        http="httptools",
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    main()
