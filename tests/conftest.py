"""Fixtures for SciPlan's own apps: in-process apps on the test transaction, and real processes.

In-process: the gateway and each service run their real lifespans; their requests share the
test's rolled-back transaction; the services fetch the gateway's real JWKS through ASGI.
End-to-end: `stack` runs all five services as processes on a database of their own, notify
mailing to an SMTP server in the test process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sciplan.stack import SERVICES, Stack, StartFailed, compile_sources, process_names
from services.credit.config import CreditSettings
from services.credit.main import create_app as credit_app
from services.funds.config import FundsSettings
from services.funds.main import create_app as funds_app
from services.gateway.auth.passwords import hash_cheaply_for_tests
from services.gateway.config import GatewaySettings
from services.gateway.identity.schemas import UserCreate
from services.gateway.identity.service import IdentityService
from services.gateway.main import create_app as gateway_app
from services.projects.config import ProjectsSettings
from services.projects.main import create_app as projects_app
from shared.auth.roles import Role
from shared.credit_code import check_character
from shared.testing.plugin import migrated_database, running_app
from tests.mail_catcher import SmtpServer, smtp_server
from tests.s3_server import S3Server, s3_server

PASSWORD = "correct-horse-battery"


def pytest_configure(config: pytest.Config) -> None:
    # Accounts made in the test process (make_user, the stacks' admins) hash their passwords at
    # argon2's lowest cost, as the test stacks' gateways do (`cheap_password_hashing`): a
    # standard hash costs about 0.1 s of CPU, and the suite makes thousands.
    hash_cheaply_for_tests()
    if not hasattr(config, "workerinput"):
        # Before xdist starts its workers, which then import compiled modules instead of each
        # compiling them where PYTHONDONTWRITEBYTECODE is set (as do the stacks' processes).
        compile_sources()


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """With several workers (`make test`), every end-to-end test runs on one of them, in order:
    they share one stack of service processes and mostly wait; the in-process tests keep the
    other workers busy meanwhile."""
    for item in items:
        if "e2e" in item.path.parts:
            item.add_marker(pytest.mark.xdist_group("e2e"))


@pytest.hookimpl(trylast=True)  # after xdist named the groups in the node ids
def pytest_collection_finish(session: pytest.Session) -> None:
    """A worker whose xdist no longer groups (pytest-dev/pytest-xdist#1386) would spread the
    end-to-end tests over the workers and break the order the seed-demo module relies on."""
    if not getattr(session.config.option, "loadgroup", False):
        return
    lost = [i.nodeid for i in session.items if "e2e" in i.path.parts and "@e2e" not in i.nodeid]
    if lost:
        raise pytest.UsageError(f"xdist lost the e2e group of {len(lost)} tests, e.g. {lost[0]}")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line naming the browser tests skipped for want of Chromium, and how to get it."""
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if "browser" in report.nodeid.split("::")[0] and "no Chromium" in str(report.longrepr)
    ]
    if skipped:
        terminalreporter.write_line(
            f"{len(skipped)} browser tests skipped: no Chromium "
            "(apt-get install chromium, or set SCIPLAN_CHROMIUM to a Chromium binary)",
            yellow=True,
        )


# Tests log in many times from one address; only the rate-limit tests want tight buckets.
_ROOMY = {"per_minute": 100_000, "burst": 10_000}
ROOMY_RATE_LIMITS = {
    group: {"user": _ROOMY, "address": _ROOMY} for group in ("api", "auth", "admin")
}


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Server]:
    """An S3-compatible server process (moto) for the whole run, started when first asked for."""
    with s3_server() as server:
        yield server


@pytest.fixture
async def gateway(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[FastAPI]:
    settings = GatewaySettings.model_validate(
        {
            "database_url": database_url,
            "environment": "test",
            "consume_events": False,  # no projects service beside it
            "portal_url": "",  # nor a portal: other paths are 404
            "rate_limits": ROOMY_RATE_LIMITS,
        }
    )
    async with running_app(gateway_app(settings), sessionmaker) as app:
        yield app


@pytest.fixture
async def gateway_client(gateway: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=gateway, client=("10.1.2.3", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client


ServiceClients = dict[str, httpx.AsyncClient]


@pytest.fixture
async def service_clients(
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    gateway_client: httpx.AsyncClient,
) -> AsyncIterator[ServiceClients]:
    """projects, credit and funds in-process, verifying tokens with the gateway's JWKS."""

    async def jwks() -> dict[str, Any]:
        document: dict[str, Any] = (await gateway_client.get("/.well-known/jwks.json")).json()
        return document

    url = SecretStr(database_url)
    apps = {
        "projects": projects_app(ProjectsSettings(database_url=url), jwks_fetch=jwks),
        "credit": credit_app(CreditSettings(database_url=url), jwks_fetch=jwks),
        "funds": funds_app(FundsSettings(database_url=url), jwks_fetch=jwks),
    }
    async with contextlib.AsyncExitStack() as stack:
        clients: ServiceClients = {}
        for name, app in apps.items():
            await stack.enter_async_context(running_app(app, sessionmaker))
            clients[name] = await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{name}")
            )
        yield clients


MakeUser = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def make_user(session: AsyncSession) -> MakeUser:
    """Creates a user in the gateway (through its service layer) and returns its fields."""
    counter = 0

    async def make(*roles: Role, org_id: Any = None, username: str | None = None) -> dict[str, Any]:
        nonlocal counter
        counter += 1
        user = await IdentityService(session).create_user(
            UserCreate(
                username=username or f"user{counter}-{os.getpid()}",
                password=PASSWORD,
                display_name=f"测试用户{counter}",
                org_id=org_id,
                roles=list(roles),
            ),
            granted_by=None,
        )
        await session.commit()
        return {"id": user.id, "username": user.username, "password": PASSWORD}

    return make


Login = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


@pytest.fixture
def login(gateway_client: httpx.AsyncClient) -> Login:
    async def do(user: dict[str, Any]) -> dict[str, Any]:
        response = await gateway_client.post(
            "/auth/token", data={"username": user["username"], "password": user["password"]}
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    return do


@dataclass
class Clock:
    """A service clock the tests move (`app.state.clock`), to cross deadlines and windows."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def org_code(n: int) -> str:
    body = f"9162010{n:010d}"
    return body + check_character(body)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- end-to-end: real processes --------------------------------------------------------------


def free_port_block(count: int) -> int:
    """The first of `count` consecutive free ports (as `sciplan dev --ports-from` takes them),
    below the kernel's ephemeral range: there, any process's outgoing connection may take one
    of them between this check and the services' start."""
    for _ in range(200):
        base = random.randrange(20_000, 32_000 - count)
        sockets = [socket.socket() for _ in range(count)]
        try:
            for offset, s in enumerate(sockets):
                s.bind(("127.0.0.1", base + offset))
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
        return base
    raise RuntimeError(f"no {count} consecutive free ports")


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@dataclass
class RunningStack:
    stack: Stack
    admin_password: str
    # What notify mailed, when the stack was given the test's SMTP server.
    mail: SmtpServer | None = None
    # The services' test clock (seconds ahead of the real time), when the stack was given one.
    clock_file: Path | None = None

    @property
    def url(self) -> str:
        return self.stack.gateway_url

    @property
    def gateway_urls(self) -> list[str]:
        return self.stack.gateway_urls


E2E_ADMIN_PASSWORD = "e2e-admin-password"


@contextlib.contextmanager
def running_stack(
    database_url: str,
    log_dir: Path,
    extra_env: dict[str, str] | None = None,
    *,
    portal: bool = False,
    services: tuple[str, ...] | None = None,
    replicas: int = 1,
    gateways: int = 1,
) -> Iterator[RunningStack]:
    """The services as real processes (the machinery of `make run`) on `database_url`, the web
    portal too with `portal` (only the browser tests need it; the others save its start), or
    just `services`; each service in `replicas` processes behind `gateways` gateways. Notify
    writes its mail into `log_dir/mail` unless `extra_env` names an SMTP server. A start that
    fails fails the test with the services' last log lines."""
    if services is None:
        services = SERVICES if portal else tuple(s for s in SERVICES if s != "portal")
    processes = process_names(SERVICES, replicas, gateways)
    ports = dict(zip(processes, free_ports(len(processes)), strict=True))
    stack = Stack(
        database_url=database_url,
        ports=ports,
        services=services,
        replicas=replicas,
        gateways=gateways,
        environment="test",
        log_dir=log_dir,
        extra_env={
            # Twelve feeds are polled in a stack: often enough that the tests wait little, seldom
            # enough that an idle stack leaves the cores to the tests running meanwhile.
            "SCIPLAN_PROJECTS_EVENT_POLL_SECONDS": "0.4",
            "SCIPLAN_CREDIT_EVENT_POLL_SECONDS": "0.4",
            "SCIPLAN_FUNDS_EVENT_POLL_SECONDS": "0.4",
            "SCIPLAN_NOTIFY_EVENT_POLL_SECONDS": "0.4",
            "SCIPLAN_GATEWAY_EVENT_POLL_SECONDS": "0.4",
            "SCIPLAN_NOTIFY_DELIVERY_POLL_SECONDS": "0.4",
            "SCIPLAN_PROJECTS_REPORT_REMINDER_SECONDS": "1",
            "SCIPLAN_NOTIFY_MAIL_DIR": str(log_dir / "mail"),
            "SCIPLAN_PROJECTS_OBJECTS_DIR": str(log_dir / "objects"),
            "SCIPLAN_PROJECTS_JWKS_CACHE_SECONDS": "1",
            "SCIPLAN_CREDIT_JWKS_CACHE_SECONDS": "1",
            "SCIPLAN_FUNDS_JWKS_CACHE_SECONDS": "1",
            "SCIPLAN_NOTIFY_JWKS_CACHE_SECONDS": "1",
            "SCIPLAN_GATEWAY_KEY_CACHE_SECONDS": "0.5",
            # Above the slowest call of a loaded test machine, below the clients' 30 s.
            "SCIPLAN_GATEWAY_PROXY_TIMEOUT_SECONDS": "12",
            "SCIPLAN_GATEWAY_RATE_LIMITS": json.dumps(ROOMY_RATE_LIMITS),
            "SCIPLAN_GATEWAY_PUBLIC_OBJECTION_PER_ADDRESS": json.dumps(_ROOMY),
            "SCIPLAN_GATEWAY_MAX_BODY_BYTES": "65536",
            "SCIPLAN_GATEWAY_CHEAP_PASSWORD_HASHING": "true",
            **(extra_env or {}),
        },
    )
    stack.prepare(E2E_ADMIN_PASSWORD)
    stack.start_all()
    try:
        try:
            stack.wait_ready()
        except StartFailed as exc:
            pytest.fail(exc.report(), pytrace=False)
        yield RunningStack(stack=stack, admin_password=E2E_ADMIN_PASSWORD)
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def stack(
    postgres_server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningStack]:
    """The stack every end-to-end test shares, on a database of its own. Its clock stays at the
    real time unless a test moves it (`clock_file`), and puts it back when done."""
    logs = Path(tmp_path_factory.mktemp("stack-logs"))
    clock_file = logs / "clock"
    clock_file.write_text("0")
    clocks = {
        f"SCIPLAN_{s}_TEST_CLOCK_FILE": str(clock_file)
        for s in ("PROJECTS", "CREDIT", "FUNDS", "NOTIFY")
    }
    with (
        smtp_server() as mail,
        migrated_database(postgres_server_url, f"sciplan_e2e_{os.getpid()}") as url,
        running_stack(
            url,
            logs,
            {
                "SCIPLAN_NOTIFY_SMTP_HOST": "127.0.0.1",
                "SCIPLAN_NOTIFY_SMTP_PORT": str(mail.port),
                **clocks,
            },
            portal=True,
        ) as running,
    ):
        running.mail = mail
        running.clock_file = clock_file
        yield running


async def wait_until(check: Callable[[], Awaitable[bool]], seconds: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {seconds}s")
        await asyncio.sleep(0.1)
