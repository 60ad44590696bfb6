"""Each response in one write (`shared/http_server.py`) against uvicorn's stock httptools
protocol, on the same bare hello app, in the same run.

    .venv/bin/python -m bench.http_protocol [--rounds 4] [--duration 5] [--warmup 1]

Starts `bench.hello` twice, once per protocol, and loads them in turns with `bench.loadgen`
(32 keep-alive connections), so a box that speeds up or slows down during the run affects both
alike. Prints, per round and as medians, requests per second and the CPU milliseconds per
request of the server and of the load generator, and the one-write figures as ratios to the
stock ones.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

from bench.gateway_overhead import (
    HOST,
    LOG_DIR,
    ROOT,
    CpuMeter,
    _die_with_parent,
    free_ports,
    run_load,
    stop_process,
    wait_http_ok,
)

PROTOCOLS = {"stock": [], "one-write": ["--one-write"]}


def start(port: int, flags: list[str], log_dir: Path) -> subprocess.Popen[bytes]:
    log_dir.mkdir(parents=True, exist_ok=True)
    with (log_dir / "hello.log").open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "bench.hello", str(port), *flags],
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.http_protocol")
    parser.add_argument("--rounds", type=int, default=4, help="turns of both protocols (4)")
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds (5)")
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds (1)")
    args = parser.parse_args(argv)
    if not 1 <= args.rounds <= 20 or not 0 < args.duration <= 60:
        parser.error("--rounds must be within 1..20 and --duration within (0, 60]")
    ports = dict(zip(PROTOCOLS, free_ports(len(PROTOCOLS)), strict=True))
    servers = {name: start(ports[name], flags, LOG_DIR) for name, flags in PROTOCOLS.items()}
    rows: dict[str, list[tuple[float, float, float]]] = {name: [] for name in PROTOCOLS}
    try:
        for name, server in servers.items():
            wait_http_ok(f"http://{HOST}:{ports[name]}/hello", server)
        meter = CpuMeter({name: server.pid for name, server in servers.items()}, None)
        for round_ in range(1, args.rounds + 1):
            for name in PROTOCOLS:
                spec = {
                    "url": f"http://{HOST}:{ports[name]}/hello",
                    "concurrency": 32,
                    "warmup_seconds": args.warmup,
                    "duration_seconds": args.duration,
                }
                result, cpu = run_load(spec, meter)
                row = (result["requests_per_second"], cpu[name], cpu["loadgen"])
                rows[name].append(row)
                print(
                    f"round {round_}: {name:<10} {row[0]:>8.0f} req/s  server {row[1]:.3f} ms"
                    f"  loadgen {row[2]:.3f} ms  others {result['others_cpus']:.2f}",
                    flush=True,
                )
    finally:
        for server in servers.values():
            stop_process(server)
    medians = {
        name: tuple(statistics.median(row[i] for row in found) for i in range(3))
        for name, found in rows.items()
    }
    stock, one = medians["stock"], medians["one-write"]
    print(f"\nmedians of {args.rounds} round(s), hello app, 32 connections:")
    print(f"{'protocol':<12}{'req/s':>9}{'server ms':>11}{'loadgen ms':>12}")
    for name, (rate, server_ms, loadgen_ms) in medians.items():
        print(f"{name:<12}{rate:>9.0f}{server_ms:>11.3f}{loadgen_ms:>12.3f}")
    print(
        f"one-write / stock: throughput {one[0] / stock[0]:.2f}, server CPU"
        f" {one[1] / stock[1]:.2f}, load generator CPU {one[2] / stock[2]:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
