"""How fast SciPlan starts: each service alone, the whole stack at once, and `make run`, next to
a bare FastAPI app started the same way, measured in the same run.

    .venv/bin/python -m bench.startup [--rounds 3] [--skip-dev] [--json PATH]

Time to ready is the wall time from starting a process to its first 200 on the readiness
probe (`/readyz`; `/hello` for the bare app), polled every 20 ms. CPU seconds and peak RSS are
the process's own at that moment. Each service is started alone (the others stopped), on a
fresh database `sciplan_bench_startup` of the embedded PostgreSQL under .sciplan/bench-pg (or
SCIPLAN_DATABASE_URL's server), migrated once before. Then all six start together, as
`sciplan dev` starts them. Last, `sciplan dev` itself runs in .sciplan/bench-dev (a first start
there bootstraps its database, not measured) and the start measured is from the command to
its banner. Every process is stopped at the end, also on Ctrl-C or an error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import resource
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.gateway_overhead import (
    HOST,
    ROOT,
    cpu_seconds,
    free_ports,
    postgres_server,
    start_hello,
    stop_process,
)
from sciplan.stack import SERVICES, Stack
from shared.devdb import create_database, drop_database
from shared.migrate import URL_VARIABLE

LOG_DIR = ROOT / ".sciplan" / "bench-logs"
DEV_DIR = ROOT / ".sciplan" / "bench-dev"
DATABASE = "sciplan_bench_startup"
POLL_SECONDS = 0.02
DEADLINE_SECONDS = 300.0


@dataclass
class Start:
    """One process started and seen ready."""

    name: str
    seconds: float  # wall, from the start to the first ready answer
    cpu_seconds: float
    peak_rss_mb: float


def peak_rss_mb(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def time_to_ready(name: str, process: subprocess.Popen[bytes], url: str, started: float) -> Start:
    while not answers(url):
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with code {process.returncode} while starting")
        if time.monotonic() - started > DEADLINE_SECONDS:
            raise TimeoutError(f"{name} not ready after {DEADLINE_SECONDS:g} s")
        time.sleep(POLL_SECONDS)
    seconds = time.monotonic() - started
    return Start(name, seconds, cpu_seconds(process.pid), peak_rss_mb(process.pid))


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def measure_alone(
    stack: Stack, hello_port: int, rounds: int, say: Callable[[str], None]
) -> list[Start]:
    starts: list[Start] = []
    for round_no in range(1, rounds + 1):
        say(f"round {round_no}/{rounds}: each process alone ...")
        started = time.monotonic()
        hello = start_hello(hello_port, LOG_DIR)
        try:
            starts.append(
                time_to_ready("hello", hello, f"http://{HOST}:{hello_port}/hello", started)
            )
        finally:
            stop_process(hello)
        for service in SERVICES:
            started = time.monotonic()
            stack.start(service)
            try:
                process = stack.processes[service]
                starts.append(
                    time_to_ready(service, process, f"{stack.url(service)}/readyz", started)
                )
            finally:
                stack.stop()
    return starts


def measure_together(stack: Stack, rounds: int, say: Callable[[str], None]) -> list[Start]:
    starts: list[Start] = []
    for round_no in range(1, rounds + 1):
        say(f"round {round_no}/{rounds}: all six together ...")
        started = time.monotonic()
        stack.start_all()
        try:
            stack.wait_ready()
            seconds = time.monotonic() - started
            cpu = sum(cpu_seconds(p.pid) for p in stack.processes.values())
            rss = sum(peak_rss_mb(p.pid) for p in stack.processes.values())
            starts.append(Start("all six", seconds, cpu, rss))
        finally:
            stack.stop()
    return starts


def run_dev(port: int, password: str) -> Start:
    """`sciplan dev` in DEV_DIR, from the command to its banner, then Ctrl-C."""
    env = {k: v for k, v in os.environ.items() if k != URL_VARIABLE}
    env["SCIPLAN_ADMIN_PASSWORD"] = password
    logs = str(DEV_DIR / "logs")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "sciplan.cli", "dev", "--ports-from", str(port), "--log-dir", logs],
        cwd=DEV_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # Ctrl-C reaches only us; it is stopped below
    )
    seconds = None
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if "Ctrl-C stops everything" in line:
                seconds = time.monotonic() - started
                break
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if seconds is None:
        raise RuntimeError(f"sciplan dev did not start (logs in {DEV_DIR / 'logs'})")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Start("sciplan dev", seconds, cpu, after.ru_maxrss / 1024)


def measure_dev(rounds: int, say: Callable[[str], None]) -> list[Start]:
    DEV_DIR.mkdir(parents=True, exist_ok=True)
    port = free_ports(1)[0]
    password = secrets.token_urlsafe(16)
    if not (DEV_DIR / ".sciplan" / "pgdata").exists():
        say("sciplan dev: first start (creates its database; not measured) ...")
        run_dev(port, password)
    starts = []
    for round_no in range(1, rounds + 1):
        say(f"round {round_no}/{rounds}: sciplan dev, to its banner ...")
        starts.append(run_dev(port, password))
    return starts


def measure(args: argparse.Namespace, say: Callable[[str], None]) -> list[Start]:
    with contextlib.ExitStack() as cleanup:
        say("starting PostgreSQL ...")
        server_url, _ = cleanup.enter_context(postgres_server())
        database_url = asyncio.run(create_database(server_url, DATABASE, drop_first=True))
        cleanup.callback(lambda: asyncio.run(drop_database(server_url, DATABASE)))
        ports = dict(zip((*SERVICES, "hello"), free_ports(len(SERVICES) + 1), strict=True))
        stack = Stack(
            database_url=database_url,
            ports={name: ports[name] for name in SERVICES},
            host=HOST,
            log_dir=LOG_DIR,
            extra_env={f"SCIPLAN_{name.upper()}_LOG_LEVEL": "WARNING" for name in SERVICES},
        )
        say("migrating, creating accounts ...")
        stack.prepare(secrets.token_urlsafe(16))
        cleanup.callback(stack.stop)
        starts = measure_alone(stack, ports["hello"], args.rounds, say)
        starts += measure_together(stack, args.rounds, say)
    if not args.skip_dev:
        starts += measure_dev(args.dev_rounds, say)
    return starts


def report(starts: list[Start], load_before: str, load_after: str) -> str:
    names = list(dict.fromkeys(start.name for start in starts))

    def median(name: str, key: str) -> float:
        return statistics.median(float(getattr(s, key)) for s in starts if s.name == name)

    hello = median("hello", "seconds")
    hello_cpu = median("hello", "cpu_seconds")
    rounds = max(sum(1 for s in starts if s.name == name) for name in names)
    lines = [
        "",
        f"SciPlan start-up  {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC  {platform.node()}"
        f"  {os.cpu_count()} CPUs  Python {platform.python_version()}",
        f"medians of up to {rounds} round(s); load average before {load_before}, after {load_after}"
        f"; PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r}",
        "",
        f"{'process':<14}{'ready s':>9}{'vs hello':>10}{'CPU s':>8}{'CPU vs hello':>14}"
        f"{'peak RSS MB':>13}",
    ]
    for name in names:
        seconds, cpu = median(name, "seconds"), median(name, "cpu_seconds")
        lines.append(
            f"{name:<14}{seconds:>9.2f}{seconds / hello:>10.1f}{cpu:>8.2f}{cpu / hello_cpu:>14.1f}"
            f"{median(name, 'peak_rss_mb'):>13.0f}"
        )
    lines += [
        "",
        "ready s: wall seconds from start to the first ready answer; CPU s: the process's own",
        "(for 'all six' the sum of the six; for 'sciplan dev' the command and every process it",
        "waited for, PostgreSQL aside); peak RSS: the process's (sum; the largest child's).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3, help="starts per process (median)")
    parser.add_argument("--dev-rounds", type=int, default=1, help="measured `sciplan dev` starts")
    parser.add_argument("--skip-dev", action="store_true", help="leave `sciplan dev` out")
    parser.add_argument("--json", type=Path, help="write every start measured here")
    parser.add_argument("--fresh-dev", action="store_true", help="bootstrap bench-dev again")
    args = parser.parse_args()

    def say(text: str) -> None:
        print(f"[{dt.datetime.now(dt.UTC):%H:%M:%S}] {text}", file=sys.stderr, flush=True)

    if args.fresh_dev:
        shutil.rmtree(DEV_DIR, ignore_errors=True)
    load_before = load_average()
    starts = measure(args, say)
    print(report(starts, load_before, load_average()))
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(s) for s in starts], indent=2))


if __name__ == "__main__":
    main()
