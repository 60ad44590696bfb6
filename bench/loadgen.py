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

Latency is measured from just before the request is handed to aiohttp to the last body byte;
throughput and latency count the requests that complete inside the measured window (after
the warm-up).
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlparse

import aiohttp

ALLOWED_HOSTS = frozenset({"127.0.0.1"})
MAX_CONCURRENCY = 1024
MAX_SECONDS = 600.0
REQUEST_TIMEOUT_SECONDS = 10.0


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

    def check(self) -> None:
        for url in (self.url, *self.urls):
            parsed = urlparse(url)
            if parsed.scheme != "http" or parsed.hostname not in ALLOWED_HOSTS:
                raise ValueError(f"only http://127.0.0.1 targets are allowed, not {url!r}")
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


class _Run:
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.latencies: list[float] = []
        self.errors: Counter[str] = Counter()
        self.total = 0
        self.capped = False
        self.window_start = 0.0
        self.window_end = 0.0

    async def worker(self, session: aiohttp.ClientSession, index: int) -> None:
        spec, clock = self.spec, time.perf_counter
        headers, targets = spec.headers, spec.urls or [spec.url]
        # Paced: client `index` is due every `interval` seconds, offset so clients interleave.
        interval = spec.concurrency / spec.rate if spec.rate else 0.0
        due = self.window_start - spec.warmup_seconds + interval * index / spec.concurrency
        while True:
            url = targets[self.total % len(targets)]
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
                async with session.get(url, headers=headers, allow_redirects=False) as response:
                    await response.read()
                    if response.status != 200:
                        error = f"status {response.status}"
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                error = type(exc).__name__
            finished = clock()
            self.total += 1
            if error is not None:
                self.errors[error] += 1  # warm-up included: every error is reported
            elif self.window_start <= finished <= self.window_end:
                self.latencies.append(finished - started)

    async def run(self) -> Result:
        spec = self.spec
        connector = aiohttp.TCPConnector(limit=spec.concurrency, force_close=False)
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS, connect=3)
        cpu_before = _cpu_seconds()
        async with aiohttp.ClientSession(
            connector=connector,
            timeout=timeout,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            raise_for_status=False,
        ) as session:
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
