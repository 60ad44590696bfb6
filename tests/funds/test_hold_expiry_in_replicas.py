"""Every funds replica runs the hold expiry sweep: two at once release each hold once.

Two apps on pools of their own stand for two processes; what they write is committed.
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from services.funds.ledger.sweep import expire_once
from services.funds.models import Transfer
from tests.funds.conftest import Funds, _funds_app, fresh_ledger, outcomes, transfer

HOLDS = 40


async def sweep_until_done(app: FastAPI) -> None:
    """As the sweeper's loop does while passes find work."""
    while await expire_once(app):
        pass


async def test_two_replicas_release_each_expired_hold_once(
    committed_funds: Funds, database_url: str, gateway: FastAPI, gateway_client: httpx.AsyncClient
) -> None:
    funds, ledger = committed_funds, fresh_ledger()
    treasury = await funds.account(ledger, code="treasury")
    fund = await funds.account(ledger, code="program_fund", debits_must_not_exceed_credits=True)
    projects = [await funds.account(ledger) for _ in range(4)]
    await funds.transfers(transfer(treasury, fund, 100 * HOLDS, ledger=ledger))
    holds: list[dict[str, Any]] = [
        transfer(fund, projects[n % 4], 100, ledger=ledger, pending=True, timeout=60)
        for n in range(HOLDS)
    ]
    assert outcomes(await funds.transfers(*holds)) == ["created"] * HOLDS
    funds.clock.advance(minutes=2)

    async with _funds_app(database_url, gateway, gateway_client, None) as other:
        other.clock.now = funds.clock.now
        await asyncio.gather(sweep_until_done(funds.app), sweep_until_done(other.app))

    async with funds.app.state.db.sessionmaker() as session:
        resolutions = (
            await session.execute(
                sa.select(Transfer.pending_id, Transfer.kind).where(
                    Transfer.pending_id.in_([UUID(h["id"]) for h in holds])
                )
            )
        ).all()
    assert sorted(str(r.pending_id) for r in resolutions) == sorted(h["id"] for h in holds)
    assert {r.kind for r in resolutions} == {"expire"}
    after = await funds.balances(fund["id"])
    assert (after["debits_pending"], after["available"]) == (0, 100 * HOLDS)
    for project in projects:
        assert (await funds.balances(project["id"]))["credits_pending"] == 0
