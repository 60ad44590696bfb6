"""Rating lookups must not slow down as credit history grows.

    .venv/bin/python -m bench.credit_ratings [--rounds 2] [--duration 8] [--rates 100,200]

Measures authenticated `GET /api/credit/v1/subjects/{id}/rating` through the gateway, cycling
over 500 sampled subjects, on two stacks side by side: one on a database with 1,000 subjects
and 10,000 records (the baseline), one on a database with 100,000 subjects and 1,000,000
records (`bench.credit_load`; the same first 1,000 plus the rest). The two are measured in
alternating rounds (baseline then full, full then baseline, ...), so a machine that speeds up
or slows down during the run weighs on both alike.

Each measurement uses 32 clients, closed loop (every client sends its next request as soon as
it has an answer: the throughput) and then paced at each of `--rates` (the clients together
offer that many requests per second, latency counted from when each request was due: the
latency a user sees below saturation). Prints every measurement with the CPU a lookup cost, the
throughput ratio full/baseline over all rounds (target >= 0.9) and the worst paced p99 with the
full history (target < 50 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import secrets
import sys
from dataclasses import dataclass, field
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

PURPOSE = "bench%3A%20rating%20lookups"
DATABASES = {"baseline": "sciplan_credit_bench_small", "full": "sciplan_credit_bench_full"}
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
    # The admin reads other people's ratings: each read states its purpose and is logged.
    urls = [
        f"{stack.gateway_url}/api/credit/v1/subjects/{s}/rating?purpose={PURPOSE}" for s in subjects
    ]
    spec = {
        "url": urls[0],
        "urls": urls,
        "headers": {"Authorization": f"Bearer {token}"},
        "concurrency": args.concurrency,
        "warmup_seconds": args.warmup,
        "duration_seconds": args.duration,
        "rate": rate,
    }
    result, result["cpu_ms"] = run_load(spec, meter)
    result["label"] = f"{label}, " + (f"paced {rate:g}/s" if rate else "closed loop")
    return result


@dataclass
class History:
    """One stack on its own database, with the subjects sampled for lookups."""

    name: str
    stack: Stack
    meter: CpuMeter
    sample: list[str]
    label: str = ""
    runs: list[dict[str, Any]] = field(default_factory=list)


def _drop(server_url: str, database: str) -> None:
    asyncio.run(drop_database(server_url, database))


def _start(name: str, database_url: str, ports: list[int], password: str) -> History:
    extra_env = {f"SCIPLAN_{service.upper()}_LOG_LEVEL": "WARNING" for service in SERVICES}
    extra_env["SCIPLAN_GATEWAY_RATE_LIMITS"] = json.dumps(RATE_LIMITS)
    stack = Stack(
        database_url=database_url,
        ports=dict(zip(SERVICES, ports, strict=True)),
        log_dir=LOG_DIR / name,
        extra_env=extra_env,
    )
    stack.prepare(password)
    return History(name, stack, CpuMeter({}, None), [])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (2)")
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
        password = secrets.token_urlsafe(16)
        ports = free_ports(2 * len(SERVICES))
        histories = []
        for index, (name, database) in enumerate(DATABASES.items()):
            url = asyncio.run(create_database(server_url, database, drop_first=True))
            cleanup.callback(_drop, server_url, database)
            say(f"{name}: migrating, creating accounts, loading 1,000 subjects, 10,000 records ...")
            mine = ports[index * len(SERVICES) : (index + 1) * len(SERVICES)]
            history = _start(name, url, mine, password)
            cleanup.callback(history.stack.stop)
            _, subjects, records = asyncio.run(load(url, 1_000, 10_000, seed=1))
            if name == "full":
                more_subjects, more_records = args.subjects - 1_000, args.records - 10_000
                say(f"full: loading {more_subjects:,} more subjects, {more_records:,} records ...")
                seconds, subjects, records = asyncio.run(
                    load(url, more_subjects, more_records, seed=2)
                )
                say(f"loaded in {seconds:.0f} s")
            history.label = f"{subjects // 1000}k / {records // 1000}k"
            history.sample = asyncio.run(_sample(url, SAMPLE, seed=index + 1))
            histories.append(history)
        for history in histories:
            history.stack.start_all()
        for history in histories:
            history.stack.wait_ready()
            pids = {name: process.pid for name, process in history.stack.processes.items()}
            history.meter = CpuMeter(
                pids, postmaster_pid(data_dir) if data_dir is not None else None
            )
        for round_ in range(1, args.rounds + 1):
            # ABBA: each history goes first in every other round, so neither always follows the
            # other (or the load) and a steady drift of the machine cancels out over two rounds.
            for history in histories if round_ % 2 else histories[::-1]:
                say(f"round {round_}: measuring {history.name} ({history.label}) ...")
                label = f"{round_}: {history.label}"
                for rate in (None, *args.rates):
                    history.runs.append(
                        _phase(
                            label,
                            history.stack,
                            password,
                            history.sample,
                            history.meter,
                            args,
                            rate,
                        )
                    )

    print(
        f"rating lookups through the gateway, {args.concurrency} connections, "
        f"{args.duration:g} s measured after {args.warmup:g} s warm-up each, {args.rounds} "
        "alternating rounds (2 cores, shared with the load generator and PostgreSQL)"
    )
    print(
        f"{'round: subjects / records, load':<40}{'req/s':>8}{'p50 ms':>10}{'p99 ms':>10}"
        f"{'errors':>8}{'CPU ms/req: credit':>20}{'gateway':>9}{'postgres':>10}"
    )
    by_round = sorted(
        (run for history in histories for run in history.runs),
        key=lambda run: int(run["label"].split(":")[0]),
    )
    for run in by_round:
        cpu = run["cpu_ms"]
        print(
            f"{run['label']:<40}{run['requests_per_second']:>8.0f}{run['p50_ms']:>10.1f}"
            f"{run['p99_ms']:>10.1f}{run['errors']:>8}"
            f"{cpu['credit']:>20.2f}{cpu['gateway']:>9.2f}{cpu['postgres']:>10.2f}"
        )
    baseline, full = histories

    def closed(history: History) -> list[dict[str, Any]]:
        return [run for run in history.runs if run["rate"] is None]

    ratios = [
        f["requests_per_second"] / b["requests_per_second"]
        for b, f in zip(closed(baseline), closed(full), strict=True)
    ]
    ratio = sum(r["requests_per_second"] for r in closed(full)) / sum(
        r["requests_per_second"] for r in closed(baseline)
    )
    worst = {
        rate: max(run["p99_ms"] for run in full.runs if run["rate"] == rate) for rate in args.rates
    }
    paced = ", ".join(f"{p99:.1f} ms at {rate:g}/s" for rate, p99 in worst.items())
    print(
        f"throughput ratio full/baseline over the rounds: {ratio:.2f} (target >= 0.90; per round "
        + ", ".join(f"{r:.2f}" for r in ratios)
        + f"); worst p99 with the full history, paced: {paced} (target < 50); closed loop: "
        + ", ".join(f"{run['p99_ms']:.1f}" for run in closed(full))
        + " ms (32 clients always waiting: latency is about 32 / throughput)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
