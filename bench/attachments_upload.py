"""Fifty applicants upload a 20 MB attachment each, at once, through the gateway.

    .venv/bin/python -m bench.attachments_upload [--uploads 50] [--megabytes 20]

Starts PostgreSQL (embedded under .sciplan/bench-pg unless SCIPLAN_DATABASE_URL names a server),
a fresh database `sciplan_attachments_bench` and the API services as `make run` does (log level
WARNING, rate limits raised), the projects service keeping its files in a fresh directory store
(.sciplan/bench-objects, removed at the end). Prepares, through the API: an organization, a
program manager and an open call, and `--uploads` applicants each with a draft.

Measured, in one run:

1. **store alone** (baseline): the same bytes written by this process straight into a directory
   store, all uploads at once: what the disk and the hashing cost without HTTP;
2. **one upload** through the gateway (baseline): a single 20 MB upload, nothing else running;
3. **concurrent**: every applicant uploads at once through the gateway, each with their own
   token, multipart/form-data as a browser sends it.

For 3 it samples the resident memory (RSS) of the projects and gateway processes every 20 ms
and prints how much each grew above its level before the uploads (target for projects: under
200 MB), with the CPU seconds each used, the wall time, the throughput, and ratios against 1
and 2. Every upload must answer 201 with the SHA-256 of what was sent, and the store must hold
exactly those files. Everything is stopped at the end, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import secrets
import shutil
import signal
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from bench.gateway_overhead import (
    LOG_DIR,
    RATE_LIMITS,
    ROOT,
    cpu_seconds,
    free_ports,
    login,
    postgres_server,
)
from sciplan.stack import SERVICES, Stack
from shared.credit_code import check_character
from shared.devdb import create_database, drop_database
from shared.objectstore.directory import DirectoryStore

DATABASE = "sciplan_attachments_bench"
OBJECTS_DIR = ROOT / ".sciplan" / "bench-objects"
KEY_RD = "0193a5c0-0000-7000-8000-000000000002"  # 重点研发计划 (ZDYF), seeded
PASSWORD = "bench-applicant-password"
BOUNDARY = "sciplan-bench-boundary-7d1f"
SEND_CHUNK = 256 * 1024
MIB = 1024 * 1024


def say(message: str) -> None:
    print(f"# {message}", file=sys.stderr, flush=True)


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


# --- memory and CPU of the servers --------------------------------------------------------------


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


@dataclass
class RssWatch:
    """Samples the RSS of some processes in a thread until stopped; keeps each one's peak."""

    pids: dict[str, int]
    every: float = 0.02
    before: dict[str, int] = field(default_factory=dict)
    peak: dict[str, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> RssWatch:
        self.before = {name: rss_bytes(pid) for name, pid in self.pids.items()}
        self.peak = dict(self.before)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            for name, pid in self.pids.items():
                self.peak[name] = max(self.peak[name], rss_bytes(pid))

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def growth(self, name: str) -> int:
        return self.peak[name] - self.before[name]


# --- preparing through the API ------------------------------------------------------------------


async def _json(response: aiohttp.ClientResponse, expected: int) -> Any:
    body = await response.json(content_type=None)
    if response.status != expected:
        raise RuntimeError(f"{response.method} {response.url}: {response.status} {body}")
    return body


async def prepare(
    http: aiohttp.ClientSession, gateway: str, admin: str, uploads: int
) -> list[tuple[str, str]]:
    """(token, application id) for each applicant, each with a draft in one open call."""
    api = f"{gateway}/api/projects/v1"
    as_admin = {"Authorization": f"Bearer {admin}"}
    code = "91620100MA7N0BCH2"
    async with http.post(
        f"{gateway}/admin/v1/organizations",
        headers=as_admin,
        json={
            "name": "兰州大学",
            "credit_code": code + check_character(code),
            "kind": "university",
        },
    ) as r:
        org = await _json(r, 201)

    async def person(username: str, roles: list[str]) -> dict[str, Any]:
        async with http.post(
            f"{gateway}/admin/v1/users",
            headers=as_admin,
            json={
                "username": username,
                "password": PASSWORD,
                "display_name": username,
                "org_id": org["id"],
                "roles": roles,
            },
        ) as r:
            created: dict[str, Any] = await _json(r, 201)
            return created

    async def token(username: str) -> str:
        form = {"username": username, "password": PASSWORD}
        async with http.post(f"{gateway}/auth/token", data=form) as r:
            return str((await _json(r, 200))["access_token"])

    manager = await person("bench.manager", ["program_manager"])
    while True:  # once projects has heard of the manager from the gateway
        async with http.put(
            f"{api}/programs/{KEY_RD}/managers/{manager['id']}", headers=as_admin
        ) as r:
            if r.status in (200, 201, 204):
                break
        await asyncio.sleep(0.2)
    as_manager = {"Authorization": f"Bearer {await token('bench.manager')}"}
    now = datetime.now(UTC)
    async with http.post(
        f"{api}/calls",
        headers=as_manager,
        json={
            "program_id": KEY_RD,
            "year": 2026,
            "title": "附件上传压测",
            "guideline": "压测用。",
            "opens_at": (now - timedelta(minutes=1)).isoformat(),
            "closes_at": (now + timedelta(hours=6)).isoformat(),
            "budget_min_fen": 10_000_000,
            "budget_max_fen": 200_000_000,
            "required_attachments": ["feasibility_report"],
            "review_template": {
                "criteria": [
                    {"code": "quality", "name": "质量", "weight": 100, "min": 0, "max": 100}
                ]
            },
            "experts_per_application": 3,
            "notice_days": 7,
        },
    ) as r:
        call = await _json(r, 201)
    async with http.post(f"{api}/calls/{call['id']}/publish", headers=as_manager) as r:
        await _json(r, 200)

    people = [await person(f"bench.applicant{n}", ["applicant"]) for n in range(uploads)]
    drafts = []
    for applicant in people:
        headers = {"Authorization": f"Bearer {await token(applicant['username'])}"}
        content = {
            "title": "河西走廊盐碱地改良关键技术研究",
            "abstract": "研究盐碱地改良。",
            "keywords": ["盐碱地"],
            "subject_codes": ["210.2010"],
            "team": [{"user_id": applicant["id"], "role": "负责人", "share": 100}],
            "budget": {
                "equipment": 10_000_000,
                "business": 40_000_000,
                "labour": 20_000_000,
                "indirect": 10_000_000,
            },
            "milestones": [{"name": "完成", "due": "2027-12-31"}],
            "indicators": [{"name": "面积", "target": 5000, "unit": "亩"}],
            "attachments": [],
        }
        deadline = time.monotonic() + 60
        while True:  # once projects has heard of the applicant (and the team member)
            async with http.post(
                f"{api}/applications",
                headers=headers,
                json={"call_id": call["id"], "content": content},
            ) as r:
                if r.status == 201:
                    drafts.append((headers["Authorization"], (await r.json())["id"]))
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"no draft for {applicant['username']}: {await r.text()}")
            await asyncio.sleep(0.2)
    return drafts


# --- uploading ----------------------------------------------------------------------------------


def multipart(content: bytes) -> tuple[bytes, bytes]:
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="kind"\r\n\r\n'
        f"feasibility_report\r\n--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="file"; filename="report.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    return head, f"\r\n--{BOUNDARY}--\r\n".encode()


async def _body(head: bytes, content: bytes, tail: bytes) -> AsyncIterator[bytes]:
    yield head
    view = memoryview(content)
    for start in range(0, len(content), SEND_CHUNK):
        yield bytes(view[start : start + SEND_CHUNK])
    yield tail


async def upload(
    http: aiohttp.ClientSession, gateway: str, authorization: str, application: str, content: bytes
) -> tuple[float, str]:
    head, tail = multipart(content)
    started = time.monotonic()
    async with http.post(
        f"{gateway}/api/projects/v1/applications/{application}/attachments",
        headers={
            "Authorization": authorization,
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "Content-Length": str(len(head) + len(content) + len(tail)),
        },
        data=_body(head, content, tail),
    ) as r:
        body = await _json(r, 201)
    return time.monotonic() - started, str(body["sha256"])


async def store_alone(content: bytes, uploads: int, folder: Path) -> float:
    store = DirectoryStore(folder)

    async def chunks() -> AsyncIterator[bytes]:
        view = memoryview(content)
        for start in range(0, len(content), SEND_CHUNK):
            yield bytes(view[start : start + SEND_CHUNK])

    started = time.monotonic()
    await asyncio.gather(*(store.put(f"baseline/{n}", chunks()) for n in range(uploads)))
    return time.monotonic() - started


def load_average() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


@dataclass
class Figures:
    uploads: int
    size: int
    store_seconds: float = 0.0
    single_seconds: float = 0.0
    wall_seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    rss_before: dict[str, int] = field(default_factory=dict)
    rss_growth: dict[str, int] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    load: str = ""

    def mb_per_s(self, seconds: float, count: int) -> float:
        return count * self.size / MIB / seconds


async def measure(gateway: str, admin: str, pids: dict[str, int], args: Any) -> Figures:
    size = args.megabytes * MIB
    content = b"%PDF-1.7\n" + os.urandom(size - 9)
    expected = hashlib.sha256(content).hexdigest()
    figures = Figures(uploads=args.uploads, size=size)
    figures.load = load_average()
    timeout = aiohttp.ClientTimeout(total=600)
    connector = aiohttp.TCPConnector(limit=args.uploads + 4)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
        say(f"preparing {args.uploads} applicants with a draft each ...")
        drafts = await prepare(http, gateway, admin, args.uploads)

        say("baseline 1: the same bytes straight into a directory store ...")
        folder = OBJECTS_DIR.with_name("bench-objects-baseline")
        shutil.rmtree(folder, ignore_errors=True)
        try:
            figures.store_seconds = await store_alone(content, args.uploads, folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

        say("baseline 2: one upload through the gateway ...")
        single, digest = await upload(http, gateway, drafts[0][0], drafts[0][1], content)
        assert digest == expected
        figures.single_seconds = single

        say(f"measured: {args.uploads} uploads of {args.megabytes} MiB at once ...")
        await asyncio.sleep(1.0)  # let the servers settle after the single upload
        cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        with RssWatch(pids) as watch:
            started = time.monotonic()
            results = await asyncio.gather(
                *(upload(http, gateway, auth, app, content) for auth, app in drafts)
            )
            figures.wall_seconds = time.monotonic() - started
        figures.cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
        figures.rss_before = watch.before
        figures.rss_growth = {name: watch.growth(name) for name in pids}
        figures.latencies = sorted(seconds for seconds, _ in results)
        wrong = [digest for _, digest in results if digest != expected]
        if wrong:
            raise RuntimeError(f"{len(wrong)} uploads stored another SHA-256")
    files = [p for p in (OBJECTS_DIR / "attachments").rglob("*") if p.is_file()]
    if len(files) != args.uploads + 1 or any(p.stat().st_size != size for p in files):
        raise RuntimeError(f"the store holds {len(files)} files, not {args.uploads + 1}")
    return figures


def report(f: Figures, command: str) -> str:
    mb = 1024 * 1024
    total = f.uploads * f.size / mb
    through = f.mb_per_s(f.wall_seconds, f.uploads)
    alone = f.mb_per_s(f.store_seconds, f.uploads)
    single = f.mb_per_s(f.single_seconds, 1)
    p50 = f.latencies[len(f.latencies) // 2]
    lines = [
        f"command: {command}",
        f"load average at the start (1, 5, 15 min): {f.load}",
        f"{f.uploads} uploads x {f.size / mb:.0f} MiB = {total:.0f} MiB through the gateway",
        "",
        f"{'scenario':<34}{'seconds':>9}{'MiB/s':>9}{'ratio':>8}",
        f"{'store alone (baseline 1)':<34}{f.store_seconds:>9.2f}{alone:>9.1f}{1.0:>8.2f}",
        f"{'one upload via gateway (baseline 2)':<34}{f.single_seconds:>9.2f}{single:>9.1f}"
        f"{single / alone:>8.2f}",
        f"{'concurrent via gateway':<34}{f.wall_seconds:>9.2f}{through:>9.1f}"
        f"{through / alone:>8.2f}",
        f"concurrent/one-upload throughput: {through / single:.2f}x;"
        f" upload latency p50 {p50:.2f} s, max {f.latencies[-1]:.2f} s",
        "",
        f"{'process':<10}{'RSS before MB':>15}{'peak growth MB':>16}{'CPU s':>8}{'target':>10}",
    ]
    for name in ("projects", "gateway"):
        target = "< 200" if name == "projects" else ""
        lines.append(
            f"{name:<10}{f.rss_before[name] / 1e6:>15.1f}{f.rss_growth[name] / 1e6:>16.1f}"
            f"{f.cpu[name]:>8.2f}{target:>10}"
        )
    per_upload = f.rss_growth["projects"] / f.uploads / 1e6
    lines.append(
        f"projects RSS growth per concurrent upload: {per_upload:.2f} MB"
        f" (each file is {f.size / 1e6:.1f} MB)"
    )
    return "\n".join(lines)


@contextlib.contextmanager
def running_stack(server_url: str) -> Iterator[tuple[Stack, str]]:
    database_url = asyncio.run(create_database(server_url, DATABASE, drop_first=True))
    shutil.rmtree(OBJECTS_DIR, ignore_errors=True)
    ports = dict(zip(SERVICES, free_ports(len(SERVICES)), strict=True))
    extra_env = {f"SCIPLAN_{name.upper()}_LOG_LEVEL": "WARNING" for name in SERVICES}
    extra_env |= {
        "SCIPLAN_GATEWAY_RATE_LIMITS": json.dumps(RATE_LIMITS),
        "SCIPLAN_GATEWAY_CHEAP_PASSWORD_HASHING": "true",
        "SCIPLAN_PROJECTS_OBJECTS_DIR": str(OBJECTS_DIR),
        "SCIPLAN_PROJECTS_EVENT_POLL_SECONDS": "0.2",
        "SCIPLAN_GATEWAY_PROXY_TIMEOUT_SECONDS": "120",
    }
    stack = Stack(
        database_url=database_url,
        ports=ports,
        services=tuple(s for s in SERVICES if s != "portal"),
        environment="test",  # cheap password hashing for the bench's applicants
        log_dir=LOG_DIR / "attachments",
        extra_env=extra_env,
    )
    password = secrets.token_urlsafe(16)
    try:
        say("migrating, starting the services ...")
        stack.prepare(password)
        stack.start_all()
        stack.wait_ready()
        yield stack, password
    finally:
        stack.stop()
        shutil.rmtree(OBJECTS_DIR, ignore_errors=True)
        asyncio.run(drop_database(server_url, DATABASE))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--uploads", type=int, default=50)
    parser.add_argument("--megabytes", type=int, default=20, help="MiB per file (at most 20)")
    args = parser.parse_args(argv)
    command = " ".join([".venv/bin/python -m bench.attachments_upload", *(argv or sys.argv[1:])])
    signal.signal(signal.SIGTERM, _interrupt)
    with postgres_server() as (server_url, _), running_stack(server_url) as (stack, password):
        admin = login(stack.gateway_url, password)
        pids = {name: stack.processes[name].pid for name in ("projects", "gateway")}
        figures = asyncio.run(measure(stack.gateway_url, admin, pids, args))
    print(report(figures, command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
