"""Every funds replica runs the voucher expiry sweep: two at once expire each voucher once,
cancel each undelivered order once and return each unused fen to the pool once.

Two apps on pools of their own stand for two processes; what they write is committed.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import httpx
from fastapi import FastAPI

from services.funds.vouchers.sweep import expire_vouchers_once
from tests.funds.conftest import _funds_app
from tests.funds.vouchers.conftest import World

VOUCHERS = 6


async def sweep_until_done(app: FastAPI) -> None:
    while await expire_vouchers_once(app):
        pass


async def test_two_replicas_expire_each_voucher_once(
    committed_world: World, database_url: str, gateway: FastAPI, gateway_client: httpx.AsyncClient
) -> None:
    world = committed_world
    program = await world.program(validity_days=30)
    provider = await world.provider("provider")
    world.after_publicity()
    vouchers, orders = [], []
    for n in range(VOUCHERS):
        await world.enterprise(f"enterprise{n}")
        issued = await world.voucher(program, f"enterprise{n}", 200_000)
        assert issued.status_code == 201, issued.text
        vouchers.append(issued.json())
        placed = await world.order(vouchers[-1], provider, f"enterprise{n}", part=100_000)
        assert placed.status_code == 201, placed.text
        orders.append(placed.json())
    assert (await world.pool(program))["available"] == program["budget_fen"] - 200_000 * VOUCHERS
    world.funds.clock.now = max(datetime.fromisoformat(v["expires_at"]) for v in vouchers)

    async with _funds_app(database_url, gateway, gateway_client, None) as other:
        other.clock.now = world.funds.clock.now
        await asyncio.gather(sweep_until_done(world.funds.app), sweep_until_done(other.app))

    assert (await world.pool(program))["available"] == program["budget_fen"]
    for n, (voucher, order) in enumerate(zip(vouchers, orders, strict=True)):
        expired = await world.ok("GET", f"/v1/vouchers/{voucher['id']}", f"enterprise{n}")
        assert (expired["status"], expired["available_fen"], expired["held_fen"]) == (
            "expired",
            0,
            0,
        )
        assert (await world.history(order)).count("voucher_expired") == 1
