"""What the gateway passes on, and what it keeps back, checked against an upstream that echoes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from fastapi import FastAPI
from httpx import AsyncClient

from shared.auth.roles import Role
from tests.conftest import Login, MakeUser, bearer


async def _echo(request: web.Request) -> web.Response:
    body = await request.read()
    return web.json_response(
        {
            "method": request.method,
            "path": request.path,
            "raw_path": request.raw_path,
            "headers": {k.lower(): v for k, v in request.headers.items()},
            "body": body.decode(),
        },
        headers={"Connection": "keep-alive", "Keep-Alive": "timeout=5", "X-Upstream": "yes"},
    )


@pytest.fixture
async def echo_upstream(gateway: FastAPI) -> AsyncIterator[str]:
    """A stand-in upstream in place of the credit service, listening on loopback."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", _echo)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    forwarder = gateway.state.forwarder
    original = forwarder.settings.credit_url
    forwarder.settings.credit_url = f"http://127.0.0.1:{port}"
    try:
        yield forwarder.settings.credit_url
    finally:
        forwarder.settings.credit_url = original
        await runner.cleanup()


async def test_forwarding_passes_the_request_and_strips_hop_by_hop_headers(
    echo_upstream: str, gateway_client: AsyncClient, make_user: MakeUser, login: Login
) -> None:
    token = (await login(await make_user(Role.applicant)))["access_token"]
    response = await gateway_client.post(
        "/api/credit/v1/things?x=1&y=%E4%B8%AD",
        content=b'{"a": 1}',
        headers=bearer(token)
        | {
            "Content-Type": "application/json",
            "Connection": "X-Private-Hop",
            "X-Private-Hop": "secret",
            "Proxy-Authorization": "Basic c2VjcmV0",
            "TE": "trailers",
            "X-Request-ID": "fwd-1",
            "X-Forwarded-For": "6.6.6.6",
        },
    )
    assert response.status_code == 200, response.text
    seen = response.json()
    assert seen["method"] == "POST"
    assert seen["path"] == "/v1/things"
    assert seen["raw_path"] == "/v1/things?x=1&y=%E4%B8%AD"
    assert seen["body"] == '{"a": 1}'
    headers = seen["headers"]
    assert headers["authorization"] == f"Bearer {token}"  # the service verifies it again
    assert headers["x-request-id"] == "fwd-1"
    assert headers["x-forwarded-for"] == "10.1.2.3"  # the real client, not what it claimed
    for hop in ("x-private-hop", "proxy-authorization", "te"):
        assert hop not in headers
    assert response.headers["x-upstream"] == "yes"
    assert "keep-alive" not in response.headers
    assert response.headers["x-request-id"] == "fwd-1"
