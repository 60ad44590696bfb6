"""The gateway's client for the services: HTTP/1.1 on kept-alive connections, and no more.

Every request through the gateway is one exchange with a service, so this client's cost is
paid on every request. aiohttp was about a fifth of the gateway's CPU under
`bench.gateway_overhead` (its request and response objects, multidicts, trace signals and
timers), and the gateway needs little of it: no cookies, redirects, decompression or
authentication, one origin per replica. So a request here is one prepared write, and its answer
is parsed by httptools (the parser uvicorn uses) straight into a list of headers and the body.

What the forwarder relies on:

- **Failures it can act on.** `NotConnected`: nothing reached the service (refused, or no
  connection within `connect_seconds`), so any request may go to another replica. `Dropped`:
  the connection broke after the request went and before the answer's status line, so the
  service may have acted on it. `BrokenAnswer`: not HTTP, or cut off midway. `TimeoutError`:
  the service went quiet for `read_seconds` while an answer was awaited (per read, as a
  proxy's timeout is: a large file that takes long but keeps coming is not a timeout).
- **Kept-alive connections, but not stale ones.** A connection rests at most `IDLE_SECONDS`,
  under uvicorn's own keep-alive (5 s), so the service does not close one just as it is
  reused. Should it happen anyway (a service restarted), a safe request is sent once more on a
  new connection, as aiohttp does.
- **Bounded memory both ways.** A streamed request body is written a chunk at a time, each
  waiting until the socket takes it; an answer being relayed stops being read from the socket
  while `BUFFER_BYTES` wait for the client.
- **A bound on connections**: at most `limit` exchanges at once (others wait their turn), and
  no more than `limit` connections open, idle ones included.
- **Client spans** (`shared/tracing.py`) for requests made within a trace, their context sent on.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ssl
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

import httptools
from opentelemetry.trace import Tracer

from shared.auth.gateway_proof import SAFE_METHODS
from shared.tracing import end_client_span, fail_client_span, start_client_span

# uvicorn closes a connection idle for 5 s; one that rested this long is not used again.
IDLE_SECONDS = 4.0
# An answer being relayed is not read from the socket while this much waits for the client.
BUFFER_BYTES = 256 * 1024


class UpstreamError(Exception):
    """The exchange with the service failed (other than by a timeout)."""


class NotConnected(UpstreamError):
    """No connection was made: nothing was sent."""


class Dropped(UpstreamError):
    """The connection broke before the answer's status line: the request may have arrived."""


class BrokenAnswer(UpstreamError):
    """The answer was not HTTP, or broke off before its end."""


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a base URL's connections go, and the path its targets are under."""

    host: str
    port: int
    tls: bool
    netloc: str  # the Host header
    prefix: str  # the base URL's own path, before each target

    @classmethod
    def of(cls, base: str) -> Origin:
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) base URL: {base!r}")
        tls = parts.scheme == "https"
        port = parts.port or (443 if tls else 80)
        return cls(parts.hostname, port, tls, parts.netloc, parts.path.rstrip("/"))


class StreamedBody:
    """A request body sent as it is read, of a length known beforehand (`Content-Length`).
    `chunks()` reads it from its start, each time it is called."""

    def __init__(self, chunks: Callable[[], AsyncGenerator[bytes, None]], size: int) -> None:
        self.chunks = chunks
        self.size = size


class Answer:
    """The service's answer: status and headers once they came, the body as it comes."""

    __slots__ = (
        "_buffered",
        "_chunks",
        "_client",
        "_connection",
        "_done",
        "_error",
        "_head_only",
        "_sent_whole",
        "_waiter",
        "headers",
        "reusable",
        "status",
    )

    def __init__(self, client: UpstreamClient, connection: _Connection, head_only: bool) -> None:
        self._client = client
        self._connection: _Connection | None = connection
        self._head_only = head_only  # an answer to HEAD: no body, whatever its headers say
        self.status = 0
        self.headers: list[tuple[str, str]] = []
        self._chunks: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._done = False  # the whole answer is in
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._sent_whole = True  # False: answered before the request's body was all sent
        self.reusable = False

    def header(self, name: str) -> str | None:
        """The first value of header `name` (lower case)."""
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None

    @property
    def content_length(self) -> int | None:
        value = self.header("content-length")
        return int(value) if value is not None and value.isdigit() else None

    @property
    def content_type(self) -> str:
        """The media type, without its parameters, in lower case ("" when none)."""
        value = self.header("content-type") or ""
        return value.partition(";")[0].strip().lower()

    async def read(self) -> bytes:
        """The whole body; the connection goes back to be kept."""
        parts = [chunk async for chunk in self.chunks()]
        return parts[0] if len(parts) == 1 else b"".join(parts)

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it comes. The connection goes back to be kept at its end."""
        while True:
            if self._chunks:
                chunk = self._chunks.popleft()
                self._buffered -= len(chunk)
                connection = self._connection
                if connection is not None and self._buffered < BUFFER_BYTES // 2:
                    connection.reading(True)
                yield chunk
            elif self._done:
                self.release()
                return
            elif self._error is not None:
                raise self._error
            else:
                await self._wait()

    def release(self) -> None:
        """Done with the answer: its connection is kept if the answer was read to its end,
        closed otherwise (a client that went away midway)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            keep = self._done and self.reusable and self._sent_whole
            self._client._done_with(connection, keep=keep)

    def _discard(self) -> None:
        """The exchange failed: its connection is closed (the caller gives up its turn)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.answer = None
            self._client._close(connection)

    async def _wait(self) -> None:
        connection = self._connection
        if connection is None:
            raise BrokenAnswer("the answer was released")
        loop = connection.loop
        self._waiter = waiter = loop.create_future()
        # A timer handle, not asyncio.timeout(): this runs for every request, and is cheaper.
        timer = loop.call_later(self._client.read_seconds, self._time_out, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _time_out(self, waiter: asyncio.Future[None]) -> None:
        if not waiter.done():
            waiter.set_exception(TimeoutError())

    # What the connection's parser found

    def _header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def _head(self, status: int) -> None:
        self.status = status
        self._wake()

    def _body(self, data: bytes) -> None:
        self._chunks.append(data)
        self._buffered += len(data)
        if self._buffered > BUFFER_BYTES and self._connection is not None:
            self._connection.reading(False)
        self._wake()

    def _complete(self, keep_alive: bool) -> None:
        self._done = True
        self.reusable = keep_alive
        self._wake()

    def _fail(self, error: BaseException) -> None:
        if not self._done:
            self._error = error
            self._wake()


class _Connection(asyncio.Protocol):
    """One connection to a service, one exchange at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop, origin: Origin) -> None:
        self.loop = loop
        self.origin = origin
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.answer: Answer | None = None
        self.rested_since = 0.0
        self._reading = True
        self._writable: asyncio.Future[None] | None = None  # while the socket's buffer is full

    @property
    def closed(self) -> bool:
        return self.transport is None or self.transport.is_closing()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def reading(self, on: bool) -> None:
        if on != self._reading and self.transport is not None and not self.transport.is_closing():
            self._reading = on
            if on:
                self.transport.resume_reading()
            else:
                self.transport.pause_reading()

    async def drain(self) -> None:
        """Waits while the socket's buffer is full."""
        if self.closed:
            raise ConnectionResetError("the connection closed")
        if self._writable is not None:
            await self._writable
            if self.closed:
                raise ConnectionResetError("the connection closed")

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its methods.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._break(BrokenAnswer("the service switched protocols"))
        except httptools.HttpParserError as exc:
            self._break(BrokenAnswer(f"not HTTP: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        answer = self.answer
        if answer is not None:
            if answer.status and _until_closed(answer):
                answer._complete(keep_alive=False)  # the body was all that came until the end
            elif answer.status == 0:
                answer._fail(Dropped(f"the service closed the connection ({exc!r})"))
            else:
                answer._fail(BrokenAnswer(f"the answer broke off ({exc!r})"))
        self.resume_writing()  # a body being sent finds the connection closed (drain)

    def pause_writing(self) -> None:
        if self._writable is None:
            self._writable = self.loop.create_future()

    def resume_writing(self) -> None:
        writable, self._writable = self._writable, None
        if writable is not None and not writable.done():
            writable.set_result(None)

    def _break(self, error: BaseException) -> None:
        if self.answer is not None:
            self.answer._fail(error)
        self.close()

    # httptools' callbacks

    def on_header(self, name: bytes, value: bytes | None) -> None:
        if self.answer is not None:
            self.answer._header(name, value or b"")

    def on_headers_complete(self) -> None:
        answer = self.answer
        if answer is None:
            raise BrokenAnswer("an answer nobody asked for")
        status = self.parser.get_status_code()
        if status < 200:  # an interim answer (100 Continue, 103): the real one follows
            answer.headers.clear()
            return
        answer._head(status)
        if answer._head_only:  # no body follows, and the parser cannot be told: start afresh
            answer._complete(keep_alive=False)

    def on_body(self, body: bytes) -> None:
        if self.answer is not None:
            self.answer._body(body)

    def on_message_complete(self) -> None:
        if self.answer is not None and self.answer.status >= 200:
            self.answer._complete(self.parser.should_keep_alive())


class UpstreamClient:
    """Connections to the services, kept per origin; `request` sends one and returns its
    answer once the status line and headers came."""

    def __init__(
        self,
        *,
        read_seconds: float,
        connect_seconds: float = 3.0,
        limit: int = 500,
        tracer: Tracer | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.read_seconds = read_seconds
        self.connect_seconds = connect_seconds
        self.limit = limit
        self.tracer = tracer
        self._clock = clock
        self._origins: dict[str, Origin] = {}
        self._resting: dict[Origin, list[_Connection]] = {}
        self._open = 0  # connections, resting ones included
        self._busy = 0  # exchanges under way
        self._turns: collections.deque[asyncio.Future[None]] = collections.deque()
        self._tls: ssl.SSLContext | None = None

    async def request(
        self,
        method: str,
        base: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes | StreamedBody | None = None,
        *,
        peer: str | None = None,
    ) -> Answer:
        """`method base+target` with `headers` (no Host or Content-Length: those are this
        client's) and `body`. `peer` names the service in the client span."""
        origin = self.origin(base)
        path = origin.prefix + target
        span = None
        if self.tracer is not None:
            traced = start_client_span(
                self.tracer,
                method,
                host=origin.host,
                port=origin.port,
                url=f"{'https' if origin.tls else 'http'}://{origin.netloc}{path.split('?')[0]}",
                peer=peer,
            )
            if traced is not None:
                span, context = traced
                headers = [*headers, *context.items()]
        try:
            head = _head(method, path, origin.netloc, headers, body)
        except ValueError as exc:
            if span is not None:
                fail_client_span(span, exc)
            raise
        await self._take_turn()
        try:
            answer = await self._exchange(method, origin, head, body)
        except BaseException as exc:
            self._give_turn()
            if span is not None:
                fail_client_span(span, exc)
            raise
        if span is not None:
            end_client_span(span, answer.status)
        return answer

    def origin(self, base: str) -> Origin:
        """Where `base` leads (its parts worked out once)."""
        origin = self._origins.get(base)
        if origin is None:
            origin = self._origins[base] = Origin.of(base)
        return origin

    async def close(self) -> None:
        for resting in self._resting.values():
            for connection in resting:
                connection.close()
        self._resting.clear()

    async def _exchange(
        self, method: str, origin: Origin, head: bytes, body: bytes | StreamedBody | None
    ) -> Answer:
        connection, reused = await self._connection(origin)
        try:
            return await self._send(connection, method, head, body)
        except Dropped:
            # A kept connection the service closed just as it was used: a safe request goes
            # once more, on a new one. Anything else may have been acted on.
            if not reused or method not in SAFE_METHODS:
                raise
        connection, _ = await self._connection(origin, fresh=True)
        return await self._send(connection, method, head, body)

    async def _send(
        self, connection: _Connection, method: str, head: bytes, body: bytes | StreamedBody | None
    ) -> Answer:
        answer = Answer(self, connection, head_only=method == "HEAD")
        connection.answer = answer
        transport = connection.transport
        try:
            if transport is None or transport.is_closing():
                raise Dropped("the connection closed before the request went")
            if isinstance(body, StreamedBody):
                transport.write(head)
                async with contextlib.aclosing(body.chunks()) as chunks:  # its file, at once
                    async for chunk in chunks:
                        if answer.status:  # answered before the end (refused): stop sending
                            answer._sent_whole = False  # and never use the connection again
                            break
                        await connection.drain()
                        if connection.transport is None:
                            break
                        connection.transport.write(chunk)
            else:
                transport.write(head + body if body else head)
            while answer.status == 0:
                if answer._error is not None:
                    raise answer._error
                await answer._wait()
        except ConnectionResetError as exc:
            answer._discard()
            if answer._error is not None:
                raise answer._error from None
            raise Dropped(str(exc)) from exc
        except BaseException:
            answer._discard()
            raise
        return answer

    async def _connection(self, origin: Origin, fresh: bool = False) -> tuple[_Connection, bool]:
        """A resting connection to `origin` (and True), or a new one (and False)."""
        resting = self._resting.get(origin)
        if resting and not fresh:
            too_old = self._clock() - IDLE_SECONDS
            while resting:
                connection = resting.pop()  # the most recent: the likeliest to be warm
                if connection.closed or connection.rested_since < too_old:
                    self._close(connection)
                    continue
                return connection, True
        if self._open >= self.limit:
            self._close_oldest_resting()
        loop = asyncio.get_running_loop()
        self._open += 1
        try:
            async with asyncio.timeout(self.connect_seconds):
                _, connection = await loop.create_connection(
                    lambda: _Connection(loop, origin),
                    origin.host,
                    origin.port,
                    ssl=self._tls_context() if origin.tls else None,
                    server_hostname=origin.host if origin.tls else None,
                )
        except TimeoutError as exc:
            self._open -= 1
            raise NotConnected(f"no connection to {origin.netloc} in time") from exc
        except OSError as exc:
            self._open -= 1
            raise NotConnected(f"cannot connect to {origin.netloc}: {exc}") from exc
        except BaseException:
            self._open -= 1
            raise
        return connection, False

    def _done_with(self, connection: _Connection, keep: bool) -> None:
        self._give_turn()
        connection.answer = None
        if keep and not connection.closed:
            connection.reading(True)
            connection.rested_since = self._clock()
            self._resting.setdefault(connection.origin, []).append(connection)
        else:
            self._close(connection)

    def _close(self, connection: _Connection) -> None:
        self._open -= 1
        connection.close()

    def _close_oldest_resting(self) -> None:
        oldest: list[_Connection] | None = None
        for resting in self._resting.values():
            if resting and (oldest is None or resting[0].rested_since < oldest[0].rested_since):
                oldest = resting
        if oldest:
            self._close(oldest.pop(0))

    async def _take_turn(self) -> None:
        if self._busy < self.limit and not self._turns:
            self._busy += 1
            return
        turn = asyncio.get_running_loop().create_future()
        self._turns.append(turn)
        try:
            await turn  # _give_turn counted this exchange in already
        except BaseException:
            if turn.done() and not turn.cancelled():
                self._give_turn()  # given just as the waiter was cancelled: pass it on
            else:
                self._turns.remove(turn)
            raise

    def _give_turn(self) -> None:
        while self._turns:
            turn = self._turns.popleft()
            if not turn.done():
                turn.set_result(None)  # the exchange passes to the next in line
                return
        self._busy -= 1

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls


def _until_closed(answer: Answer) -> bool:
    """Whether the answer's body is delimited by the end of the connection (no length given,
    not chunked)."""
    if answer.status in (204, 304) or answer._head_only:
        return False
    names = {name.lower() for name, _ in answer.headers}
    return "content-length" not in names and "transfer-encoding" not in names


def _head(
    method: str, path: str, netloc: str, headers: list[tuple[str, str]], body: object
) -> bytes:
    """The request line and headers as bytes, with Host and the body's length."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {netloc}"]
    for name, value in headers:
        lines.append(f"{name}: {value}")
    if isinstance(body, StreamedBody):
        lines.append(f"Content-Length: {body.size}")
    elif body:
        lines.append(f"Content-Length: {len(cast(bytes, body))}")
    elif method not in SAFE_METHODS:
        lines.append("Content-Length: 0")
    text = "\r\n".join(lines)
    breaks = len(lines) - 1
    if text.count("\n") != breaks or text.count("\r") != breaks:
        raise ValueError("a header holds a line break")
    return (text + "\r\n\r\n").encode("latin-1")
