"""What a portal page costs on the server: a review expert's list of assignments and score sheet,
through the gateway (the portal and the API calls it makes as the expert), each next to the
one API call it wraps, measured in the same run.

    .venv/bin/python -m bench.portal_pages [--assignments 10] [--duration 5] [--warmup 1]
                                           [--concurrency 1] [--rounds 1]

Starts PostgreSQL (embedded under .sciplan/bench-pg unless SCIPLAN_DATABASE_URL names a server),
a fresh database `sciplan_portal_bench` and the six processes as `make run` does (log level
WARNING, gateway rate limits raised so they never refuse but still run). Then, through the
gateway's API: a published call whose `--assignments` applications (one per applicant, each
with a PDF) are submitted, endorsed and formally passed, an expert assigned to all of them by
hand, every assignment accepted and one sheet drafted; and the expert logs in to the portal.

Measured, closed loop, with `bench.loadgen` in a process of its own:

1. `GET /api/projects/v1/me/assignments?limit=200` with the expert's token (what the list wraps);
2. `GET /expert/assignments` with the expert's portal session (the page);
3. `GET /api/projects/v1/me/assignments/{id}` (what the score sheet wraps);
4. `GET /expert/assignments/{id}/sheet` (the page, on the drafted sheet).

With one connection (the default) a request never queues, so its latency is the server time
of the path. It prints requests per second, p50 and p99, the page/API ratio of the p50, the
API calls each page makes (the portal's `X-Portal-Api-Calls` header) and the CPU milliseconds
per request of each process. Everything is stopped at the end, also on Ctrl-C or an error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import secrets
import signal
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.gateway_overhead import (
    LOG_DIR,
    RATE_LIMITS,
    CpuMeter,
    Measured,
    Scenario,
    free_ports,
    postgres_server,
    postmaster_pid,
    run_load,
)
from sciplan.stack import SERVICES, Stack
from shared.credit_code import check_character
from shared.devdb import create_database, drop_database

DATABASE = "sciplan_portal_bench"
HOST = "127.0.0.1"
PASSWORD = "bench-user-password"
ZDYF = "0193a5c0-0000-7000-8000-000000000002"  # 重点研发计划, seeded by migration
SUBJECT = "210.2010"
PDF = b"%PDF-1.4\n" + b"0" * 4_000 + b"\n%%EOF\n"
PAGES = (("list", "my assignments"), ("sheet", "score sheet"))


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _code(n: int) -> str:
    body = f"91620100MA7B{n:05d}"
    return body + check_character(body)


# --- the review, through the gateway --------------------------------------------------------


class Gateway:
    """Calls through the gateway; every answer must be the expected one."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=30)

    def close(self) -> None:
        self.http.close()

    def token(self, username: str, password: str = PASSWORD) -> dict[str, str]:
        reply = self.http.post("/auth/token", data={"username": username, "password": password})
        self.expect(reply, 200, f"login {username}")
        return {"Authorization": f"Bearer {reply.json()['access_token']}"}

    @staticmethod
    def expect(reply: httpx.Response, status: int, what: str) -> Any:
        if reply.status_code != status:
            raise RuntimeError(f"{what}: {reply.status_code} {reply.text[:500]}")
        return reply.json() if reply.content else None

    def call(
        self, method: str, path: str, who: dict[str, str], status: int = 200, **kwargs: Any
    ) -> Any:
        reply = self.http.request(method, f"/api/projects/v1{path}", headers=who, **kwargs)
        return self.expect(reply, status, f"{method} {path}")

    def until(self, what: str, attempt: Callable[[], bool], seconds: float = 60.0) -> None:
        """Retries until the services have heard of each other (events between them)."""
        deadline = time.monotonic() + seconds
        while not attempt():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what}: not after {seconds:.0f} s")
            time.sleep(0.2)

    def status_of(self, method: str, path: str, who: dict[str, str], **kwargs: Any) -> int:
        reply = self.http.request(method, f"/api/projects/v1{path}", headers=who, **kwargs)
        return reply.status_code


@dataclass(frozen=True)
class Prepared:
    expert_token: dict[str, str]
    cookie: str
    assignment_id: str  # the one with a drafted sheet


def _user(gw: Gateway, admin: dict[str, str], name: str, roles: list[str], org: str | None) -> str:
    reply = gw.http.post(
        "/admin/v1/users",
        headers=admin,
        json={
            "username": name,
            "password": PASSWORD,
            "display_name": name,
            "org_id": org,
            "roles": roles,
        },
    )
    created: dict[str, Any] = gw.expect(reply, 201, f"user {name}")
    return str(created["id"])


def _org(gw: Gateway, admin: dict[str, str], name: str, n: int) -> str:
    reply = gw.http.post(
        "/admin/v1/organizations",
        headers=admin,
        json={"name": name, "credit_code": _code(n), "kind": "university"},
    )
    created: dict[str, Any] = gw.expect(reply, 201, f"organization {name}")
    return str(created["id"])


def _content(pi_id: str, n: int, attachment: str | None) -> dict[str, Any]:
    return {
        "title": f"河西走廊盐碱地改良关键技术研究（课题{n}）",
        "abstract": "研究盐碱地改良的生物与工程措施，并在张掖开展示范。" * 5,
        "keywords": ["盐碱地", "土壤改良"],
        "subject_codes": [SUBJECT],
        "team": [{"user_id": pi_id, "role": "负责人", "share": 100}],
        "budget": {
            "equipment": 10_000_000,
            "business": 40_000_000,
            "labour": 20_000_000,
            "indirect": 10_000_000,
        },
        "milestones": [{"name": "完成试验区建设", "due": "2027-12-31"}],
        "indicators": [{"name": "改良面积", "target": 5000, "unit": "亩"}],
        "attachments": [{"id": attachment, "kind": "feasibility_report"}] if attachment else [],
    }


def _portal_session(gw: Gateway, username: str) -> str:
    """Logs in to the portal as a browser does; the Cookie header of that session."""
    with httpx.Client(base_url=gw.url, timeout=30) as browser:
        browser.get("/login")
        form = {
            "username": username,
            "password": PASSWORD,
            "next": "/expert/assignments",
            "csrf_token": browser.cookies["sp_csrf"],
        }
        reply = browser.post("/login", data=form)
        if reply.status_code != 303 or "sp_session" not in browser.cookies:
            raise RuntimeError(f"portal login: {reply.status_code} {reply.text[:300]}")
        return "; ".join(f"{name}={value}" for name, value in browser.cookies.items())


def prepare(gw: Gateway, admin_password: str, count: int) -> Prepared:
    admin = gw.token("admin", admin_password)
    home = _org(gw, admin, "西北师范大学", 1)
    other = _org(gw, admin, "兰州大学草地研究所", 2)
    pm = _user(gw, admin, "bench-pm", ["program_manager"], None)
    _user(gw, admin, "bench-oa", ["org_admin"], home)
    expert = _user(gw, admin, "bench-expert", ["expert"], other)
    pis = [_user(gw, admin, f"bench-pi{n}", ["applicant"], home) for n in range(count)]

    gw.until(
        "manager assigned",
        lambda: gw.status_of("PUT", f"/programs/{ZDYF}/managers/{pm}", admin) in (200, 201, 204),
    )
    manager = gw.token("bench-pm")
    pool_entry = {
        "title": "研究员",
        "region": "甘肃",
        "primary_subjects": [SUBJECT],
        "keywords": ["盐碱地"],
        "max_load": max(count, 1),
    }
    gw.until(
        "expert in the pool",
        lambda: gw.status_of("PUT", f"/experts/{expert}", manager, json=pool_entry) in (200, 201),
    )
    tokens = [gw.token(f"bench-pi{n}") for n in range(count)]
    for token in tokens:

        def known(token: dict[str, str] = token) -> bool:
            return gw.call("GET", "/me", token)["in_directory"] is True

        gw.until("applicant known", known)

    now = dt.datetime.now(dt.UTC)
    closes_at = now + dt.timedelta(seconds=10 + count)
    call = gw.call(
        "POST",
        "/calls",
        manager,
        201,
        json={
            "program_id": ZDYF,
            "year": 2026,
            "title": "2026年度重点研发计划（农业领域）",
            "guideline": "支持盐碱地治理、节水农业等方向。",
            "opens_at": (now - dt.timedelta(minutes=1)).isoformat(),
            "closes_at": closes_at.isoformat(),
            "budget_min_fen": 10_000_000,
            "budget_max_fen": 200_000_000,
            "required_attachments": ["feasibility_report"],
            "review_template": {
                "criteria": [
                    {"code": "innovation", "name": "创新性", "weight": 60, "min": 0, "max": 100},
                    {"code": "feasibility", "name": "可行性", "weight": 40, "min": 0, "max": 100},
                ]
            },
            "experts_per_application": 1,
            "notice_days": 7,
        },
    )
    gw.call("POST", f"/calls/{call['id']}/publish", manager)
    applications = []
    for n, (pi, token) in enumerate(zip(pis, tokens, strict=True)):
        draft = gw.call(
            "POST",
            "/applications",
            token,
            201,
            json={"call_id": call["id"], "content": _content(pi, n, None)},
        )
        upload = gw.call(
            "POST",
            f"/applications/{draft['id']}/attachments",
            token,
            201,
            data={"kind": "feasibility_report"},
            files={"file": ("报告.pdf", PDF, "application/pdf")},
        )
        gw.call(
            "PUT",
            f"/applications/{draft['id']}",
            token,
            json={"base_version": 1, "content": _content(pi, n, upload["id"])},
        )
        gw.call("POST", f"/applications/{draft['id']}/submit", token)
        applications.append(draft["id"])
    org_admin = gw.token("bench-oa")
    for application_id in applications:
        gw.call(
            "POST",
            f"/applications/{application_id}/endorsement",
            org_admin,
            json={"decision": "endorse", "reason": "同意推荐"},
        )
        gw.call(
            "POST",
            f"/applications/{application_id}/formal-check/decision",
            manager,
            json={"decision": "pass", "reason": "形式审查合格"},
        )
    say(f"waiting for the call to close at {closes_at:%H:%M:%S} UTC ...")
    round_body = {
        "kind": "proposal",
        "deadline": (now + dt.timedelta(days=7)).isoformat(),
        "experts_per_item": 1,
    }
    opened: dict[str, Any] = {}

    def open_round() -> bool:
        reply = gw.http.post(
            f"/api/projects/v1/calls/{call['id']}/review-rounds", headers=manager, json=round_body
        )
        opened.update(reply.json())
        return reply.status_code == 201

    gw.until("review round opened", open_round, seconds=60 + count)
    expert_token = gw.token("bench-expert")
    assignments = []
    for application_id in applications:
        added: dict[str, Any] = {}

        def add(application_id: str = application_id, added: dict[str, Any] = added) -> bool:
            reply = gw.http.post(
                f"/api/projects/v1/review-rounds/{opened['id']}/assignments",
                headers=manager,
                json={"application_id": application_id, "expert_id": expert, "reason": "对口"},
            )
            added.update(reply.json())
            return reply.status_code == 201

        gw.until("expert assigned", add)
        gw.call("POST", f"/assignments/{added['id']}/accept", expert_token)
        assignments.append(str(added["id"]))
    gw.call(
        "PUT",
        f"/assignments/{assignments[0]}/sheet",
        expert_token,
        json={
            "scores": {"innovation": 85},
            "comments": {"innovation": "技术路线清晰，创新点明确，试验设计合理。"},
        },
    )
    return Prepared(expert_token, _portal_session(gw, "bench-expert"), assignments[0])


# --- the run ---------------------------------------------------------------------------------


@dataclass
class Outcome:
    measured: dict[str, Measured]
    api_calls: dict[str, int]
    args: argparse.Namespace


def measure(args: argparse.Namespace) -> Outcome:
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
        say(f"setting up a review with {args.assignments} assignments ...")
        prepared = prepare(gw, password, args.assignments)

        api = f"{stack.gateway_url}/api/projects/v1"
        page = f"{stack.gateway_url}/expert/assignments"
        one = prepared.assignment_id
        token, session = prepared.expert_token, {"Cookie": prepared.cookie}
        scenarios = {
            "list-api": (
                Scenario("list-api", "API  /me/assignments", f"{api}/me/assignments?limit=200"),
                token,
            ),
            "list": (Scenario("list", "page /expert/assignments", page), session),
            "sheet-api": (
                Scenario("sheet-api", "API  /me/assignments/{id}", f"{api}/me/assignments/{one}"),
                token,
            ),
            "sheet": (
                Scenario("sheet", "page /expert/assignments/{id}/sheet", f"{page}/{one}/sheet"),
                session,
            ),
        }
        api_calls = {}
        for key, _ in PAGES:
            scenario, headers = scenarios[key]
            reply = gw.http.get(scenario.url, headers=headers)
            if reply.status_code != 200:
                raise RuntimeError(f"{scenario.url}: {reply.status_code} {reply.text[:300]}")
            api_calls[key] = int(reply.headers["x-portal-api-calls"])

        pids = {name: process.pid for name, process in stack.processes.items()}
        meter = CpuMeter(pids, postmaster_pid(data_dir) if data_dir is not None else None)
        measured = {key: Measured(scenario) for key, (scenario, _) in scenarios.items()}
        for round_no in range(1, args.rounds + 1):
            for key, (scenario, headers) in scenarios.items():
                say(
                    f"round {round_no}/{args.rounds}: {scenario.label}: {args.warmup:g} s warm-up,"
                    f" {args.duration:g} s measured, {args.concurrency} connection(s) ..."
                )
                if "Authorization" in headers:  # fresh: access tokens live 15 minutes
                    headers = gw.token("bench-expert")
                spec = {
                    "url": scenario.url,
                    "headers": headers,
                    "concurrency": args.concurrency,
                    "warmup_seconds": args.warmup,
                    "duration_seconds": args.duration,
                }
                result, cpu = run_load(spec, meter)
                measured[key].runs.append(result)
                measured[key].cpu_ms_per_request.append(cpu)
        say("stopping everything ...")
        return Outcome(measured, api_calls, args)
    raise AssertionError("unreachable")  # pragma: no cover


def report(outcome: Outcome) -> str:
    args, measured = outcome.args, outcome.measured
    lines = [
        "",
        f"SciPlan portal pages  {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC  {platform.node()}"
        f"  {os.cpu_count()} CPUs  Python {platform.python_version()}",
        f"a review expert with {args.assignments} assignments; closed loop, {args.concurrency}"
        f" connection(s), {args.warmup:g} s warm-up + {args.duration:g} s measured,"
        f" {args.rounds} round(s)" + (" (medians)" if args.rounds > 1 else ""),
        "",
        f"{'scenario':<40}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'API calls':>11}"
        f"{'vs API':>8}",
    ]
    for key, label in PAGES:
        api, page = measured[f"{key}-api"], measured[key]
        api_p50 = api.median("p50_ms")
        ratio = f"{page.median('p50_ms') / api_p50:.2f}"
        for m, calls, versus in ((api, "1", "1.00"), (page, str(outcome.api_calls[key]), ratio)):
            lines.append(
                f"{m.scenario.label:<40}{m.median('requests_per_second'):>8.0f}"
                f"{m.median('p50_ms'):>9.2f}{m.median('p99_ms'):>9.2f}{m.errors:>8d}"
                f"{calls:>11}{versus:>8}"
            )
        lines.append(
            f"  {label}: the page takes {page.median('p50_ms') - api_p50:+.2f} ms (p50) over the"
            f" API call it wraps"
        )
    lines += ["", "CPU ms per request by process (whole scenario, warm-up included):"]
    columns = ["gateway", "portal", "projects", "postgres", "loadgen"]
    if not any("postgres" in s for m in measured.values() for s in m.cpu_ms_per_request):
        columns.remove("postgres")  # an external server: its CPU is not ours to read
    lines.append(f"{'scenario':<40}" + "".join(f"{name:>10}" for name in columns) + f"{'sum':>10}")
    for m in measured.values():
        values = [m.cpu_median(name) for name in columns]
        cells = "".join(f"{value:>10.3f}" for value in values)
        lines.append(f"{m.scenario.label:<40}{cells}{sum(values):>10.3f}")
    for m in measured.values():
        if m.error_kinds():
            lines.append(f"errors in {m.scenario.label}: {m.error_kinds()}")
    lines.append(f"service logs: {LOG_DIR}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.portal_pages", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--assignments", type=int, default=10, help="the expert's (10)")
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds (5)")
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds (1)")
    parser.add_argument("--concurrency", type=int, default=1, help="connections (1)")
    parser.add_argument("--rounds", type=int, default=1, help="repeat all scenarios (1)")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args(argv)
    if not 1 <= args.assignments <= 200:
        parser.error("--assignments must be within 1..200 (one page of the API's list)")
    if not 0 < args.duration <= 120 or not 0 <= args.warmup <= 60:
        parser.error("--duration must be within (0, 120] and --warmup within [0, 60]")
    if not 1 <= args.concurrency <= 256 or not 1 <= args.rounds <= 10:
        parser.error("--concurrency must be within 1..256 and --rounds within 1..10")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")  # embedded pg
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        outcome = measure(args)
    except KeyboardInterrupt:
        say("interrupted; everything was stopped")
        return 130
    print(report(outcome))
    if args.json is not None:
        raw = {
            key: {"runs": m.runs, "cpu_ms": m.cpu_ms_per_request}
            for key, m in outcome.measured.items()
        }
        args.json.write_text(json.dumps({"api_calls": outcome.api_calls, **raw}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
