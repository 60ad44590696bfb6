"""What the gateway costs: one authenticated, DB-backed read through it, straight to the service,
and a bare FastAPI hello as the ceiling, measured in the same run.

    .venv/bin/python -m bench.gateway_overhead [--duration 8] [--warmup 2] [--concurrency 32]
                                               [--rounds 5] [--tracing] [--loadgen raw|aiohttp]

Starts a PostgreSQL (embedded under .sciplan/bench-pg unless SCIPLAN_DATABASE_URL names a
server), a fresh database `sciplan_bench`, the services as `make run` does (log level INFO,
as people run them, so the access log's cost counts; gateway rate limits raised so they never
refuse but still run), and the hello app;
logs in as admin, waits until the credit service knows the admin, then drives each scenario
with `bench.loadgen` in a process of its own. Everything is stopped at the end, also on
Ctrl-C or an error.

With `--tracing`, a second gateway and credit service run beside the first, on the same
database, tracing every request and exporting to an OTLP collector in this process (it
decodes and counts what it receives), so that the cost of tracing, export included, is
measured in the same run: the direct and gateway scenarios are run again against them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import datetime as dt
import json
import os
import platform
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from bench.loadgen import ENGINES
from sciplan.stack import SERVICES, Stack
from shared.devdb import EmbeddedPostgres, create_database, drop_database
from shared.migrate import URL_VARIABLE
from shared.testing.otlp_sink import OtlpSink, otlp_sink

ROOT = Path(__file__).resolve().parent.parent
PG_DIR = ROOT / ".sciplan" / "bench-pg"
LOG_DIR = ROOT / ".sciplan" / "bench-logs"
DATABASE = "sciplan_bench"
HOST = "127.0.0.1"
# Gateway/direct throughput for an authenticated read (issue 17).
THROUGHPUT_TARGET = 0.85
UNLIMITED = {"per_minute": 1e9, "burst": 1e9}
RATE_LIMITS = {
    group: {"user": UNLIMITED, "address": UNLIMITED} for group in ("api", "auth", "admin")
}
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Scenario:
    key: str
    label: str
    url: str


@dataclass
class Measured:
    scenario: Scenario
    traced: bool = False
    runs: list[dict[str, Any]] = field(default_factory=list)
    cpu_ms_per_request: list[dict[str, float]] = field(default_factory=list)

    def median(self, key: str) -> float:
        return statistics.median(float(run[key]) for run in self.runs)

    @property
    def errors(self) -> int:
        return sum(int(run["errors"]) for run in self.runs)

    def error_kinds(self) -> dict[str, int]:
        kinds: dict[str, int] = {}
        for run in self.runs:
            for kind, count in run["error_kinds"].items():
                kinds[kind] = kinds.get(kind, 0) + int(count)
        return kinds

    def cpu_median(self, process: str) -> float:
        return statistics.median(sample.get(process, 0.0) for sample in self.cpu_ms_per_request)


# --- processes -------------------------------------------------------------------------------


def _die_with_parent() -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind((HOST, 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def start_hello(port: int, log_dir: Path) -> subprocess.Popen[bytes]:
    log_dir.mkdir(parents=True, exist_ok=True)
    with (log_dir / "hello.log").open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "bench.hello", str(port)],
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )


def stop_process(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_http_ok(url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: server exited with code {process.returncode}")
        with (
            contextlib.suppress(urllib.error.URLError, OSError),
            urllib.request.urlopen(url, timeout=2) as response,
        ):
            if response.status == 200:
                return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} not answering after {timeout:.0f}s")
        time.sleep(0.1)


_CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int, *, reaped_children: bool = False) -> float:
    """User + system CPU time of one process (0.0 once it is gone), optionally plus that of
    its children that have exited and been waited for."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    ticks = int(fields[11]) + int(fields[12])
    if reaped_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / _CLK_TCK


def children_of(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2 :].split()[1]) == parent:
            found.append(int(entry.name))
    return found


def postmaster_pid(data_dir: Path) -> int | None:
    try:
        return int((data_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


CpuSample = dict[str, dict[int, float]]


@dataclass
class CpuMeter:
    """CPU seconds of the named processes; `postgres` is the postmaster and all its backends."""

    pids: dict[str, int]
    postmaster: int | None

    def sample(self) -> CpuSample:
        sample = {name: {pid: cpu_seconds(pid)} for name, pid in self.pids.items()}
        if self.postmaster is not None:
            # A backend that exits (a pool closing a connection) moves its CPU time into the
            # postmaster's reaped-children time, so the sum stays complete.
            postgres = {self.postmaster: cpu_seconds(self.postmaster, reaped_children=True)}
            for pid in children_of(self.postmaster):
                postgres[pid] = cpu_seconds(pid)
            sample["postgres"] = postgres
        return sample

    @staticmethod
    def used(before: CpuSample, after: CpuSample) -> dict[str, float]:
        """CPU seconds used in between, by name."""
        return {
            name: sum(now.values()) - sum(before.get(name, {}).values())
            for name, now in after.items()
        }


def system_busy() -> tuple[float, float]:
    """(busy, total) clock ticks of all CPUs, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return float(sum(values) - idle), float(sum(values))


# --- talking to the product ------------------------------------------------------------------


def login(gateway: str, password: str) -> str:
    form = urllib.parse.urlencode({"username": "admin", "password": password}).encode()
    request = urllib.request.Request(f"{gateway}/auth/token", data=form, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        token: str = json.load(response)["access_token"]
    return token


def get_json(url: str, token: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, {}


def wait_in_directory(url: str, token: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        status, body = get_json(url, token)
        if status == 200 and body.get("in_directory") is True:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"admin not in the credit directory after {timeout:.0f}s: {status}")
        time.sleep(0.2)


def run_load(spec: dict[str, Any], meter: CpuMeter) -> tuple[dict[str, Any], dict[str, float]]:
    """One scenario through `bench.loadgen`; returns its result and CPU ms per request."""
    bound = spec["warmup_seconds"] + spec["duration_seconds"] + 60
    before, busy_before, started = meter.sample(), system_busy(), time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.loadgen"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        preexec_fn=_die_with_parent,
        start_new_session=True,  # Ctrl-C reaches only us; we stop it in `finally`
    )
    try:
        out, _ = process.communicate(json.dumps(spec).encode(), timeout=bound)
    finally:
        stop_process(process, grace=2)
    if process.returncode != 0:
        raise RuntimeError(f"load generator failed with code {process.returncode}")
    result: dict[str, Any] = json.loads(out)
    after, busy_after, wall = meter.sample(), system_busy(), time.monotonic() - started
    total = max(1, int(result["total_requests"]))
    ours = CpuMeter.used(before, after)
    ours["loadgen"] = float(result["loadgen_cpu_seconds"])
    cpu = {name: seconds * 1000 / total for name, seconds in ours.items()}
    used, available = busy_after[0] - busy_before[0], busy_after[1] - busy_before[1]
    result["machine_busy"] = used / available if available else 0.0
    # CPU that neither the servers, PostgreSQL nor the load generator were charged with, in
    # CPUs: other users' jobs, and some kernel work (~0.1 here); more makes the run less reliable.
    result["others_cpus"] = max(0.0, (used / _CLK_TCK - sum(ours.values())) / wall)
    return result, cpu


# --- the run ---------------------------------------------------------------------------------


def _raise_keyboard_interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def postgres_server() -> Iterator[tuple[str, Path | None]]:
    """(server URL, data dir if embedded): SCIPLAN_DATABASE_URL's server, or our own one."""
    given = os.environ.get(URL_VARIABLE)
    if given:
        yield given, None
        return
    embedded = EmbeddedPostgres(PG_DIR)
    url = embedded.start()
    try:
        yield url, embedded.data_dir
    finally:
        embedded.stop()


def traced_twin(stack: Stack, sink: OtlpSink, ratio: float) -> Stack:
    """A gateway and a credit service beside `stack`'s, on its database and accounts, tracing
    into `sink` (keeping `ratio` of the requests); the other services they reach are `stack`'s
    own."""
    gateway, credit = free_ports(2)
    extra_env = dict(stack.extra_env)
    for name in ("gateway", "credit"):
        extra_env[f"SCIPLAN_{name.upper()}_OTLP_ENDPOINT"] = sink.url
        extra_env[f"SCIPLAN_{name.upper()}_TRACE_SAMPLE_RATIO"] = str(ratio)
    return Stack(
        database_url=stack.database_url,
        ports=stack.ports | {"gateway": gateway, "credit": credit},
        host=stack.host,
        environment=stack.environment,
        log_dir=LOG_DIR / "traced",
        extra_env=extra_env,
        client_secrets=stack.client_secrets,
        services=("gateway", "credit"),
    )


def measure(
    args: argparse.Namespace, say: Callable[[str], None]
) -> tuple[list[Measured], OtlpSink | None]:
    with contextlib.ExitStack() as cleanup:
        say("starting PostgreSQL ...")
        server_url, data_dir = cleanup.enter_context(postgres_server())
        database_url = asyncio.run(create_database(server_url, DATABASE, drop_first=True))
        cleanup.callback(lambda: asyncio.run(drop_database(server_url, DATABASE)))

        ports = dict(zip((*SERVICES, "hello"), free_ports(len(SERVICES) + 1), strict=True))
        extra_env = {f"SCIPLAN_{name.upper()}_LOG_LEVEL": args.log_level for name in SERVICES}
        extra_env["SCIPLAN_GATEWAY_RATE_LIMITS"] = json.dumps(RATE_LIMITS)
        stack = Stack(
            database_url=database_url,
            ports={name: ports[name] for name in SERVICES},
            host=HOST,
            environment="development",
            log_dir=LOG_DIR,
            extra_env=extra_env,
        )
        password = secrets.token_urlsafe(16)
        say("migrating, creating accounts ...")
        stack.prepare(password)
        cleanup.callback(stack.stop)
        say("starting the services and the hello app ...")
        stack.start_all()
        hello = start_hello(ports["hello"], LOG_DIR)
        cleanup.callback(stop_process, hello)
        stack.wait_ready()
        sink: OtlpSink | None = None
        traced: Stack | None = None
        if args.tracing:
            # Entered before the twin: it stops after it, so the twin's last spans arrive.
            sink = cleanup.enter_context(otlp_sink(keep_spans=False))
            traced = traced_twin(stack, sink, args.trace_ratio)
            say("starting a traced gateway and credit service beside them ...")
            cleanup.callback(traced.stop)
            traced.start_all()
            traced.wait_ready()
        hello_url = f"http://{HOST}:{ports['hello']}/hello"
        wait_http_ok(hello_url, hello)

        token = login(stack.gateway_url, password)
        via_gateway = f"{stack.gateway_url}/api/credit/v1/me"
        say("waiting until the credit service has the admin in its directory ...")
        wait_in_directory(via_gateway, token)
        status, body = get_json(f"{stack.url('credit')}/v1/me", token)
        if status != 200 or body.get("in_directory") is not True:
            raise RuntimeError(f"direct GET /v1/me answered {status}: {body}")

        scenarios = [
            Scenario("hello", "hello (bare FastAPI)", hello_url),
            Scenario("direct", "credit direct  /v1/me", f"{stack.url('credit')}/v1/me"),
            Scenario("gateway", "via gateway  /api/credit/v1/me", via_gateway),
        ]
        pids = {name: process.pid for name, process in stack.processes.items()}
        pids["hello"] = hello.pid
        postmaster = postmaster_pid(data_dir) if data_dir is not None else None
        meters = dict.fromkeys((s.key for s in scenarios), CpuMeter(pids, postmaster))
        results = {s.key: Measured(s) for s in scenarios}
        if traced is not None:
            # Measured as the same processes by name: the traced twin's gateway and credit.
            twin = pids | {name: process.pid for name, process in traced.processes.items()}
            for scenario in (
                Scenario("direct_traced", "credit direct, traced", f"{traced.url('credit')}/v1/me"),
                Scenario(
                    "gateway_traced",
                    "via gateway, traced",
                    f"{traced.gateway_url}/api/credit/v1/me",
                ),
            ):
                scenarios.append(scenario)
                meters[scenario.key] = CpuMeter(twin, postmaster)
                results[scenario.key] = Measured(scenario, traced=True)
        for round_no in range(1, args.rounds + 1):
            # Every other round in reverse order: a box that speeds up or slows down during
            # the run then favours neither the direct nor the gateway scenario.
            for scenario in scenarios if round_no % 2 else scenarios[::-1]:
                say(
                    f"round {round_no}/{args.rounds}: {scenario.label}: {args.warmup:g} s warm-up,"
                    f" {args.duration:g} s measured, {args.concurrency} connections ..."
                )
                token = login(stack.gateway_url, password)  # fresh: access tokens live 15 min
                spec = {
                    "url": scenario.url,
                    "headers": {"Authorization": f"Bearer {token}"},
                    "concurrency": args.concurrency,
                    "warmup_seconds": args.warmup,
                    "duration_seconds": args.duration,
                    "engine": args.loadgen,
                }
                result, cpu = run_load(spec, meters[scenario.key])
                results[scenario.key].runs.append(result)
                results[scenario.key].cpu_ms_per_request.append(cpu)
        say("stopping everything ...")
        measured = list(results.values())
    return measured, sink


SPANS_PER_REQUEST = {"direct_traced": 1, "gateway_traced": 3}


def tracing_report(measured: list[Measured], sink: OtlpSink, ratio: float) -> list[str]:
    """The CPU that tracing adds per request, by process, and what reached the collector."""
    by_key = {m.scenario.key: m for m in measured}
    lines = [
        "",
        f"tracing on (sample ratio {ratio:g}, exported over OTLP/HTTP) against off,"
        " CPU ms per request:",
        f"{'scenario':<32}{'process':>10}{'off':>10}{'on':>10}{'added':>10}{'on/off':>8}",
    ]
    for key in ("direct", "gateway"):
        off, on = by_key[key], by_key[f"{key}_traced"]
        for process in ("gateway", "credit") if key == "gateway" else ("credit",):
            before, after = off.cpu_median(process), on.cpu_median(process)
            lines.append(
                f"{off.scenario.label:<32}{process:>10}{before:>10.3f}{after:>10.3f}"
                f"{after - before:>+10.3f}{after / before if before else 0.0:>8.2f}"
            )
    # A server span in credit; through the gateway also the gateway's server and client spans.
    expected = ratio * sum(
        int(run["total_requests"]) * SPANS_PER_REQUEST[m.scenario.key]
        for m in measured
        if m.traced
        for run in m.runs
    )
    lines.append(
        f"spans received by the collector: {sink.span_count} in {sink.exports} exports, of"
        f" {expected:.0f} expected ({sink.span_count / max(1.0, expected):.2f})"
    )
    return lines


def ceiling(direct: Measured, gateway: Measured) -> list[str]:
    """What bounds gateway/direct on this box. Direct, one process of the service is the limit:
    1 / its CPU per request. Through the gateway every process of the path shares the CPUs, so
    throughput is at most CPUs / (the path's CPU per request), and at most 1 / (the service's
    CPU per request there) too. A cheaper service raises the direct side more than the other:
    the ratio then asks for a gateway cheaper still."""
    path = sum(gateway.cpu_median(name) for name in ("gateway", "credit", "postgres", "loadgen"))
    service, service_via = direct.cpu_median("credit"), gateway.cpu_median("credit")
    cpus = os.cpu_count() or 1
    if not path or not service or not service_via:
        return []
    bound = min(cpus * service / path, service / service_via)
    return [
        f"ceiling: through the gateway a request costs {path:.3f} ms of CPU in all (gateway,"
        f" credit, PostgreSQL, load generator) and credit {service_via:.3f} of it; direct,",
        f"credit's {service:.3f} ms on one core is the limit. So gateway/direct is at most"
        f" min({cpus} x {service:.3f} / {path:.3f}, {service:.3f} / {service_via:.3f}) ="
        f" {bound:.2f} here, with every CPU busy",
        f"the gateway's CPU per request: {gateway.cpu_median('gateway') / service:.2f} x"
        " credit's direct (a ratio of costs, whatever the number of cores)",
    ]


def report(measured: list[Measured], args: argparse.Namespace, sink: OtlpSink | None) -> str:
    by_key = {m.scenario.key: m for m in measured}
    hello_rps = by_key["hello"].median("requests_per_second")
    lines = [
        "",
        f"SciPlan gateway overhead  {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
        f"  {platform.node()}  {os.cpu_count()} CPUs  Python {platform.python_version()}",
        f"closed loop: {args.concurrency} keep-alive connections, {args.warmup:g} s warm-up +"
        f" {args.duration:g} s measured per scenario, {args.rounds} round(s)"
        + (" (medians)" if args.rounds > 1 else ""),
        f"NOTE: the load generator (one Python process, the {args.loadgen} engine) shares the"
        " machine's CPUs",
        "with the servers and PostgreSQL, so these are figures for this box, not capacity figures.",
        "",
        f"{'scenario':<32}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'vs hello':>10}"
        f"{'busy':>7}{'others':>8}",
    ]
    for m in measured:
        rps = m.median("requests_per_second")
        lines.append(
            f"{m.scenario.label:<32}{rps:>9.0f}{m.median('p50_ms'):>9.2f}"
            f"{m.median('p99_ms'):>9.2f}{m.errors:>8d}{rps / hello_rps:>10.2f}"
            f"{m.median('machine_busy'):>7.0%}{m.median('others_cpus'):>8.2f}"
        )
    gateway, direct = by_key["gateway"], by_key["direct"]
    # Each round's gateway run against the direct run beside it, so that the box's drift
    # between rounds cancels out; the median of those.
    ratios = sorted(
        g["requests_per_second"] / d["requests_per_second"]
        for g, d in zip(gateway.runs, direct.runs, strict=True)
        if d["requests_per_second"]
    )
    ratio = statistics.median(ratios) if ratios else 0.0
    verdict = "meets" if ratio >= THROUGHPUT_TARGET else "BELOW"
    spread = f", rounds {ratios[0]:.2f} to {ratios[-1]:.2f}" if len(ratios) > 1 else ""
    lines += [
        "",
        f"gateway / direct throughput: {ratio:.2f}  ({verdict} the {THROUGHPUT_TARGET:.2f} target"
        f"{spread})",
        f"gateway p50 adds {gateway.median('p50_ms') - direct.median('p50_ms'):+.2f} ms,"
        f" p99 adds {gateway.median('p99_ms') - direct.median('p99_ms'):+.2f} ms over direct",
        *ceiling(direct, gateway),
        "",
        "busy: share of all CPUs in use during the scenario; others: CPUs used meanwhile outside",
        "the benchmark's processes (kernel, other jobs: if well above 0.1, rerun on a quiet box).",
        "",
        "CPU ms per request by process (whole scenario, warm-up included):",
    ]
    columns = ["hello", "gateway", "credit", "postgres", "loadgen"]
    if not any("postgres" in sample for m in measured for sample in m.cpu_ms_per_request):
        columns.remove("postgres")  # an external server: its CPU is not ours to read
    lines.append(f"{'scenario':<32}" + "".join(f"{name:>10}" for name in columns) + f"{'sum':>10}")
    for m in measured:
        values = [m.cpu_median(name) for name in columns]
        cells = "".join(f"{value:>10.3f}" for value in values)
        lines.append(f"{m.scenario.label:<32}{cells}{sum(values):>10.3f}")
    if sink is not None:
        lines += tracing_report(measured, sink, args.trace_ratio)
    for m in measured:
        kinds = m.error_kinds()
        if kinds:
            lines.append(f"errors in {m.scenario.label}: {kinds}")
    lines.append(f"service logs: {LOG_DIR}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.gateway_overhead", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--duration", type=float, default=8.0, help="measured seconds (8)")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds (2)")
    parser.add_argument("--concurrency", type=int, default=32, help="connections (32)")
    # One round swings by about 15% on a 2-core machine; the medians of five hold still.
    parser.add_argument("--rounds", type=int, default=5, help="repeat all scenarios (5)")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument(
        "--tracing",
        action="store_true",
        help="also measure a traced gateway and credit (OTLP export to a local collector)",
    )
    parser.add_argument(
        "--trace-ratio", type=float, default=1.0, help="share of requests traced (1.0)"
    )
    parser.add_argument(
        "--loadgen",
        default="raw",
        choices=ENGINES,
        help="the load generator's engine (raw: the leaner; aiohttp: as measured before)",
    )
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING"], help="(INFO)"
    )
    args = parser.parse_args(argv)
    if not 0 < args.duration <= 120 or not 0 <= args.warmup <= 60:
        parser.error("--duration must be within (0, 120] and --warmup within [0, 60]")
    if not 0 <= args.trace_ratio <= 1:
        parser.error("--trace-ratio must be within [0, 1]")
    if not 1 <= args.concurrency <= 512 or not 1 <= args.rounds <= 10:
        parser.error("--concurrency must be within 1..512 and --rounds within 1..10")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")  # embedded pg
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    try:
        measured, sink = measure(args, say)
    except KeyboardInterrupt:
        say("interrupted; everything was stopped")
        return 130
    print(report(measured, args, sink))
    if args.json is not None:
        raw = {m.scenario.key: {"runs": m.runs, "cpu_ms": m.cpu_ms_per_request} for m in measured}
        args.json.write_text(json.dumps(raw, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
