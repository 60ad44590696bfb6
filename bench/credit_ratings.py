"""Rating lookups must not slow down as credit history grows.

    .venv/bin/python -m bench.credit_ratings [--duration 8] [--warmup 2] [--rates 100,200]

Measures authenticated `GET /api/credit/v1/subjects/{id}/rating` through the gateway, cycling
over a sample of subjects, first with 1,000 subjects and 10,000 records (the baseline), then
again after loading up to 100,000 subjects and 1,000,000 records (`bench.credit_load`), in the
same run. Each history is measured with 32 clients, closed loop (every client sends its next
request as soon as it has an answer: the throughput) and then paced at each of `--rates` (the
clients together offer that many requests per second, latency counted from when each request
was due: the latency a user sees below saturation). Prints each with the CPU a lookup cost,
the throughput ratio (target >= 0.9) and the paced p99 (target < 50 ms)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import secrets
import sys
from typing import Any

import asyncpg

from bench.credit_load import load
from bench.gateway_overhead import (
    LOG_DIR,
    RATE_LIMITS,
    CpuMeter,
    free_ports,
    login,
    postgres_server,
    postmaster_pid,
    run_load,
)
from sciplan.stack import SERVICES, Stack
from shared.db import asyncpg_dsn
from shared.devdb import create_database, drop_database

DATABASE = "sciplan_credit_bench"
SAMPLE = 500


async def _sample(database_url: str, size: int, seed: int) -> list[str]:
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        ids = [str(r["id"]) for r in await conn.fetch("SELECT id FROM credit.subjects")]
    finally:
        await conn.close()
    return random.Random(seed).sample(ids, min(size, len(ids)))


def _phase(
    label: str,
    stack: Stack,
    password: str,
    subjects: list[str],
    meter: CpuMeter,
    args: argparse.Namespace,
    rate: float | None = None,
) -> dict[str, Any]:
    token = login(stack.gateway_url, password)
    spec = {
        "url": f"{stack.gateway_url}/api/credit/v1/subjects/{subjects[0]}/rating",
        "urls": [f"{stack.gateway_url}/api/credit/v1/subjects/{s}/rating" for s in subjects],
        "headers": {"Authorization": f"Bearer {token}"},
        "concurrency": args.concurrency,
        "warmup_seconds": args.warmup,
        "duration_seconds": args.duration,
        "rate": rate,
    }
    result, result["cpu_ms"] = run_load(spec, meter)
    result["label"] = f"{label}, " + (f"paced {rate:g}/s" if rate else "closed loop")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--rates",
        type=lambda text: [float(rate) for rate in text.split(",")],
        default=[100.0, 200.0],
        help="paced offered loads to measure, req/s, comma-separated (default 100,200)",
    )
    parser.add_argument("--subjects", type=int, default=100_000)
    parser.add_argument("--records", type=int, default=1_000_000)
    args = parser.parse_args(argv)

    def say(message: str) -> None:
        print(f"# {message}", file=sys.stderr, flush=True)

    with contextlib.ExitStack() as cleanup:
        server_url, data_dir = cleanup.enter_context(postgres_server())
        database_url = asyncio.run(create_database(server_url, DATABASE, drop_first=True))
        cleanup.callback(lambda: asyncio.run(drop_database(server_url, DATABASE)))
        extra_env = {f"SCIPLAN_{name.upper()}_LOG_LEVEL": "WARNING" for name in SERVICES}
        extra_env["SCIPLAN_GATEWAY_RATE_LIMITS"] = json.dumps(RATE_LIMITS)
        stack = Stack(
            database_url=database_url,
            ports=dict(zip(SERVICES, free_ports(len(SERVICES)), strict=True)),
            log_dir=LOG_DIR,
            extra_env=extra_env,
        )
        password = secrets.token_urlsafe(16)
        say("migrating, creating accounts ...")
        stack.prepare(password)
        cleanup.callback(stack.stop)

        say("loading the baseline: 1,000 subjects, 10,000 records ...")
        asyncio.run(load(database_url, 1_000, 10_000, seed=1))
        stack.start_all()
        stack.wait_ready(timeout=60)
        pids = {name: process.pid for name, process in stack.processes.items()}
        meter = CpuMeter(pids, postmaster_pid(data_dir) if data_dir is not None else None)
        small_sample = asyncio.run(_sample(database_url, SAMPLE, seed=1))
        say("measuring the baseline ...")
        small = _phase("1k / 10k", stack, password, small_sample, meter, args)
        small_paced = [
            _phase("1k / 10k", stack, password, small_sample, meter, args, rate)
            for rate in args.rates
        ]

        more_subjects, more_records = args.subjects - 1_000, args.records - 10_000
        say(f"loading {more_subjects:,} more subjects and {more_records:,} more records ...")
        seconds, total_subjects, total_records = asyncio.run(
            load(database_url, more_subjects, more_records, seed=2)
        )
        say(f"loaded in {seconds:.0f} s")
        big_sample = asyncio.run(_sample(database_url, SAMPLE, seed=2))
        say("measuring with the full history ...")
        label = f"{total_subjects // 1000}k / {total_records // 1000}k"
        big = _phase(label, stack, password, big_sample, meter, args)
        big_paced = [
            _phase(label, stack, password, big_sample, meter, args, rate) for rate in args.rates
        ]

    print(
        f"rating lookups through the gateway, {args.concurrency} connections, "
        f"{args.duration:g} s measured after {args.warmup:g} s warm-up (2 cores, shared with "
        "the load generator and PostgreSQL)"
    )
    print(
        f"{'subjects / records, load':<36}{'req/s':>8}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}"
        f"{'CPU ms/req: credit':>20}{'gateway':>9}{'postgres':>10}"
    )
    for run in (small, *small_paced, big, *big_paced):
        cpu = run["cpu_ms"]
        print(
            f"{run['label']:<36}{run['requests_per_second']:>8.0f}{run['p50_ms']:>10.1f}"
            f"{run['p99_ms']:>10.1f}{run['errors']:>8}"
            f"{cpu['credit']:>20.2f}{cpu['gateway']:>9.2f}{cpu['postgres']:>10.2f}"
        )
    ratio = big["requests_per_second"] / small["requests_per_second"]
    paced = ", ".join(f"{run['p99_ms']:.1f} ms at {run['rate']:g}/s" for run in big_paced)
    print(
        f"throughput ratio full/baseline: {ratio:.2f} (target >= 0.90); p99 with the full "
        f"history, paced: {paced} (target < 50); closed loop: {big['p99_ms']:.1f} ms "
        f"(32 clients always waiting: latency is about 32 / throughput)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
