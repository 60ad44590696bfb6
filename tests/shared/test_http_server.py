"""Each response in one write (shared/http_server.py), on a real uvicorn server and socket.

The server runs in the test's loop. A raw client sends requests on one keep-alive connection,
and a counting transport under the protocol records what reaches the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from shared.http_server import FLUSH_AT, OneWriteHttpProtocol

CHUNK = b"x" * (FLUSH_AT + 1000)
SMALL = '{"hello":"世界"}'.encode()


def _app() -> FastAPI:
    app = FastAPI()

    @app.api_route("/small", methods=["GET", "HEAD"])
    async def small() -> dict[str, str]:
        return {"hello": "世界"}

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"received": len(await request.body())}

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(3):
                await asyncio.sleep(0)
                yield CHUNK

        return StreamingResponse(chunks(), media_type="application/octet-stream")

    return app


class _Counting:
    """The socket's transport, recording each write that reaches it."""

    def __init__(self, transport: asyncio.Transport, writes: list[bytes]) -> None:
        self._transport = transport
        self._writes = writes

    def write(self, data: bytes) -> None:
        self._writes.append(bytes(data))
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def _counted(base: type[HttpToolsProtocol], writes: list[bytes]) -> type[HttpToolsProtocol]:
    class Counted(base):  # type: ignore[misc, valid-type]
        def connection_made(self, transport: asyncio.Transport) -> None:
            super().connection_made(_Counting(transport, writes))

    return Counted


@contextlib.asynccontextmanager
async def _server(protocol: type[HttpToolsProtocol]) -> AsyncIterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        _app(), log_config=None, access_log=False, http=protocol, lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        await task


async def _response(reader: asyncio.StreamReader) -> tuple[bytes, dict[str, str], bytes]:
    """One response off the connection: status line, headers, body (by length or chunks)."""
    status = (await reader.readline()).strip()
    headers = {}
    while line := (await reader.readline()).strip():
        name, _, value = line.decode().partition(":")
        headers[name.lower()] = value.strip()
    if "content-length" in headers:
        return status, headers, await reader.readexactly(int(headers["content-length"]))
    body = b""
    while size := int((await reader.readline()).strip(), 16):
        body += await reader.readexactly(size)
        await reader.readline()
    await reader.readline()
    return status, headers, body


async def test_a_response_reaches_the_socket_in_one_write_where_uvicorn_makes_two() -> None:
    for protocol, writes_per_response in ((OneWriteHttpProtocol, 1), (HttpToolsProtocol, 2)):
        writes: list[bytes] = []
        async with _server(_counted(protocol, writes)) as port:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /small HTTP/1.1\r\nHost: t\r\n\r\n" * 2)  # pipelined
            for _ in range(2):
                status, _, body = await _response(reader)
                assert status == b"HTTP/1.1 200 OK"
                assert body == SMALL
            writer.close()
        assert len(writes) == 2 * writes_per_response, (protocol, writes)
    # Under this module's protocol each write is a whole response, head and body.
    writes = []
    async with _server(_counted(OneWriteHttpProtocol, writes)) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /small HTTP/1.1\r\nHost: t\r\n\r\n")
        await _response(reader)
        writer.close()
    assert writes[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert writes[0].endswith(SMALL)


async def test_head_streams_and_expect_continue_are_answered_as_before() -> None:
    writes: list[bytes] = []
    async with _server(_counted(OneWriteHttpProtocol, writes)) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)

        # HEAD: a head and no body at all, still sent (at the end of the loop's turn).
        writer.write(b"HEAD /small HTTP/1.1\r\nHost: t\r\n\r\n")
        status, headers, _ = await asyncio.wait_for(_response_head(reader), 5)
        assert (status, headers["content-length"]) == (b"HTTP/1.1 200 OK", str(len(SMALL)))

        # A streamed body, chunks larger than FLUSH_AT: the head goes at the end of its turn,
        # each chunk as soon as it is written.
        writes.clear()
        writer.write(b"GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
        status, headers, body = await _response(reader)
        assert (status, headers["transfer-encoding"]) == (b"HTTP/1.1 200 OK", "chunked")
        assert body == CHUNK * 3
        assert writes[0].startswith(b"HTTP/1.1 200 OK\r\n")
        assert [CHUNK in write for write in writes[1:4]] == [True, True, True]

        # Expect: 100-continue: the interim answer comes before the client sends the body.
        writer.write(
            b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
        )
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        writer.write(b"hello")
        status, _, body = await _response(reader)
        assert (status, body) == (b"HTTP/1.1 200 OK", b'{"received":5}')
        writer.close()


async def _response_head(reader: asyncio.StreamReader) -> tuple[bytes, dict[str, str], bytes]:
    status = (await reader.readline()).strip()
    headers = {}
    while line := (await reader.readline()).strip():
        name, _, value = line.decode().partition(":")
        headers[name.lower()] = value.strip()
    return status, headers, b""
