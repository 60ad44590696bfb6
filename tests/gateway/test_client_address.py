"""Whose address the gateway limits and audits: the peer, or what trusted proxies vouch for."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pydantic
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.gateway.client_address import client_address, parse_networks
from services.gateway.config import GatewaySettings
from services.gateway.main import create_app as gateway_app
from services.gateway.models import AuditEntry
from shared.testing.plugin import running_app
from tests.conftest import ROOMY_RATE_LIMITS

PROXIES = parse_networks(["10.1.2.3", "192.168.0.0/16"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        # Not from a proxy: whatever the header says, the peer is the client.
        ("203.0.113.7", ["6.6.6.6"], "203.0.113.7"),
        ("10.1.2.3", [], "10.1.2.3"),
        # From the proxy: the right-most address it did not write itself.
        ("10.1.2.3", ["6.6.6.6, 198.51.100.4"], "198.51.100.4"),
        ("10.1.2.3", ["6.6.6.6", "198.51.100.4, 192.168.4.4"], "198.51.100.4"),
        ("10.1.2.3", ["198.51.100.4, 192.168.4.4"], "198.51.100.4"),
        # Only proxies in the chain: the farthest of them.
        ("10.1.2.3", ["192.168.9.9, 192.168.4.4"], "192.168.9.9"),
        # Garbage inside the trusted part of the chain: believe nobody beyond it.
        ("10.1.2.3", ["6.6.6.6, not-an-address"], "10.1.2.3"),
        ("10.1.2.3", ["6.6.6.6, 2001:db8::1"], "2001:db8::1"),
        (None, ["6.6.6.6"], "unknown"),
    ],
)
def test_the_right_most_untrusted_address_is_the_client(
    peer: str | None, forwarded: list[str], expected: str
) -> None:
    assert client_address(peer, forwarded, PROXIES) == expected


def test_without_proxies_the_header_is_ignored() -> None:
    assert client_address("127.0.0.1", ["6.6.6.6"], []) == "127.0.0.1"


def test_a_mistyped_proxy_fails_at_start_up() -> None:
    with pytest.raises(pydantic.ValidationError, match="trusted_proxies"):
        GatewaySettings(trusted_proxies=["10.0.0.0/33"])


@pytest.fixture
async def proxied_gateway(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[FastAPI]:
    settings = GatewaySettings.model_validate(
        {
            "database_url": database_url,
            "environment": "test",
            "consume_events": False,
            "rate_limits": ROOMY_RATE_LIMITS,
            "trusted_proxies": ["10.1.2.3"],
        }
    )
    async with running_app(gateway_app(settings), sessionmaker) as app:
        yield app


async def _audited_address(app: FastAPI, peer: str, session: AsyncSession, request_id: str) -> str:
    transport = httpx.ASGITransport(app=app, client=(peer, 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        await client.post(
            "/auth/token",
            data={"username": "nobody", "password": "wrong-password"},
            headers={"X-Forwarded-For": "6.6.6.6, 198.51.100.4", "X-Request-ID": request_id},
        )
    address = await session.scalar(
        sa.select(AuditEntry.client_address).where(AuditEntry.request_id == request_id)
    )
    assert address is not None
    return address


async def test_the_audit_log_names_the_address_the_proxy_saw(
    proxied_gateway: FastAPI, session: AsyncSession
) -> None:
    assert await _audited_address(proxied_gateway, "10.1.2.3", session, "xff-1") == "198.51.100.4"
    # A client that is not the proxy claims to be forwarded: it is not believed.
    assert await _audited_address(proxied_gateway, "203.0.113.7", session, "xff-2") == (
        "203.0.113.7"
    )
