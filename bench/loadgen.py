"""A small HTTP load generator: N keep-alive connections sending GETs.

Closed loop by default: each connection sends its next request as soon as the previous one is
answered, so latency at saturation is set by throughput (Little's law). With `rate` set, the N
clients are paced: together they offer `rate` requests per second on a fixed schedule, and each
latency is counted from the moment the request was due, not from when it was sent, so a slow
server cannot hide its queue by slowing the clients down (no coordinated omission).

Run as its own process (`python -m bench.loadgen`) so it shares no interpreter with the servers.
It reads one JSON object on stdin (see `Spec`) and prints one JSON object (see `Result`) on
stdout. Only 127.0.0.1 is accepted, every run is bounded in time and in request count, and
every response must be 200: anything else, or a failed request, counts as an error.

Latency is measured from just before the request is written to the last body byte;
throughput and latency count the requests that complete inside the measured window (after
the warm-up).

Two engines send the requests. `raw` (the default) keeps each connection as an asyncio
protocol, writes a request prepared once as bytes and parses the answer with httptools, the
parser uvicorn uses: a quarter to a half of aiohttp's CPU per request. That matters here because
the load generator shares the machine's two cores with what it measures: CPU it spends is CPU
the servers do not get. `aiohttp` is the client earlier figures were measured with.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, cast
from urllib.parse import urlparse, urlsplit

import aiohttp
import httptools

ALLOWED_HOSTS = frozenset({"127.0.0.1"})
MAX_CONCURRENCY = 1024
MAX_SECONDS = 600.0
REQUEST_TIMEOUT_SECONDS = 10.0
CONNECT_TIMEOUT_SECONDS = 3.0
ENGINES = ("raw", "aiohttp")


@dataclass(frozen=True)
class Spec:
    url: str
    # Optional: requests cycle through these instead of `url` (e.g. many different records).
    urls: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    concurrency: int = 32
    warmup_seconds: float = 2.0
    duration_seconds: float = 8.0
    max_requests: int = 2_000_000
    # Optional: offered load in requests per second shared by all clients (open loop).
    rate: float | None = None
    engine: str = "raw"

    def check(self) -> None:
        for url in (self.url, *self.urls):
            parsed = urlparse(url)
            if parsed.scheme != "http" or parsed.hostname not in ALLOWED_HOSTS:
                raise ValueError(f"only http://127.0.0.1 targets are allowed, not {url!r}")
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {self.engine!r}")
        if len({urlparse(url).port for url in (self.url, *self.urls)}) > 1:
            raise ValueError("every target must be on the same port (one connection pool)")
        if not 1 <= self.concurrency <= MAX_CONCURRENCY:
            raise ValueError(f"concurrency must be within 1..{MAX_CONCURRENCY}")
        if self.warmup_seconds < 0 or self.duration_seconds <= 0:
            raise ValueError("warm-up must be >= 0 and duration > 0")
        if self.warmup_seconds + self.duration_seconds > MAX_SECONDS:
            raise ValueError(f"a run may last at most {MAX_SECONDS:.0f} s")
        if self.max_requests < 1:
            raise ValueError("max_requests must be positive")
        if self.rate is not None and not 0 < self.rate <= 100_000:
            raise ValueError("rate must be within 0..100000 requests per second")


@dataclass
class Result:
    url: str
    concurrency: int
    engine: str
    rate: float | None  # offered requests per second, None for closed loop
    duration_seconds: float  # the measured window actually covered
    requests: int  # 200s that completed inside the window
    errors: int  # warm-up included
    error_kinds: dict[str, int]
    total_requests: int  # every completed request, warm-up included (for CPU per request)
    requests_per_second: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    loadgen_cpu_seconds: float  # this process, whole run
    capped: bool  # max_requests was reached before the end of the window


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list (0.0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), round(fraction * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


class RequestFailed(Exception):
    """The connection broke, or the answer was not HTTP, before the response was complete."""


class RawConnection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection for the `raw` engine: a prepared request written in
    one piece, its answer parsed by httptools and its body dropped; one request at a time."""

    timeout_seconds = REQUEST_TIMEOUT_SECONDS  # for each request's whole answer

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[int] | None = None
        self.reusable = True

    @classmethod
    async def open(cls, host: str, port: int) -> RawConnection:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS):
            _, connection = await loop.create_connection(cls, host, port)
        return connection

    async def request(self, data: bytes) -> int:
        """Sends `data` and waits for the whole answer: its status code."""
        if self.transport is None or not self.reusable:
            raise RequestFailed("connection not reusable")
        loop = asyncio.get_running_loop()
        self.waiter = waiter = loop.create_future()
        # A timer handle, not asyncio.timeout(): this runs once per request, and is cheaper.
        timer = loop.call_later(self.timeout_seconds, self._time_out, waiter)
        self.transport.write(data)
        try:
            return await waiter
        finally:
            timer.cancel()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its methods.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(RequestFailed(f"not HTTP: {exc}"))

    def eof_received(self) -> bool | None:
        self._fail(RequestFailed("connection closed by the server"))
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self._fail(RequestFailed("connection lost") if exc is None else exc)

    # httptools callbacks

    def on_message_complete(self) -> None:
        self.reusable = self.parser.should_keep_alive()
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(self.parser.get_status_code())

    def _fail(self, exc: Exception) -> None:
        self.reusable = False
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        self.close()

    def _time_out(self, waiter: asyncio.Future[int]) -> None:
        if waiter is self.waiter:
            self._fail(TimeoutError())


def prepared_get(url: str, headers: dict[str, str]) -> bytes:
    """The bytes of `GET url` with `headers`, as the raw engine writes them."""
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [f"GET {target} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class _Run:
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.latencies: list[float] = []
        self.errors: Counter[str] = Counter()
        self.total = 0
        self.capped = False
        self.window_start = 0.0
        self.window_end = 0.0
        targets = spec.urls or [spec.url]
        self.prepared = [prepared_get(url, spec.headers) for url in targets]
        first = urlparse(targets[0])
        self.address = (first.hostname or "127.0.0.1", first.port or 80)

    async def worker(self, session: aiohttp.ClientSession | None, index: int) -> None:
        spec, clock = self.spec, time.perf_counter
        headers, targets = spec.headers, spec.urls or [spec.url]
        connection: RawConnection | None = None
        # Paced: client `index` is due every `interval` seconds, offset so clients interleave.
        interval = spec.concurrency / spec.rate if spec.rate else 0.0
        due = self.window_start - spec.warmup_seconds + interval * index / spec.concurrency
        try:
            while True:
                turn = self.total % len(targets)
                if interval:
                    if (wait := due - clock()) > 0:
                        await asyncio.sleep(wait)
                    started, due = due, due + interval
                else:
                    started = clock()
                if started >= self.window_end:
                    return
                if self.total >= spec.max_requests:
                    self.capped = True
                    return
                error: str | None = None
                try:
                    if session is not None:
                        status = await self._aiohttp_get(session, targets[turn], headers)
                    else:
                        connection = await self._reusable(connection)
                        status = await connection.request(self.prepared[turn])
                    if status != 200:
                        error = f"status {status}"
                except (aiohttp.ClientError, OSError, TimeoutError, RequestFailed) as exc:
                    error = type(exc).__name__
                finished = clock()
                self.total += 1
                if error is not None:
                    self.errors[error] += 1  # warm-up included: every error is reported
                elif self.window_start <= finished <= self.window_end:
                    self.latencies.append(finished - started)
        finally:
            if connection is not None:
                connection.close()

    async def _reusable(self, connection: RawConnection | None) -> RawConnection:
        """`connection` if it can take another request, else a new one in its place."""
        if connection is not None and connection.reusable:
            return connection
        if connection is not None:
            connection.close()
        return await RawConnection.open(*self.address)

    @staticmethod
    async def _aiohttp_get(
        session: aiohttp.ClientSession, url: str, headers: dict[str, str]
    ) -> int:
        async with session.get(url, headers=headers, allow_redirects=False) as response:
            await response.read()
            return response.status

    async def run(self) -> Result:
        spec = self.spec
        cpu_before = _cpu_seconds()
        async with contextlib.AsyncExitStack() as stack:
            session = None
            if spec.engine == "aiohttp":
                session = await stack.enter_async_context(
                    aiohttp.ClientSession(
                        connector=aiohttp.TCPConnector(limit=spec.concurrency, force_close=False),
                        timeout=aiohttp.ClientTimeout(
                            total=REQUEST_TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS
                        ),
                        cookie_jar=aiohttp.DummyCookieJar(),
                        auto_decompress=False,
                        raise_for_status=False,
                    )
                )
            now = time.perf_counter()
            self.window_start = now + spec.warmup_seconds
            self.window_end = self.window_start + spec.duration_seconds
            workers = [
                asyncio.create_task(self.worker(session, index))
                for index in range(spec.concurrency)
            ]
            bound = spec.warmup_seconds + spec.duration_seconds + REQUEST_TIMEOUT_SECONDS + 5
            async with asyncio.timeout(bound):
                await asyncio.gather(*workers)
        covered = min(time.perf_counter(), self.window_end) - self.window_start
        latencies = sorted(self.latencies)
        ms = 1000.0
        return Result(
            url=spec.url,
            concurrency=spec.concurrency,
            engine=spec.engine,
            rate=spec.rate,
            duration_seconds=round(covered, 3),
            requests=len(latencies),
            errors=sum(self.errors.values()),
            error_kinds=dict(self.errors),
            total_requests=self.total,
            requests_per_second=len(latencies) / covered if covered > 0 else 0.0,
            p50_ms=percentile(latencies, 0.50) * ms,
            p90_ms=percentile(latencies, 0.90) * ms,
            p99_ms=percentile(latencies, 0.99) * ms,
            max_ms=(latencies[-1] * ms) if latencies else 0.0,
            loadgen_cpu_seconds=_cpu_seconds() - cpu_before,
            capped=self.capped,
        )


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _event_loop_runner() -> Any:
    """uvloop when available (it is: uvicorn[standard] brings it): a leaner client."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        return asyncio.run
    return uvloop.run


def main() -> None:
    raw: dict[str, Any] = json.load(sys.stdin)
    spec = Spec(**raw)
    spec.check()
    result = _event_loop_runner()(_Run(spec).run())
    json.dump(asdict(result), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
