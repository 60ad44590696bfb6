"""The whole product on one machine: database, migrations, accounts, five service processes.

`make run` (through `sciplan dev`) and the end-to-end tests use this same machinery.
"""

from __future__ import annotations

import asyncio
import compileall
import contextlib
import ctypes
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from pydantic import SecretStr

from services.gateway import operations
from services.gateway.config import GatewaySettings
from services.gateway.service_accounts import SERVICE_AUDIENCES
from shared.migrate import upgrade_all

SERVICES = ("gateway", "projects", "credit", "funds", "notify", "portal")
# The services behind `/api/<service>`, each with an account of its own at the gateway. The
# portal has none: it calls the API as the person using it, never as itself.
API_SERVICES = ("projects", "credit", "funds", "notify")
DEFAULT_PORTS = {
    "gateway": 8000,
    "projects": 8001,
    "credit": 8002,
    "funds": 8003,
    "notify": 8004,
    "portal": 8005,
}
_PR_SET_PDEATHSIG = 1
# Without ports given, replica k (from 2) of a service listens on its default port + 10 (k - 1).
REPLICA_PORT_STEP = 10

# How long `sciplan dev` and the end-to-end stacks wait for every service to answer /readyz.
# Generous: on a loaded machine the four processes' imports alone have taken over a minute.
START_TIMEOUT_VARIABLE = "SCIPLAN_START_TIMEOUT_SECONDS"
DEFAULT_START_TIMEOUT = 300.0
# While waiting, say who is still starting this often (and whenever someone becomes ready).
PROGRESS_EVERY_SECONDS = 10.0
# How often a starting service is asked whether it is ready: a refused connection costs next
# to nothing, and a service found ready sooner is a test or a `make run` that goes on sooner.
READY_POLL_SECONDS = 0.1
# A failed start shows this many of a service's last log lines, each cut to this length.
LOG_TAIL_LINES = 12
LOG_LINE_CHARS = 300
SOURCE_ROOT = Path(__file__).resolve().parent.parent
SOURCE_PACKAGES = ("sciplan", "services", "shared")

Progress = Callable[[list[str], list[str], float], None]  # ready, starting, seconds waited


@dataclass(frozen=True)
class ServiceLog:
    """Where a service's full log is, and its last lines."""

    service: str
    path: Path
    last_lines: list[str]


class StartFailed(RuntimeError):
    """The stack did not start; the message is one line for the operator, `logs` the last
    lines of the services concerned (those that write to a log file)."""

    def __init__(self, message: str, logs: Sequence[ServiceLog] = ()) -> None:
        super().__init__(message)
        self.logs = list(logs)

    def report(self) -> str:
        """The message, then each service's last log lines and where its full log is."""
        lines = [str(self)]
        for log in self.logs:
            lines.append(f"  {log.service}, last lines of {log.path}:")
            lines += [f"    {line}" for line in log.last_lines] or ["    (empty)"]
        return "\n".join(lines)


def last_lines(path: Path, count: int = LOG_TAIL_LINES) -> list[str]:
    """The file's last `count` lines (none if it is missing), each cut to LOG_LINE_CHARS."""
    try:
        with path.open("rb") as file:
            file.seek(0, os.SEEK_END)
            # Enough for `count` long lines without reading a big log whole.
            file.seek(max(0, file.tell() - count * LOG_LINE_CHARS * 4))
            tail = deque(file, maxlen=count)
    except OSError:
        return []
    lines = [raw.decode("utf-8", "replace").rstrip() for raw in tail]
    return [
        line if len(line) <= LOG_LINE_CHARS else line[:LOG_LINE_CHARS] + " ..." for line in lines
    ]


def compile_sources() -> None:
    """Byte-compiles SciPlan's own modules once, before the services import them.

    Where PYTHONDONTWRITEBYTECODE is set (containers, CI), Python never caches what it compiles,
    so every service process compiled every module it imports anew: about half of its start-up.
    Up-to-date files are skipped (a few milliseconds in all); errors are left to the import.
    """
    for package in SOURCE_PACKAGES:
        compileall.compile_dir(SOURCE_ROOT / package, quiet=2)


def _relay(source: IO[bytes], log: IO[bytes], echo: IO[bytes]) -> None:
    """Copies a service's output line by line to its log file and to `echo` (the terminal)."""
    with source, log:
        for line in source:
            log.write(line)
            log.flush()
            with contextlib.suppress(OSError, ValueError):  # a closed terminal: the log goes on
                echo.write(line)
                echo.flush()


def start_timeout() -> float:
    """The start-up deadline in seconds, from SCIPLAN_START_TIMEOUT_SECONDS (default 300)."""
    text = os.environ.get(START_TIMEOUT_VARIABLE, "").strip()
    if not text:
        return DEFAULT_START_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise StartFailed(
            f"{START_TIMEOUT_VARIABLE} must be a positive number of seconds: {text!r}"
        )
    return seconds


def replica_name(service: str, k: int) -> str:
    """The process name of a service's replica k (from 1): `projects`, `projects-2`, ..."""
    return service if k == 1 else f"{service}-{k}"


def service_of(process: str) -> str:
    """The service a process name runs: `projects-2` -> `projects`."""
    service, _, k = process.rpartition("-")
    return service if service and k.isdigit() else process


def replica_number(process: str) -> int:
    """Which replica of its service a process is: `projects-2` -> 2, `projects` -> 1."""
    service, _, k = process.rpartition("-")
    return int(k) if service and k.isdigit() else 1


def process_names(services: tuple[str, ...], replicas: int, gateways: int) -> list[str]:
    """Every process of a stack running `services`: `gateways` gateways, `replicas` of each
    other service."""
    return [
        replica_name(service, k)
        for service in services
        for k in range(1, (gateways if service == "gateway" else replicas) + 1)
    ]


def _die_with_parent() -> None:
    """Children get SIGTERM if the runner dies, even by SIGKILL: no orphan processes."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Stack:
    database_url: str
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    host: str = "127.0.0.1"
    environment: str = "development"
    log_dir: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    client_secrets: dict[str, str] = field(default_factory=dict)
    # Which of SERVICES run (tests of the API alone leave the portal out).
    services: tuple[str, ...] = SERVICES
    # With a log_dir, also show the services' output on this stream (`sciplan dev`'s terminal).
    echo: IO[bytes] | None = None
    relays: dict[str, threading.Thread] = field(default_factory=dict, init=False, repr=False)
    # Processes of every service but the gateway, and gateways: each gateway spreads requests
    # over a service's replicas; replica k of a service talks to replica k of the others and
    # to gateway k (round robin when there are fewer gateways). Extra processes are named
    # `<service>-<k>` (`replica_name`); `ports` may name their ports.
    replicas: int = 1
    gateways: int = 1

    def port(self, process: str) -> int:
        """The port of a process: `projects` (the first replica) or `projects-2`."""
        port = self.ports.get(process)
        if port is None:
            step = REPLICA_PORT_STEP * (replica_number(process) - 1)
            port = self.ports[service_of(process)] + step
        return port

    def url(self, service: str) -> str:
        return f"http://{self.host}:{self.port(service)}"

    @property
    def gateway_url(self) -> str:
        return self.url("gateway")

    @property
    def gateway_urls(self) -> list[str]:
        return [self.url(replica_name("gateway", k)) for k in range(1, self.gateways + 1)]

    def process_names(self) -> list[str]:
        return process_names(self.services, self.replicas, self.gateways)

    def replica_urls(self, service: str) -> list[str]:
        return [self.url(replica_name(service, k)) for k in range(1, self.replicas + 1)]

    def gateway_settings(self) -> GatewaySettings:
        return GatewaySettings(database_url=SecretStr(self.database_url))

    def prepare(self, admin_password: str | None) -> bool:
        """Migrates, creates the admin (True if created now) and the service accounts."""
        upgrade_all(self.database_url)
        return asyncio.run(self._accounts(admin_password))

    async def _accounts(self, admin_password: str | None) -> bool:
        settings = self.gateway_settings()
        created = False
        if admin_password is not None:
            created = await operations.ensure_admin(settings, "admin", admin_password)
        # The gateway has no account: it signs its own tokens for notify.
        for service in API_SERVICES:
            # A fresh secret each start: nothing to store, nothing to leak between runs.
            secret = secrets.token_urlsafe(32)
            await operations.register_client(
                settings, service, secret, list(SERVICE_AUDIENCES[service])
            )
            self.client_secrets[service] = secret
        return created

    def env_for(self, process: str) -> dict[str, str]:
        """The environment of a process: a service (`projects`) or one of its replicas."""
        service, k = service_of(process), replica_number(process)
        prefix = f"SCIPLAN_{service.upper()}_"
        own_gateway = self.gateway_urls[(k - 1) % self.gateways]
        env = {
            **os.environ,
            **self.extra_env,
            f"{prefix}DATABASE_URL": self.database_url,
            f"{prefix}HOST": self.host,
            f"{prefix}PORT": str(self.port(process)),
            f"{prefix}ENVIRONMENT": self.environment,
            f"{prefix}GATEWAY_URL": own_gateway,
        }
        # One scrape token for the whole stack, when the operator gives one.
        if metrics_token := os.environ.get("SCIPLAN_METRICS_TOKEN"):
            env[f"{prefix}METRICS_TOKEN"] = metrics_token
        # One trace collector for the whole stack, likewise (docs/observability.md).
        if otlp_endpoint := os.environ.get("SCIPLAN_OTLP_ENDPOINT"):
            env.setdefault(f"{prefix}OTLP_ENDPOINT", otlp_endpoint)
        if service == "gateway":
            for upstream in SERVICES[1:]:
                env[f"{prefix}{upstream.upper()}_URL"] = ",".join(self.replica_urls(upstream))
            # The links in account mails lead to the portal's pages, through the gateway.
            env[f"{prefix}ACCOUNT_LINKS_URL"] = f"{self.gateway_url}/account"
        elif service == "portal":
            pass  # the gateway's address (above) is all it needs
        else:
            for other in API_SERVICES:
                if other != service:
                    env[f"{prefix}{other.upper()}_URL"] = self.url(replica_name(other, k))
            env[f"{prefix}CLIENT_ID"] = service
            env[f"{prefix}CLIENT_SECRET"] = self.client_secrets[service]
        return env

    def log_path(self, service: str) -> Path | None:
        return None if self.log_dir is None else self.log_dir / f"{service}.log"

    def start(self, service: str) -> None:
        log_path = self.log_path(service)
        log: IO[bytes] | None = None
        if log_path is not None:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            log = log_path.open("ab")
        relayed = log is not None and self.echo is not None
        process = subprocess.Popen(
            [sys.executable, "-m", "sciplan.serve", service_of(service)],
            env=self.env_for(service),
            stdout=subprocess.PIPE if relayed else log,
            stderr=None if log is None else subprocess.STDOUT,
            preexec_fn=_die_with_parent,
            # Out of the terminal's process group: Ctrl-C reaches the runner alone, which then
            # stops the services itself (and does not mistake them for crashed ones).
            process_group=0,
        )
        if relayed:
            relay = (process.stdout, log, self.echo)
            self.relays[service] = threading.Thread(target=_relay, args=relay, daemon=True)
            self.relays[service].start()
        elif log is not None:
            log.close()  # the service writes to its own copy
        self.processes[service] = process

    def start_all(self) -> None:
        compile_sources()
        for process in self.process_names():
            self.start(process)

    def logs(self, services: Sequence[str]) -> list[ServiceLog]:
        """The last log lines of these services, those that write to a log file."""
        found = []
        for service in services:
            path = self.log_path(service)
            if path is None:
                continue
            relay, process = self.relays.get(service), self.processes.get(service)
            if relay is not None and process is not None and process.poll() is not None:
                relay.join(timeout=2)  # what it said last may still be in the pipe
            found.append(ServiceLog(service, path, last_lines(path)))
        return found

    def is_ready(self, service: str, within: float = 2.0) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url(service)}/readyz", timeout=within) as r:
                return bool(r.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def wait_ready(
        self,
        services: tuple[str, ...] | None = None,
        timeout: float | None = None,
        progress: Progress | None = None,
    ) -> None:
        """Returns once every service answers /readyz; raises StartFailed when one exits or
        the deadline (`start_timeout()` unless given) passes. `progress` hears who is ready and
        who is still starting, at the start, on every change and every few seconds."""
        services = tuple(self.process_names()) if services is None else services
        limit = start_timeout() if timeout is None else timeout
        started = time.monotonic()
        ready: list[str] = []
        told_at: float | None = None
        while True:
            for service in services:
                process = self.processes.get(service)
                if process is not None and process.poll() is not None:
                    raise StartFailed(
                        f"{service} exited with code {process.returncode} while starting"
                        " (its log says why)",
                        self.logs([service]),
                    )
            newly = [s for s in services if s not in ready and self.is_ready(s)]
            ready += newly
            starting = [s for s in services if s not in ready]
            waited = time.monotonic() - started
            if progress is not None and (
                newly or told_at is None or waited - told_at >= PROGRESS_EVERY_SECONDS
            ):
                progress(list(ready), starting, waited)
                told_at = waited
            if not starting:
                return
            if waited > limit:
                raise StartFailed(
                    f"{', '.join(starting)} not ready after {limit:g} s"
                    + (f" (ready: {', '.join(ready)})" if ready else "")
                    + f"; on a busy machine set {START_TIMEOUT_VARIABLE} to wait longer",
                    self.logs(starting),
                )
            time.sleep(READY_POLL_SECONDS)

    def restart(self, service: str) -> None:
        self.start(service)
        self.wait_ready((service,))

    def kill(self, service: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes.pop(service)
        process.send_signal(sig)
        process.wait(timeout=10)

    def stop(self, grace: float = 10.0) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + grace
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()
