"""Assignment through the API, at the size of the array benchmark: a program manager's dry run
and its application, through the gateway, against the array engine on the same call.

    .venv/bin/python -m bench.assignment_api [--applications 10000] [--experts 5000]
                                             [--per-item 5] [--seed 1] [--py-spy DIR]

Starts PostgreSQL (embedded under .sciplan/bench-pg unless SCIPLAN_DATABASE_URL names a server),
a fresh database `sciplan_assignment_bench` and the six processes as `make run` does (log level
WARNING, gateway rate limits raised). Through the gateway: a program manager, a published call.
Then the call of `bench.review_assignment` (same generator, same seed) is written with COPY
(`bench.assignment_load`), the call closes and the manager opens a proposal round (5 experts per
application, at most one per organization).

Measured, one after the other:

1. **array**: the array benchmark's engine on the same call (`bench.review_assignment`: build
   the candidate pairs, solve), in a process of its own: the baseline.
2. **dry run**: `POST /api/projects/v1/review-rounds/{id}/assignment-runs`, then, when the
   answer is 202 (the run goes on in the background), `GET .../assignment-run-jobs/{id}` every
   second until it is done, and `GET .../assignment-runs/{id}`.
3. **apply**: `POST /api/projects/v1/assignment-runs/{id}/apply`.

For each: wall time, CPU seconds and peak RSS of the projects process (its high-water mark is
reset before each step), CPU seconds of PostgreSQL, and the ratio to the array engine. The
objective of the dry run must equal the array engine's (both are proven optimal). `--py-spy DIR`
records the projects process during the dry run and the apply (py-spy's collapsed stacks, one
file per step: `flamegraph.pl` draws them, `bench.assignment_api --top FILE` sums them up).
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
import signal
import subprocess
import sys
import time
import uuid
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.gateway_overhead import (
    LOG_DIR,
    RATE_LIMITS,
    ROOT,
    CpuMeter,
    free_ports,
    postgres_server,
    postmaster_pid,
)
from sciplan.stack import SERVICES, Stack
from shared.db import asyncpg_dsn
from shared.devdb import create_database, drop_database

DATABASE = "sciplan_assignment_bench"
HOST = "127.0.0.1"
PASSWORD = "bench-user-password"
ZDYF = "0193a5c0-0000-7000-8000-000000000002"  # 重点研发计划, seeded by migration
POLL_SECONDS = 1.0


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


# --- the projects process ----------------------------------------------------------------------


_CLK_TCK = os.sysconf("SC_CLK_TCK")


def _status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


@dataclass
class Step:
    name: str
    wall: float = 0.0
    cpu: float = 0.0  # the projects process
    postgres_cpu: float = 0.0
    peak_rss_mb: float = 0.0
    rss_before_mb: float = 0.0
    notes: dict[str, Any] = field(default_factory=dict)


class Watch:
    """Wall time, CPU and the RSS high-water mark of the projects process over one step."""

    def __init__(self, pid: int, meter: CpuMeter, name: str, py_spy: Path | None) -> None:
        self.pid, self.meter, self.step = pid, meter, Step(name)
        self.py_spy = py_spy
        self.recorder: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Step:
        # Writing 5 to clear_refs resets VmHWM (the peak RSS) to the current RSS.
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")
        self.step.rss_before_mb = _status_kb(self.pid, "VmRSS") / 1024
        if self.py_spy is not None:
            self.py_spy.mkdir(parents=True, exist_ok=True)
            self.recorder = subprocess.Popen(
                [
                    "py-spy",
                    "record",
                    "--pid",
                    str(self.pid),
                    "--rate",
                    "50",
                    "--format",
                    "raw",
                    "--output",
                    str(self.py_spy / f"{self.step.name}.txt"),
                    "--idle",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        self.before = self.meter.sample()
        self.started = time.monotonic()
        return self.step

    def __exit__(self, *exc: object) -> None:
        self.step.wall = time.monotonic() - self.started
        used = CpuMeter.used(self.before, self.meter.sample())
        self.step.cpu = used.get("projects", 0.0)
        self.step.postgres_cpu = used.get("postgres", 0.0)
        self.step.peak_rss_mb = _status_kb(self.pid, "VmHWM") / 1024
        if self.recorder is not None:
            self.recorder.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.recorder.wait(timeout=60)


# --- the array engine, the baseline --------------------------------------------------------------


def array_engine(applications: int, experts: int, per_item: int, seed: int) -> dict[str, Any]:
    """`bench.review_assignment` on the same call: build and solve, in this process (a child)."""
    from bench.review_assignment import candidates, generate
    from services.projects.review.solver.flow import solve_problem

    started, cpu_started = time.monotonic(), time.process_time()
    call = generate(applications, experts, seed)
    built = candidates(call, per_item, seed)
    problem = built.problem
    chosen, certificate = solve_problem(problem, one_per_group=True, seed=seed)
    solution = problem.solution(chosen, certificate)
    return {
        "wall": time.monotonic() - started,
        "cpu": time.process_time() - cpu_started,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "total": solution.total,
        "reviews": len(solution.assigned),
        "candidate_pairs": problem.n_pairs,
        "conflicted_pairs": built.conflicted_pairs,
        "optimal": bool(certificate["optimal"]),
    }


def run_array_engine(args: argparse.Namespace) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "bench.assignment_api",
        "--array-engine-only",
        f"--applications={args.applications}",
        f"--experts={args.experts}",
        f"--per-item={args.per_item}",
        f"--seed={args.seed}",
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, check=True, timeout=1800)
    # HiGHS prints its banner first: the figures are the last line.
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


# --- through the gateway -------------------------------------------------------------------------


class Gateway:
    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=120)

    def close(self) -> None:
        self.http.close()

    def token(self, username: str, password: str = PASSWORD) -> dict[str, str]:
        reply = self.http.post("/auth/token", data={"username": username, "password": password})
        self.expect(reply, (200,), f"login {username}")
        return {"Authorization": f"Bearer {reply.json()['access_token']}"}

    @staticmethod
    def expect(reply: httpx.Response, statuses: tuple[int, ...], what: str) -> Any:
        if reply.status_code not in statuses:
            raise RuntimeError(f"{what}: {reply.status_code} {reply.text[:800]}")
        return reply.json() if reply.content else None

    def projects(
        self,
        method: str,
        path: str,
        who: dict[str, str],
        statuses: tuple[int, ...] = (200,),
        **kwargs: Any,
    ) -> Any:
        reply = self.http.request(method, f"/api/projects/v1{path}", headers=who, **kwargs)
        return self.expect(reply, statuses, f"{method} {path}")

    def until(self, what: str, attempt: Any, seconds: float = 60.0) -> None:
        deadline = time.monotonic() + seconds
        while not attempt():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what}: not after {seconds:.0f} s")
            time.sleep(0.2)


def prepare_call(gw: Gateway, admin_password: str) -> tuple[dict[str, str], str, dt.datetime]:
    """A program manager of 重点研发计划 and a published call closing in a few seconds."""
    admin = gw.token("admin", admin_password)
    created = gw.expect(
        gw.http.post(
            "/admin/v1/users",
            headers=admin,
            json={
                "username": "bench-pm",
                "password": PASSWORD,
                "display_name": "项目主管",
                "roles": ["program_manager"],
            },
        ),
        (201,),
        "manager",
    )

    def assigned() -> bool:
        reply = gw.http.put(
            f"/api/projects/v1/programs/{ZDYF}/managers/{created['id']}", headers=admin
        )
        return reply.status_code in (200, 201, 204)

    gw.until("manager assigned", assigned)
    manager = gw.token("bench-pm")
    now = dt.datetime.now(dt.UTC)
    closes_at = now + dt.timedelta(seconds=5)
    call = gw.projects(
        "POST",
        "/calls",
        manager,
        (201,),
        json={
            "program_id": ZDYF,
            "year": now.year,
            "title": f"{now.year}年度重点研发计划（评审分配基准）",
            "guideline": "基准测试用指南。",
            "opens_at": (now - dt.timedelta(minutes=1)).isoformat(),
            "closes_at": closes_at.isoformat(),
            "budget_min_fen": 10_000_000,
            "budget_max_fen": 200_000_000,
            "required_attachments": [],
            "review_template": {
                "criteria": [
                    {"code": "innovation", "name": "创新性", "weight": 60, "min": 0, "max": 100},
                    {"code": "feasibility", "name": "可行性", "weight": 40, "min": 0, "max": 100},
                ]
            },
            "experts_per_application": 5,
            "notice_days": 7,
        },
    )
    gw.projects("POST", f"/calls/{call['id']}/publish", manager)
    return manager, str(call["id"]), closes_at


def open_round(gw: Gateway, manager: dict[str, str], call_id: str, per_item: int) -> str:
    body = {
        "kind": "proposal",
        "deadline": (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).isoformat(),
        "experts_per_item": per_item,
        "options": {"one_per_organization": True},
    }
    opened: dict[str, Any] = {}

    def attempt() -> bool:
        reply = gw.http.post(
            f"/api/projects/v1/calls/{call_id}/review-rounds", headers=manager, json=body
        )
        opened.update(reply.json())
        return reply.status_code == 201

    gw.until("round opened (the call has closed)", attempt, seconds=60)
    return str(opened["id"])


def dry_run(gw: Gateway, manager: dict[str, str], round_id: str, seed: int, step: Step) -> Any:
    reply = gw.http.post(
        f"/api/projects/v1/review-rounds/{round_id}/assignment-runs",
        headers=manager,
        json={"seed": seed},
    )
    body = gw.expect(reply, (201, 202), "dry run")
    step.notes["first_answer"] = reply.status_code
    if reply.status_code == 201:
        return body
    polls = 0
    while body["status"] == "running":
        time.sleep(POLL_SECONDS)
        polls += 1
        body = gw.projects("GET", f"/assignment-run-jobs/{body['id']}", manager)
    step.notes["polls"] = polls
    if body["status"] != "done":
        raise RuntimeError(f"dry run failed: {body}")
    return gw.projects("GET", f"/assignment-runs/{body['run_id']}", manager)


# --- the run -------------------------------------------------------------------------------------


@dataclass
class Outcome:
    args: argparse.Namespace
    array: dict[str, Any]
    steps: list[Step]
    run: dict[str, Any]
    applied: dict[str, Any]
    loaded_seconds: float
    load_before: str
    load_after: str


def _uptime() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()


def measure(args: argparse.Namespace) -> Outcome:
    from bench.assignment_load import load

    with contextlib.ExitStack() as cleanup:
        say("starting PostgreSQL ...")
        server_url, data_dir = cleanup.enter_context(postgres_server())
        database_url = asyncio.run(create_database(server_url, DATABASE, drop_first=True))
        cleanup.callback(lambda: asyncio.run(drop_database(server_url, DATABASE)))
        ports = dict(zip(SERVICES, free_ports(len(SERVICES)), strict=True))
        extra_env = {f"SCIPLAN_{name.upper()}_LOG_LEVEL": "WARNING" for name in SERVICES}
        extra_env["SCIPLAN_GATEWAY_RATE_LIMITS"] = json.dumps(RATE_LIMITS)
        stack = Stack(
            database_url=database_url,
            ports=ports,
            host=HOST,
            environment="development",
            log_dir=LOG_DIR,
            extra_env=extra_env,
        )
        password = secrets.token_urlsafe(16)
        say("migrating, creating accounts ...")
        stack.prepare(password)
        cleanup.callback(stack.stop)
        say("starting the services ...")
        stack.start_all()
        stack.wait_ready()
        gw = Gateway(stack.gateway_url)
        cleanup.callback(gw.close)
        manager, call_id, closes_at = prepare_call(gw, password)
        say(f"writing {args.applications} applications and {args.experts} experts with COPY ...")
        started = time.monotonic()
        loaded = asyncio.run(
            load(
                asyncpg_dsn(database_url),
                uuid.UUID(call_id),
                applications=args.applications,
                experts=args.experts,
                seed=args.seed,
                now=dt.datetime.now(dt.UTC),
            )
        )
        loaded_seconds = time.monotonic() - started
        say(
            f"  written in {loaded_seconds:.1f} s ({loaded.past_applications} past applications"
            " for the co-applicant conflicts)"
        )
        time.sleep(max(0.0, (closes_at - dt.datetime.now(dt.UTC)).total_seconds() + 0.5))
        round_id = open_round(gw, manager, call_id, args.per_item)

        load_before = _uptime()
        say("the array engine on the same call (the baseline) ...")
        array = run_array_engine(args)
        say(f"  {array['wall']:.1f} s, total {array['total']}")

        projects = stack.processes["projects"].pid
        meter = CpuMeter(
            {"projects": projects}, postmaster_pid(data_dir) if data_dir is not None else None
        )
        manager = gw.token("bench-pm")  # fresh: access tokens live 15 minutes
        say("dry run through the gateway ...")
        with Watch(projects, meter, "dry-run", args.py_spy) as dry:
            run = dry_run(gw, manager, round_id, args.seed, dry)
        say(f"  {dry.wall:.1f} s, total {run['quality']['total']}")
        manager = gw.token("bench-pm")
        say("apply through the gateway ...")
        with Watch(projects, meter, "apply", args.py_spy) as apply:
            reply = gw.http.post(
                f"/api/projects/v1/assignment-runs/{run['id']}/apply", headers=manager
            )
            applied = gw.expect(reply, (200,), "apply")
        say(f"  {apply.wall:.1f} s, {len(applied['created'])} assignments")
        load_after = _uptime()
        say("stopping everything ...")
        return Outcome(
            args, array, [dry, apply], run, applied, loaded_seconds, load_before, load_after
        )
    raise AssertionError("unreachable")  # pragma: no cover


def report(o: Outcome) -> str:
    args, array = o.args, o.array
    run = o.run
    certificate = run["quality"]["certificate"]
    lines = [
        "",
        f"SciPlan assignment through the API  {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC  "
        f"{platform.node()}  {os.cpu_count()} CPUs  Python {platform.python_version()}",
        f"call: {args.applications} applications x {args.per_item} experts, {args.experts} "
        f"experts, one per organization, seed {args.seed}; written with COPY in "
        f"{o.loaded_seconds:.1f} s",
        f"load average before {o.load_before}, after {o.load_after}",
        "",
        f"{'step':<34}{'wall s':>9}{'CPU s':>9}{'peak RSS MB':>13}{'postgres CPU s':>16}"
        f"{'wall vs array':>15}",
        f"{'array engine (build + solve)':<34}{array['wall']:>9.1f}{array['cpu']:>9.1f}"
        f"{array['peak_rss_mb']:>13.0f}{'':>16}{1.0:>15.2f}",
    ]
    for step in o.steps:
        lines.append(
            f"{'API ' + step.name + ' (projects process)':<34}{step.wall:>9.1f}{step.cpu:>9.1f}"
            f"{step.peak_rss_mb:>13.0f}{step.postgres_cpu:>16.1f}"
            f"{step.wall / array['wall']:>15.2f}"
        )
    equal = run["quality"]["total"] == array["total"]
    lines += [
        "",
        f"candidate pairs: API {certificate.get('candidate_pairs', 0):,}, array "
        f"{array['candidate_pairs']:,}",
        f"objective: API {run['quality']['total']:,} ({run['quality']['assigned']:,} reviews, "
        f"optimal: {certificate.get('optimal')}), array {array['total']:,} ({array['reviews']:,} "
        f"reviews, optimal: {array['optimal']}): {'EQUAL' if equal else 'DIFFERENT'}",
        f"dry run answered {o.steps[0].notes.get('first_answer')}, polled "
        f"{o.steps[0].notes.get('polls', 0)} times; apply created {len(o.applied['created']):,} "
        f"assignments, round now {o.applied['round_state']}",
        f"service logs: {LOG_DIR}",
    ]
    return "\n".join(lines)


def top_functions(path: Path, most: int = 30) -> str:
    """The project's functions (not the framework's or libraries') a py-spy recording
    (collapsed stacks) spent the most samples in: all the time under them (inclusive), and in
    them alone or in library code they called directly (self)."""
    inclusive: Counter[str] = Counter()
    alone: Counter[str] = Counter()
    total = 0
    ours = ("(services/", "(shared/")
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        total += samples
        frames = [
            f.rsplit(":", 1)[0] + ")" for f in stack.split(";") if any(root in f for root in ours)
        ]
        for frame in set(frames):
            inclusive[frame] += samples
        if frames:
            alone[frames[-1]] += samples
    lines = [f"{total} samples; inclusive, self (with the libraries it calls), function"]
    for frame, samples in inclusive.most_common(most):
        name = frame
        lines.append(f"{samples / total:7.1%} {alone[frame] / total:7.1%}  {name}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.assignment_api", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--applications", type=int, default=10_000)
    parser.add_argument("--experts", type=int, default=5_000)
    parser.add_argument("--per-item", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--py-spy", type=Path, help="record flame graphs of projects here")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--top", type=Path, help="sum up a --py-spy recording, and stop")
    parser.add_argument("--array-engine-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not 10 <= args.applications <= 50_000 or not 10 <= args.experts <= 20_000:
        parser.error("--applications within 10..50000, --experts within 10..20000")
    if not 1 <= args.per_item <= 15:
        parser.error("--per-item within 1..15")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.top is not None:
        print(top_functions(args.top))
        return 0
    if args.array_engine_only:
        print(json.dumps(array_engine(args.applications, args.experts, args.per_item, args.seed)))
        return 0
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")  # embedded pg
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        outcome = measure(args)
    except KeyboardInterrupt:
        say("interrupted; everything was stopped")
        return 130
    print(report(outcome))
    if args.json is not None:
        figures = {
            "array": outcome.array,
            "steps": [vars(s) for s in outcome.steps],
            "total": outcome.run["quality"]["total"],
        }
        args.json.write_text(json.dumps(figures, indent=2))
    equal = outcome.run["quality"]["total"] == outcome.array["total"]
    return 0 if equal else 1


if __name__ == "__main__":
    sys.exit(main())
