"""The gateway's own client for the services (`services/gateway/proxy/upstream.py`), against
real servers on loopback: what it keeps, what it sends again, and what it never holds whole.

The servers here are asyncio streams scripted per test, so that a test can close a kept
connection, go quiet, or send a body faster than it is read."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from services.gateway.proxy.upstream import (
    BUFFER_BYTES,
    IDLE_SECONDS,
    BrokenAnswer,
    Dropped,
    NotConnected,
    StreamedBody,
    UpstreamClient,
)
from tests.conftest import free_ports

# A reply to one request: its head, the connection's writer, and its place on the connection.
Reply = Callable[[bytes, asyncio.StreamWriter, int], Awaitable[None]]


@dataclass
class Server:
    url: str
    connections: int = 0  # accepted so far
    open_now: int = 0
    most_open: int = 0
    heads: list[bytes] = field(default_factory=list)  # each request's line and headers
    bodies: list[bytes] = field(default_factory=list)
    writers: list[asyncio.StreamWriter] = field(default_factory=list)


def json_reply(body: bytes = b'{"ok":true}', extra: str = "") -> bytes:
    return (
        f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{extra}"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def answer_json(head: bytes, writer: asyncio.StreamWriter, nth: int) -> None:
    writer.write(json_reply())


@contextlib.asynccontextmanager
async def serving(reply: Reply = answer_json) -> AsyncIterator[Server]:
    """Reads requests one after another on each connection and answers each with `reply`."""
    server = Server(url="")

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server.connections += 1
        server.open_now += 1
        server.most_open = max(server.most_open, server.open_now)
        server.writers.append(writer)
        try:
            for nth in itertools.count():
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                server.heads.append(head)
                server.bodies.append(await reader.readexactly(length))
                await reply(head, writer, nth)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            server.open_now -= 1
            writer.close()

    listening = await asyncio.start_server(connection, "127.0.0.1", 0)
    server.url = f"http://127.0.0.1:{listening.sockets[0].getsockname()[1]}"
    try:
        yield server
    finally:
        listening.close()
        for writer in server.writers:
            writer.close()


@dataclass
class FakeClock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


async def get(client: UpstreamClient, url: str, target: str = "/v1/things") -> tuple[int, bytes]:
    answer = await client.request("GET", url, target, [("Accept", "application/json")])
    return answer.status, await answer.read()


async def test_a_connection_is_kept_for_the_next_request_and_headers_go_as_given() -> None:
    client = UpstreamClient(read_seconds=5)
    async with serving() as server:
        replies = [await get(client, server.url, f"/v1/things?page={n}") for n in range(3)]
    await client.close()
    assert replies == [(200, b'{"ok":true}')] * 3
    assert server.connections == 1
    first = server.heads[0].decode()
    assert first.startswith("GET /v1/things?page=0 HTTP/1.1\r\n")
    assert f"Host: {server.url.removeprefix('http://')}\r\n" in first
    assert "Accept: application/json\r\n" in first
    assert "Content-Length" not in first  # a GET without a body says nothing of one


async def test_a_connection_rested_too_long_is_not_used_again() -> None:
    clock = FakeClock()
    client = UpstreamClient(read_seconds=5, clock=clock)
    async with serving() as server:
        await get(client, server.url)
        clock.now += IDLE_SECONDS + 0.1  # the service may be closing it just now
        await get(client, server.url)
    await client.close()
    assert server.connections == 2


async def test_a_kept_connection_the_service_closed_sends_a_read_again_never_a_write() -> None:
    async def closing_when_kept(head: bytes, writer: asyncio.StreamWriter, nth: int) -> None:
        """Answers a connection's first request; closes it, unanswered, on the next (as a
        service does whose keep-alive ran out just as the request came)."""
        if nth == 0:
            writer.write(json_reply())
        else:
            writer.transport.abort()

    client = UpstreamClient(read_seconds=5)
    async with serving(closing_when_kept) as server:
        await get(client, server.url)
        assert await get(client, server.url) == (200, b'{"ok":true}')
        # The read went on the kept connection, was dropped, and went again on a new one.
        assert [head.split(b" ")[0] for head in server.heads] == [b"GET"] * 3
        assert server.connections == 2

        with pytest.raises(Dropped):  # on the kept connection: the service may have acted
            await client.request("POST", server.url, "/v1/things", [], b"{}")
    await client.close()
    assert [head.split(b" ")[0] for head in server.heads].count(b"POST") == 1


async def test_nothing_listening_is_not_connected() -> None:
    client = UpstreamClient(read_seconds=5)
    with pytest.raises(NotConnected):
        await get(client, f"http://127.0.0.1:{free_ports(1)[0]}")
    await client.close()


async def test_a_service_gone_quiet_is_a_timeout_and_its_connection_is_not_kept() -> None:
    async def never(head: bytes, writer: asyncio.StreamWriter, nth: int) -> None:
        await asyncio.sleep(3600)

    client = UpstreamClient(read_seconds=0.2)
    async with serving(never) as server:
        with pytest.raises(TimeoutError):
            await get(client, server.url)
        assert client._resting == {}
    await client.close()


async def test_chunked_and_close_delimited_answers_come_whole() -> None:
    async def chunked(head: bytes, writer: asyncio.StreamWriter, nth: int) -> None:
        if b"/chunked" in head:
            writer.write(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
            )
        else:
            writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end")
            await writer.drain()
            writer.close()

    client = UpstreamClient(read_seconds=5)
    async with serving(chunked) as server:
        assert await get(client, server.url, "/chunked") == (200, b"hello world")
        assert await get(client, server.url, "/until-closed") == (200, b"until the end")
    await client.close()


async def test_an_answer_to_head_has_no_body_whatever_its_length_says() -> None:
    async def head_answer(head: bytes, writer: asyncio.StreamWriter, nth: int) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n")

    client = UpstreamClient(read_seconds=5)
    async with serving(head_answer) as server:
        answer = await client.request("HEAD", server.url, "/v1/file", [])
        assert (answer.status, answer.content_length, await answer.read()) == (200, 1234, b"")
        answer = await client.request("HEAD", server.url, "/v1/file", [])
        assert answer.status == 200
        await answer.read()
    await client.close()


async def test_a_large_answer_is_not_read_faster_than_it_is_taken() -> None:
    size = 32 * 1024 * 1024

    async def large(head: bytes, writer: asyncio.StreamWriter, nth: int) -> None:
        writer.write(f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n".encode())
        writer.write(b"x" * size)

    client = UpstreamClient(read_seconds=5)
    async with serving(large) as server:
        answer = await client.request("GET", server.url, "/v1/large", [])
        await asyncio.sleep(0.5)  # the server writes on; the client takes nothing
        # What the client holds stays near its bound; the rest waits in the server's buffer.
        assert answer._buffered < 2 * BUFFER_BYTES
        assert server.writers[0].transport.get_write_buffer_size() > size // 2
        taken = 0
        async for chunk in answer.chunks():
            taken += len(chunk)
    await client.close()
    assert taken == size
    assert server.connections == 1


async def test_a_streamed_body_goes_with_its_length_and_may_be_sent_twice() -> None:
    parts = [b"a" * 100_000, b"b" * 50_000]

    async def chunks() -> AsyncGenerator[bytes, None]:
        for part in parts:
            yield part

    client = UpstreamClient(read_seconds=5)
    body = StreamedBody(chunks, sum(map(len, parts)))
    async with serving() as server:
        for _ in range(2):
            answer = await client.request("POST", server.url, "/v1/files", [], body)
            assert answer.status == 200
            await answer.read()
    await client.close()
    assert server.bodies == [b"".join(parts)] * 2
    assert b"Content-Length: 150000\r\n" in server.heads[0]


async def test_no_more_connections_than_the_limit() -> None:
    async def slowly(head: bytes, writer: asyncio.StreamWriter, nth: int) -> None:
        await asyncio.sleep(0.05)
        writer.write(json_reply())

    client = UpstreamClient(read_seconds=5, limit=2)
    async with serving(slowly) as server:
        replies = await asyncio.gather(*(get(client, server.url) for _ in range(8)))
    await client.close()
    assert [status for status, _ in replies] == [200] * 8
    assert server.most_open <= 2


async def test_an_answer_that_is_not_http_is_broken() -> None:
    async def garbage(head: bytes, writer: asyncio.StreamWriter, nth: int) -> None:
        writer.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")

    client = UpstreamClient(read_seconds=5)
    async with serving(garbage) as server:
        with pytest.raises(BrokenAnswer):
            await get(client, server.url)
    await client.close()


async def test_a_header_with_a_line_break_is_refused_before_anything_is_sent() -> None:
    client = UpstreamClient(read_seconds=5)
    async with serving() as server:
        with pytest.raises(ValueError, match="line break"):
            await client.request("GET", server.url, "/", [("X-Note", "a\r\nX-Admin: yes")])
        assert await get(client, server.url) == (200, b'{"ok":true}')  # its turn was given back
    await client.close()
    assert all(b"X-Admin" not in head for head in server.heads)


async def test_an_interim_answer_is_passed_over_for_the_real_one() -> None:
    async def early_hints(head: bytes, writer: asyncio.StreamWriter, nth: int) -> None:
        writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n")
        writer.write(json_reply(extra="X-Final: yes\r\n"))

    client = UpstreamClient(read_seconds=5)
    async with serving(early_hints) as server:
        answer = await client.request("GET", server.url, "/v1/page", [])
        assert (answer.status, await answer.read()) == (200, b'{"ok":true}')
    await client.close()
    assert answer.header("x-final") == "yes"
    assert answer.header("link") is None
