"""Guessing passwords is stopped per address and slowed per account, and nobody can lock the
owner out by failing on purpose from elsewhere."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.gateway.auth.exceptions import LoginBusy
from services.gateway.auth.gate import LoginGate
from services.gateway.auth.throttle import address_key
from services.gateway.config import GatewaySettings
from services.gateway.main import create_app as gateway_app
from shared.auth.roles import Role
from shared.testing.plugin import running_app
from tests.conftest import ROOMY_RATE_LIMITS, MakeUser


@pytest.fixture
async def gateway(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[FastAPI]:
    """Small thresholds, so that few (expensive) password checks reach them."""
    settings = GatewaySettings.model_validate(
        {
            "database_url": database_url,
            "environment": "test",
            "consume_events": False,
            "rate_limits": ROOMY_RATE_LIMITS,
            "login_max_failures": 2,
            "login_account_max_failures": 4,
        }
    )
    async with running_app(gateway_app(settings), sessionmaker) as app:
        yield app


async def _login(app: FastAPI, address: str, user: dict[str, Any], password: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=(address, 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        return await client.post(
            "/auth/token",
            data={"username": user["username"], "password": password},
            headers={"Accept-Language": "en"},
        )


async def test_guessers_are_stopped_and_slowed_but_cannot_lock_the_owner_out(
    gateway: FastAPI, make_user: MakeUser
) -> None:
    owner = await make_user(Role.applicant)
    right = owner["password"]
    assert (await _login(gateway, "10.0.0.1", owner, right)).status_code == 200  # owner's office

    # One guesser's address is locked out of the account after two failures, even with the
    # right password.
    for _ in range(2):
        assert (await _login(gateway, "203.0.113.1", owner, "guess-1234")).status_code == 401
    locked = await _login(gateway, "203.0.113.1", owner, right)
    assert locked.status_code == 429
    assert locked.json()["code"] == "auth.login_throttled"
    assert "this address" in locked.json()["detail"]
    assert int(locked.headers["Retry-After"]) >= 1

    # A crowd of addresses: after four failures from unfamiliar addresses, every unfamiliar
    # address waits, without a password check.
    for _ in range(2):
        assert (await _login(gateway, "203.0.113.2", owner, "guess-5678")).status_code == 401
    for address in ("203.0.113.3", "198.51.100.7"):
        slowed = await _login(gateway, address, owner, right)
        assert slowed.status_code == 429, slowed.text
        assert "unfamiliar addresses" in slowed.json()["detail"]
        assert int(slowed.headers["Retry-After"]) >= 1

    # The owner, where they logged in before, is let in all the while.
    assert (await _login(gateway, "10.0.0.1", owner, right)).status_code == 200


async def test_an_ipv6_client_counts_by_its_network(gateway: FastAPI, make_user: MakeUser) -> None:
    assert address_key("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert address_key("198.51.100.7") == "198.51.100.7"
    owner = await make_user(Role.applicant)
    for suffix in ("1", "2"):
        wrong = await _login(gateway, f"2001:db8:1:2::{suffix}", owner, "guess-0000")
        assert wrong.status_code == 401
    # Another address of the same /64 is the same guesser.
    locked = await _login(gateway, "2001:db8:1:2::99", owner, owner["password"])
    assert locked.status_code == 429


async def test_a_burst_beyond_the_queue_is_told_to_come_back_at_once() -> None:
    gate = LoginGate(at_once=1, queue=1, max_wait_seconds=0.2)
    entered: list[int] = []

    async def login(n: int, hold: float) -> str:
        try:
            async with gate.turn():
                entered.append(n)
                await asyncio.sleep(hold)
        except LoginBusy as exc:
            return f"busy {exc.headers['Retry-After']}"
        return "done"

    first = asyncio.create_task(login(1, 0.5))  # holds the only slot
    await asyncio.sleep(0.01)
    waiting = asyncio.create_task(login(2, 0))  # the one place in the queue
    await asyncio.sleep(0.01)
    started = asyncio.get_running_loop().time()
    refused = await login(3, 0)  # no place left: refused without waiting
    assert refused.startswith("busy ")
    assert int(refused.split()[1]) >= 1
    assert asyncio.get_running_loop().time() - started < 0.05
    assert await waiting == "busy 1"  # waited its longest (0.2 s), then refused
    assert await first == "done"
    assert entered == [1]
    # The burst is over: the next login goes straight in.
    assert await login(4, 0) == "done"
