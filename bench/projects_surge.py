"""Deadline surge: thousands of applicants submit their prepared drafts at once, via the gateway.

    .venv/bin/python -m bench.projects_surge [--applicants 2000] [--concurrency 64]
                                             [--within 60 | --rate R | --closed-loop]

Starts PostgreSQL (embedded under .sciplan/bench-pg unless SCIPLAN_DATABASE_URL names a server),
a fresh database `sciplan_projects_bench` and the four services as `make run` does (log level
WARNING, gateway rate limits raised so they never refuse but still run). Then, before measuring:

- organizations through the gateway's admin API; the applicants straight into the gateway's
  tables, each with a `user.created` event in the gateway's outbox (what the admin API writes),
  and a password hash of cheap argon2id parameters (the login is not what is measured; with
  the default parameters 2,000 logins cost minutes of CPU);
- waits until the projects service's directory has every applicant and organization;
- an open call of the Key R&D program through the projects API (admin);
- every applicant logs in (`POST /auth/token`) and drafts one complete application
  (`POST /api/projects/v1/applications`) with their own token.

Measured, with `--concurrency` clients (aiohttp, one keep-alive connection each), every request
with its applicant's own token, in a random order:

1. the surge: `POST /api/projects/v1/applications/{id}/submit` once per applicant;
2. the baseline: as many `GET /api/projects/v1/applications/{id}`, same clients, same pacing.

Paced by default: the clients together offer the requests evenly over `--within` seconds (60:
"2,000 submissions within one minute"), and each latency counts from when its request was due,
not from when a client got round to sending it (no coordinated omission). `--rate` sets the
offered load directly; `--closed-loop` sends each client's next request as soon as it has an
answer (the rush at its worst: throughput, and latency set by the queue). Afterwards it counts
the submitted applications and the `submit` history entries in the database (both must equal
the number of applicants). Everything is stopped at the end, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import random
import resource
import secrets
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import aiohttp
import asyncpg
from argon2 import PasswordHasher
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from bench.gateway_overhead import (
    LOG_DIR,
    RATE_LIMITS,
    CpuMeter,
    CpuSample,
    free_ports,
    login,
    postgres_server,
    postmaster_pid,
    system_busy,
)
from bench.loadgen import percentile
from sciplan.stack import SERVICES, Stack
from services.gateway.identity.service import user_saved
from services.gateway.models import User, UserRole, events
from shared.contracts.directory import UserCreatedV1
from shared.credit_code import check_character
from shared.db import async_url, asyncpg_dsn
from shared.devdb import create_database, drop_database
from shared.events.outbox import publish

DATABASE = "sciplan_projects_bench"
KEY_RD = "0193a5c0-0000-7000-8000-000000000002"  # 重点研发计划 (ZDYF), seeded
ORG_KINDS = ("university", "research_institute", "enterprise")
REQUEST_TIMEOUT_SECONDS = 30.0
_CLK_TCK = os.sysconf("SC_CLK_TCK")
PREPARE_CONCURRENCY = 16
# Logins stay below the gateway's pool of 10: a login holds a pooled connection while the
# signing-key ring reloads through the same pool, so 10 logins in flight at the moment the
# ring's cache expires wait on each other until the pool times out (503s).
LOGIN_CONCURRENCY = 4
# Bench applicants only: argon2id still, at parameters that verify in about a millisecond.
_CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def say(message: str) -> None:
    print(f"# {message}", file=sys.stderr, flush=True)


@dataclass
class Applicant:
    username: str
    user_id: UUID
    token: str = ""
    application_id: str = ""


@dataclass
class Phase:
    label: str
    requests: int
    seconds: float
    latencies: list[float]
    errors: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)  # a few error bodies, to see why
    cpu_ms_per_request: dict[str, float] = field(default_factory=dict)
    busy: float = 0.0  # share of all CPUs in use
    others_cpus: float = 0.0

    def p(self, fraction: float) -> float:
        return percentile(sorted(self.latencies), fraction) * 1000

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


# --- preparing: people, a call, drafts ----------------------------------------------------------


def _credit_code(n: int) -> str:
    body = f"9162010{n:010d}"
    return body + check_character(body)


async def _each(concurrency: int, jobs: list[Any], work: Any) -> list[Any]:
    """`work(job)` for every job, at most `concurrency` at a time; results in order."""
    gate = asyncio.Semaphore(concurrency)

    async def one(job: Any) -> Any:
        async with gate:
            return await work(job)

    return list(await asyncio.gather(*(one(job) for job in jobs)))


async def _expect(response: aiohttp.ClientResponse, status: int, what: str) -> Any:
    body = await response.text()
    if response.status != status:
        raise RuntimeError(f"{what}: {response.status} {body[:500]}")
    return json.loads(body) if body else None


async def create_organizations(
    http: aiohttp.ClientSession, gateway: str, admin_token: str, count: int
) -> list[str]:
    headers = {"Authorization": f"Bearer {admin_token}"}

    async def create(n: int) -> str:
        body = {
            "name": f"压测单位{n:03d}",
            "credit_code": _credit_code(n),
            "kind": ORG_KINDS[n % len(ORG_KINDS)],
        }
        async with http.post(
            f"{gateway}/admin/v1/organizations", json=body, headers=headers
        ) as reply:
            org_id: str = (await _expect(reply, 201, "create organization"))["id"]
            return org_id

    return await _each(PREPARE_CONCURRENCY, list(range(1, count + 1)), create)


async def create_applicants(
    database_url: str, organizations: list[str], count: int, password: str
) -> list[Applicant]:
    """Users with the applicant role, written as the gateway's admin API writes them."""
    password_hash = _CHEAP_HASHER.hash(password)
    engine = create_async_engine(async_url(database_url))
    applicants: list[Applicant] = []
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session:
            for start in range(0, count, 500):
                users = [
                    User(
                        username=f"surge-{n:05d}",
                        display_name=f"申报人{n:05d}",
                        password_hash=password_hash,
                        org_id=UUID(organizations[n % len(organizations)]),
                        roles=[UserRole(role="applicant")],
                    )
                    for n in range(start, min(start + 500, count))
                ]
                session.add_all(users)
                await session.flush()
                for user in users:
                    await publish(session, events, user_saved(UserCreatedV1, user))
                await session.commit()
                applicants += [Applicant(u.username, u.id) for u in users]
    finally:
        await engine.dispose()
    return applicants


async def wait_replicated(
    database_url: str, users: int, organizations: int, patience: float = 300.0
) -> float:
    """Seconds until the projects service's directory has every applicant and organization."""
    started = time.monotonic()
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        while True:
            have_users = await conn.fetchval(
                "SELECT count(*) FROM projects.directory_users WHERE username LIKE 'surge-%'"
            )
            have_orgs = await conn.fetchval(
                "SELECT count(*) FROM projects.directory_organizations WHERE name LIKE '压测单位%'"
            )
            if have_users >= users and have_orgs >= organizations:
                return time.monotonic() - started
            if time.monotonic() - started > patience:
                raise TimeoutError(
                    f"projects' directory has {have_users}/{users} applicants and "
                    f"{have_orgs}/{organizations} organizations after {patience:.0f} s"
                )
            await asyncio.sleep(0.5)
    finally:
        await conn.close()


async def open_call(http: aiohttp.ClientSession, gateway: str, admin_token: str) -> str:
    """A Key R&D call open since a minute ago and closing in three hours, published."""
    headers = {"Authorization": f"Bearer {admin_token}"}
    now = dt.datetime.now(dt.UTC)
    body = {
        "program_id": KEY_RD,
        "year": now.year,
        "title": f"{now.year}年度重点研发计划（压测批次）",
        "guideline": "围绕现代农业、生物医药、新材料等领域组织申报。",
        "opens_at": (now - dt.timedelta(minutes=1)).isoformat(),
        "closes_at": (now + dt.timedelta(hours=3)).isoformat(),
        "eligible_org_kinds": list(ORG_KINDS),
        "budget_min_fen": 10_000_000,
        "budget_max_fen": 300_000_000,
        "required_attachments": [],
        "review_template": {
            "criteria": [
                {"code": "innovation", "name": "创新性", "weight": 40, "min": 0, "max": 100},
                {"code": "feasibility", "name": "可行性", "weight": 35, "min": 0, "max": 100},
                {"code": "team", "name": "团队基础", "weight": 25, "min": 0, "max": 100},
            ]
        },
        "experts_per_application": 3,
        "notice_days": 7,
    }
    async with http.post(f"{gateway}/api/projects/v1/calls", json=body, headers=headers) as reply:
        call_id: str = (await _expect(reply, 201, "create call"))["id"]
    async with http.post(
        f"{gateway}/api/projects/v1/calls/{call_id}/publish", headers=headers
    ) as reply:
        await _expect(reply, 200, "publish call")
    return call_id


def draft(applicant: Applicant, n: int) -> dict[str, Any]:
    """A complete application: everything submission asks for (the call wants no attachment)."""
    return {
        "title": f"旱区小麦节水栽培关键技术研究与示范（{n:05d}）",
        "abstract": "针对河西走廊灌区水资源短缺问题，研究小麦节水栽培技术体系并开展示范。",
        "keywords": ["节水农业", "小麦", "栽培"],
        "subject_codes": ["210.2010"],
        "team": [{"user_id": str(applicant.user_id), "role": "负责人", "share": 100}],
        "budget": {
            "equipment": 20_000_000,
            "business": 50_000_000,
            "labour": 20_000_000,
            "indirect": 10_000_000,
        },
        "milestones": [
            {"name": "完成田间试验设计", "due": "2027-06-30"},
            {"name": "示范推广1万亩", "due": "2028-12-31"},
        ],
        "indicators": [
            {"name": "发表论文", "target": 5, "unit": "篇"},
            {"name": "示范面积", "target": 10000, "unit": "亩"},
        ],
        "avoid": [],
    }


async def log_in(
    http: aiohttp.ClientSession, gateway: str, applicants: list[Applicant], password: str
) -> None:
    async def one(applicant: Applicant) -> None:
        form = {"username": applicant.username, "password": password}
        async with http.post(f"{gateway}/auth/token", data=form) as reply:
            applicant.token = (await _expect(reply, 200, "log in"))["access_token"]

    await _each(LOGIN_CONCURRENCY, applicants, one)


async def prepare_drafts(
    http: aiohttp.ClientSession, gateway: str, call_id: str, applicants: list[Applicant]
) -> None:
    async def one(job: tuple[int, Applicant]) -> None:
        n, applicant = job
        headers = {"Authorization": f"Bearer {applicant.token}"}
        body = {"call_id": call_id, "content": draft(applicant, n)}
        async with http.post(
            f"{gateway}/api/projects/v1/applications", json=body, headers=headers
        ) as reply:
            applicant.application_id = (await _expect(reply, 201, "draft"))["id"]

    await _each(PREPARE_CONCURRENCY, list(enumerate(applicants)), one)


# --- measuring ----------------------------------------------------------------------------------


async def drive(
    label: str,
    gateway: str,
    method: str,
    path: str,
    applicants: list[Applicant],
    concurrency: int,
    rate: float | None,
) -> Phase:
    """One request per applicant (`path` formatted with the application id), with `concurrency`
    clients; closed loop, or paced at `rate` per second with latency counted from the due time."""
    order = applicants[:]
    random.Random(len(label)).shuffle(order)
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    samples: list[str] = []
    interval = 1.0 / rate if rate else 0.0
    clock = time.perf_counter
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS, connect=5)
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()
    ) as http:
        queue = iter(enumerate(order))
        started = clock()

        async def client() -> None:
            for index, applicant in queue:
                due = started + index * interval
                if interval and (wait := due - clock()) > 0:
                    await asyncio.sleep(wait)
                begun = due if interval else clock()
                url = gateway + path.format(id=applicant.application_id)
                headers = {"Authorization": f"Bearer {applicant.token}"}
                try:
                    async with http.request(method, url, headers=headers) as reply:
                        body = await reply.read()
                        if reply.status != 200:
                            errors[f"status {reply.status}"] += 1
                            if len(samples) < 5:
                                samples.append(body[:300].decode(errors="replace"))
                            continue
                except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                    errors[type(exc).__name__] += 1
                    continue
                latencies.append(clock() - begun)

        await asyncio.gather(*(client() for _ in range(concurrency)))
        seconds = clock() - started
    return Phase(label, len(order), seconds, latencies, errors, samples)


async def count_submissions(database_url: str, call_id: str) -> tuple[int, int, int]:
    """(submitted applications, `submit` history entries, all applications) of the call."""
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        submitted = await conn.fetchval(
            "SELECT count(*) FROM projects.applications "
            "WHERE call_id = $1 AND status = 'submitted' AND submitted_version = version",
            UUID(call_id),
        )
        recorded = await conn.fetchval(
            "SELECT count(*) FROM projects.history h JOIN projects.applications a "
            "ON a.id = h.application_id WHERE a.call_id = $1 AND h.action = 'submit'",
            UUID(call_id),
        )
        total = await conn.fetchval(
            "SELECT count(*) FROM projects.applications WHERE call_id = $1", UUID(call_id)
        )
    finally:
        await conn.close()
    return int(submitted), int(recorded), int(total)


async def checkpoint(database_url: str) -> None:
    """VACUUM ANALYZE and a checkpoint, so neither wakes up in the middle of the surge."""
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        await conn.execute("VACUUM (ANALYZE) projects.applications")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


def measured(meter: CpuMeter, phase_run: Any) -> Phase:
    before: CpuSample = meter.sample()
    busy_before, own_before, started = system_busy(), _own_cpu_seconds(), time.monotonic()
    phase: Phase = asyncio.run(phase_run)
    used = CpuMeter.used(before, meter.sample())
    used["client"] = _own_cpu_seconds() - own_before
    busy_after, wall = system_busy(), time.monotonic() - started
    phase.cpu_ms_per_request = {
        name: seconds * 1000 / max(1, phase.requests) for name, seconds in used.items()
    }
    busy_seconds = (busy_after[0] - busy_before[0]) / _CLK_TCK
    phase.busy = busy_seconds / wall / (os.cpu_count() or 1)
    # CPUs busy with work none of the benchmark's processes was charged with: other jobs on the
    # machine, kernel work. Well above 0.1 and the latencies are not this product's alone.
    phase.others_cpus = max(0.0, (busy_seconds - sum(used.values())) / wall)
    return phase


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- the run ------------------------------------------------------------------------------------


@dataclass
class Outcome:
    applicants: int
    concurrency: int
    rate: float | None
    prepare_seconds: dict[str, float]
    surge: Phase
    reads: Phase
    submitted: int
    recorded: int
    applications: int


def run(args: argparse.Namespace) -> Outcome:
    with contextlib.ExitStack() as cleanup:
        say("starting PostgreSQL ...")
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
        admin_password = secrets.token_urlsafe(16)
        say("migrating, creating accounts, starting the services ...")
        stack.prepare(admin_password)
        cleanup.callback(stack.stop)
        stack.start_all()
        stack.wait_ready()
        gateway = stack.gateway_url
        pids = {name: process.pid for name, process in stack.processes.items()}
        meter = CpuMeter(pids, postmaster_pid(data_dir) if data_dir is not None else None)
        password = secrets.token_urlsafe(16)
        timings: dict[str, float] = {}

        async def prepare() -> tuple[str, list[Applicant]]:
            admin_token = login(gateway, admin_password)
            async with aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
            ) as http:
                clock = time.monotonic()
                say(f"creating {args.organizations} organizations and {args.applicants} applicants")
                orgs = await create_organizations(http, gateway, admin_token, args.organizations)
                applicants = await create_applicants(database_url, orgs, args.applicants, password)
                timings["people"] = time.monotonic() - clock
                say("waiting until the projects service's directory has them all ...")
                timings["replication"] = await wait_replicated(
                    database_url, args.applicants, args.organizations
                )
                call_id = await open_call(http, gateway, admin_token)
                say(f"{args.applicants} logins ...")
                clock = time.monotonic()
                await log_in(http, gateway, applicants, password)
                timings["logins"] = time.monotonic() - clock
                say(f"{args.applicants} drafts ...")
                clock = time.monotonic()
                await prepare_drafts(http, gateway, call_id, applicants)
                timings["drafts"] = time.monotonic() - clock
            await checkpoint(database_url)
            return call_id, applicants

        call_id, applicants = asyncio.run(prepare())
        pace = f"paced at {args.rate:g}/s" if args.rate else "closed loop"
        say(f"the surge: {args.applicants} submits, {args.concurrency} clients, {pace} ...")
        surge = measured(
            meter,
            drive(
                "submit",
                gateway,
                "POST",
                "/api/projects/v1/applications/{id}/submit",
                applicants,
                args.concurrency,
                args.rate,
            ),
        )
        say(f"the baseline: {args.applicants} reads ...")
        reads = measured(
            meter,
            drive(
                "read",
                gateway,
                "GET",
                "/api/projects/v1/applications/{id}",
                applicants,
                args.concurrency,
                args.rate,
            ),
        )
        submitted, recorded, total = asyncio.run(count_submissions(database_url, call_id))
        say("stopping everything ...")
        return Outcome(
            applicants=args.applicants,
            concurrency=args.concurrency,
            rate=args.rate,
            prepare_seconds=timings,
            surge=surge,
            reads=reads,
            submitted=submitted,
            recorded=recorded,
            applications=total,
        )
    raise AssertionError("unreachable")  # pragma: no cover


def report(outcome: Outcome) -> str:
    surge, reads = outcome.surge, outcome.reads
    pace = f"paced at {outcome.rate:g} req/s" if outcome.rate else "closed loop"
    lines = [
        f"SciPlan deadline surge  {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC  "
        f"{platform.node()}  {os.cpu_count()} CPUs  Python {platform.python_version()}",
        f"{outcome.applicants} applicants, {outcome.concurrency} clients, {pace}, through the "
        "gateway; each request with its applicant's own token",
        "prepared in: "
        + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in outcome.prepare_seconds.items()),
        "",
        f"{'phase':<34}{'requests':>9}{'errors':>8}{'seconds':>9}{'req/s':>8}"
        f"{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'busy':>7}{'others':>8}",
    ]
    for phase, label in (
        (surge, "POST .../applications/{id}/submit"),
        (reads, "GET  .../applications/{id}"),
    ):
        errors = sum(phase.errors.values())
        worst = max(phase.latencies, default=0.0) * 1000
        lines.append(
            f"{label:<34}{phase.requests:>9}{errors:>8}{phase.seconds:>9.1f}"
            f"{phase.throughput:>8.0f}{phase.p(0.50):>9.1f}{phase.p(0.99):>9.1f}{worst:>9.1f}"
            f"{phase.busy:>7.0%}{phase.others_cpus:>8.2f}"
        )
    surge_errors = sum(surge.errors.values())
    lines += [
        "",
        f"errors during the surge: {surge_errors} (target 0)"
        + (f" {dict(surge.errors)}" if surge_errors else ""),
        f"submitted in the database: {outcome.submitted} of {outcome.applications} applications,"
        f" {outcome.recorded} `submit` history entries (target {outcome.applicants} each)",
        f"all submitted within {surge.seconds:.1f} s (target 60 s); p99 {surge.p(0.99):.0f} ms "
        "(target < 1000 ms)",
        "busy: share of all CPUs in use; others: CPUs used meanwhile outside the benchmark's",
        "processes (other jobs, kernel): well above 0.1 and the latencies are not ours alone.",
        f"submit / read latency: p50 x{surge.p(0.5) / max(reads.p(0.5), 1e-9):.2f}, "
        f"p99 x{surge.p(0.99) / max(reads.p(0.99), 1e-9):.2f}; throughput "
        f"x{surge.throughput / max(reads.throughput, 1e-9):.2f}",
        "",
        "CPU ms per request by process (client: this benchmark's own process):",
    ]
    names = [
        n
        for n in ("gateway", "projects", "credit", "funds", "postgres", "client")
        if n in surge.cpu_ms_per_request
    ]
    lines.append(f"{'phase':<10}" + "".join(f"{n:>10}" for n in names))
    for phase in (surge, reads):
        lines.append(
            f"{phase.label:<10}"
            + "".join(f"{phase.cpu_ms_per_request.get(n, 0.0):>10.2f}" for n in names)
        )
    for phase in (surge, reads):
        for sample in phase.samples:
            lines.append(f"{phase.label} error body: {sample}")
    lines.append(f"service logs: {LOG_DIR}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.projects_surge", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--applicants", type=int, default=2000, help="applicants (2000)")
    parser.add_argument("--concurrency", type=int, default=64, help="clients (64)")
    parser.add_argument("--organizations", type=int, default=40, help="their units (40)")
    pacing = parser.add_mutually_exclusive_group()
    pacing.add_argument(
        "--within", type=float, default=60.0, help="spread the requests over this many s (60)"
    )
    pacing.add_argument("--rate", type=float, help="offered requests per second")
    pacing.add_argument(
        "--closed-loop", action="store_true", help="every client as fast as it is answered"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.applicants <= 20_000 or not 1 <= args.concurrency <= 512:
        parser.error("--applicants must be within 1..20000 and --concurrency within 1..512")
    if not 1 <= args.organizations <= 999:
        parser.error("--organizations must be within 1..999")
    if args.rate is None and not args.closed_loop:
        if not 0 < args.within <= 600:
            parser.error("--within must be within (0, 600] seconds")
        args.rate = args.applicants / args.within
    if args.closed_loop:
        args.rate = None
    elif not 0 < args.rate <= 10_000:
        parser.error("--rate must be within (0, 10000]")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        outcome = run(args)
    except KeyboardInterrupt:
        say("interrupted; everything was stopped")
        return 130
    print(report(outcome))
    ok = (
        sum(outcome.surge.errors.values()) == 0
        and outcome.submitted == outcome.recorded == outcome.applicants
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
