"""uvicorn's httptools protocol, writing each response in one piece.

uvicorn writes a response's head and its body to the socket separately. Every write on a local
TCP connection wakes the reader: the load generator, or the gateway reading a service. So most
responses cost each side two system calls and two wake-ups where one would do. In a py-spy
profile of the gateway under `bench.gateway_overhead`, its two writes per response to the
client were a quarter of the process's samples.

Here the connection's transport gathers what is written in one turn of the event loop, and sends
it as one write at the end of the turn. A response's head and body are written in the same turn
unless the body is streamed. Nothing waits longer than that turn, and a large body goes out at
once (`FLUSH_AT`), so flow control sees it as before. `sciplan.serve` serves every service with
it (`http=OneWriteHttpProtocol`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# Gathered bytes beyond this go to the socket at once: a streamed file, a large page.
FLUSH_AT = 64 * 1024


class OneWriteTransport:
    """A transport that sends what is written to it in one turn of the loop in one write."""

    __slots__ = ("_loop", "_pending", "_scheduled", "_size", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []
        self._size = 0
        self._scheduled = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        # A mutable buffer may change before the turn ends; keep what it holds now.
        self._pending.append(data if isinstance(data, bytes) else bytes(data))
        self._size += len(data)
        if self._size >= FLUSH_AT:
            self.flush()
        elif not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._end_of_turn)

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def _end_of_turn(self) -> None:
        self._scheduled = False
        self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending.clear()
        self._size = 0
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._pending.clear()
        self._size = 0
        self._transport.abort()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.flush()
        self._transport.set_protocol(protocol)

    def get_write_buffer_size(self) -> int:
        return self._size + self._transport.get_write_buffer_size()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class OneWriteHttpProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        # Flow control and the addresses keep the socket's own transport; writes go through
        # the gathering one, the protocol's and each request cycle's alike.
        super().connection_made(transport)
        self.transport = OneWriteTransport(transport, self.loop)  # type: ignore[assignment]
