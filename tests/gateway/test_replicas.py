"""The gateway spreads a service's requests over its replicas, in turn, and goes around one that
is down: any request when the replica refused the connection (nothing was sent), only a safe
one when it dropped the request unanswered (it may have acted on it).

The replicas are stand-ins on loopback: one that answers, one that drops every request
(a process dying mid-request), and a port where nothing listens.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import httpx
import pytest
from aiohttp import web
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.gateway.config import GatewaySettings
from services.gateway.main import create_app as gateway_app
from services.gateway.replicas import REST_SECONDS, Replicas
from shared.auth.roles import Role
from shared.testing.plugin import running_app
from tests.conftest import ROOMY_RATE_LIMITS, Login, MakeUser, bearer, free_ports


@dataclass
class Replica:
    url: str
    seen: list[str] = field(default_factory=list)  # "METHOD /path", in order
    bodies: list[str] = field(default_factory=list)  # the SHA-256 of each body taken


@contextlib.asynccontextmanager
async def answering() -> AsyncIterator[Replica]:
    replica = Replica(url="")

    async def answer(request: web.Request) -> web.Response:
        replica.seen.append(f"{request.method} {request.path}")
        replica.bodies.append(hashlib.sha256(await request.read()).hexdigest())
        return web.json_response({"replica": replica.url})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    replica.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield replica
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def dropping() -> AsyncIterator[Replica]:
    """Reads each request whole, then closes the connection without a word."""
    replica = Replica(url="")

    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        method, path, _ = head.split(b"\r\n", 1)[0].decode().split(" ", 2)
        replica.seen.append(f"{method} {path}")
        writer.close()

    server = await asyncio.start_server(drop, "127.0.0.1", 0)
    replica.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        yield replica
    finally:
        server.close()
        await server.wait_closed()


def refusing() -> Replica:
    """A port nobody listens on: the connection is refused."""
    return Replica(url=f"http://127.0.0.1:{free_ports(1)[0]}")


@pytest.fixture
async def caller(make_user: MakeUser, login: Login) -> dict[str, str]:
    """A person's token: the gateway lets no anonymous write through."""
    return bearer((await login(await make_user(Role.applicant)))["access_token"])


@contextlib.asynccontextmanager
async def gateway_before(
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    caller: dict[str, str],
    *replicas: Replica,
) -> AsyncIterator[httpx.AsyncClient]:
    """A gateway whose credit service is `replicas` (SCIPLAN_GATEWAY_CREDIT_URL, commas),
    and a client calling it as `caller`."""
    settings = GatewaySettings.model_validate(
        {
            "database_url": database_url,
            "environment": "test",
            "consume_events": False,
            "portal_url": "",
            "credit_url": ",".join(r.url for r in replicas),
            "rate_limits": ROOMY_RATE_LIMITS,
        }
    )
    async with running_app(gateway_app(settings), sessionmaker) as app:
        transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 5000))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://gateway", headers=caller
        ) as client:
            yield client


async def test_requests_go_to_the_replicas_in_turn(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], caller: dict[str, str]
) -> None:
    async with (
        answering() as first,
        answering() as second,
        gateway_before(database_url, sessionmaker, caller, first, second) as client,
    ):
        answered = []
        for n in range(6):
            reply = await client.request("GET" if n % 2 else "POST", f"/api/credit/v1/things/{n}")
            assert reply.status_code == 200, reply.text
            answered.append(reply.json()["replica"])
    assert answered == [first.url, second.url] * 3
    assert first.seen == ["POST /v1/things/0", "POST /v1/things/2", "POST /v1/things/4"]
    assert second.seen == ["GET /v1/things/1", "GET /v1/things/3", "GET /v1/things/5"]


async def test_a_replica_that_refuses_is_skipped_for_any_request(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], caller: dict[str, str]
) -> None:
    down = refusing()
    async with (
        answering() as up,
        gateway_before(database_url, sessionmaker, caller, down, up) as client,
    ):
        for n in range(4):
            method = ("POST", "PUT", "DELETE", "GET")[n]
            reply = await client.request(method, f"/api/credit/v1/things/{n}")
            assert reply.status_code == 200, reply.text
    # Writes too: a refused connection carried none of the request.
    assert up.seen == [
        "POST /v1/things/0",
        "PUT /v1/things/1",
        "DELETE /v1/things/2",
        "GET /v1/things/3",
    ]


async def test_a_large_upload_refused_by_one_replica_goes_whole_to_the_next(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], caller: dict[str, str]
) -> None:
    upload = os.urandom(600 * 1024)  # larger than the gateway holds: it waits in a file
    async with (
        answering() as up,
        gateway_before(database_url, sessionmaker, caller, refusing(), up) as client,
    ):
        reply = await client.post(
            "/api/credit/v1/files",
            content=upload,
            headers={"Content-Type": "application/octet-stream"},
        )
    assert reply.status_code == 200, reply.text
    assert up.bodies == [hashlib.sha256(upload).hexdigest()]


async def test_a_dropped_request_is_sent_again_only_when_it_is_safe(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], caller: dict[str, str]
) -> None:
    async with (
        dropping() as dying,
        answering() as up,
        gateway_before(database_url, sessionmaker, caller, dying, up) as client,
    ):
        reads = [await client.get(f"/api/credit/v1/things/r{n}") for n in range(2)]
        writes = [await client.post(f"/api/credit/v1/things/w{n}") for n in range(2)]
    assert [r.status_code for r in reads] == [200, 200]
    assert up.seen[:2] == ["GET /v1/things/r0", "GET /v1/things/r1"]
    # One write went to the dying replica, which may have acted on it: the client is told
    # (502), and the write is not made a second time elsewhere.
    assert sorted(w.status_code for w in writes) == [200, 502]
    failed = next(w for w in writes if w.status_code == 502)
    assert failed.json()["code"] == "gateway.bad_gateway"
    posts_up = [s for s in up.seen if s.startswith("POST")]
    posts_dropped = [s for s in dying.seen if s.startswith("POST")]
    assert len(posts_up) == len(posts_dropped) == 1
    assert posts_up != posts_dropped


async def test_with_every_replica_down_the_answer_is_502(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], caller: dict[str, str]
) -> None:
    async with gateway_before(database_url, sessionmaker, caller, refusing(), refusing()) as client:
        reply = await client.get("/api/credit/v1/things")
    assert reply.status_code == 502
    assert reply.json()["code"] == "gateway.bad_gateway"


@dataclass
class FakeClock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_refusing_replica_rests_then_is_tried_again() -> None:
    clock = FakeClock()
    down = refusing()
    async with answering() as up, aiohttp.ClientSession() as http:
        replicas = Replicas([down.url, up.url], clock=clock)

        async def get(base: str) -> int:
            async with http.get(f"{base}/v1/ping") as response:
                return response.status

        assert await replicas.ask("GET", get) == (up.url, 200)  # the refusal was skipped
        # While it rests, the refusing replica comes last, whoever's turn it is.
        assert replicas.in_turn() == [up.url, down.url]
        assert replicas.in_turn() == [up.url, down.url]
        clock.now += REST_SECONDS
        assert sorted([replicas.in_turn()[0], replicas.in_turn()[0]]) == sorted([down.url, up.url])


@pytest.mark.parametrize(
    ("value", "urls"),
    [
        ("http://10.0.0.5:8002", ("http://10.0.0.5:8002",)),
        (
            "http://10.0.0.5:8002/, http://10.0.0.6:8002",
            ("http://10.0.0.5:8002", "http://10.0.0.6:8002"),
        ),
        ("https://credit.internal/base/", ("https://credit.internal/base",)),
    ],
)
def test_a_service_url_names_one_replica_or_several(value: str, urls: tuple[str, ...]) -> None:
    assert GatewaySettings(credit_url=value).upstreams["credit"] == urls


@pytest.mark.parametrize("value", ["", " , ", "10.0.0.5:8002", "http://a:8002,ftp://b:8002"])
def test_a_service_url_that_names_no_replica_stops_the_start(value: str) -> None:
    with pytest.raises(ValidationError, match="credit_url"):
        GatewaySettings(credit_url=value)


def test_no_portal_is_allowed() -> None:
    assert GatewaySettings(portal_url="").portal_urls == ()
