"""`sciplan dev` (what `make run` runs): starts everything, says how the start goes, gives up
with one clear line, restarts a service that dies, and stops everything on Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from sciplan.stack import SERVICES
from tests.conftest import free_port_block, free_ports

pytestmark = pytest.mark.e2e


class Runner:
    """`sciplan dev` in `workdir`, its output (stdout and stderr) read as it comes."""

    def __init__(self, workdir: Path, port: int, *args: str, **env: str) -> None:
        environment = {
            k: v
            for k, v in os.environ.items()
            if k not in ("SCIPLAN_DATABASE_URL", "SCIPLAN_ADMIN_PASSWORD")
        }
        self.port = port
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sciplan.cli", "dev", "--ports-from", str(port), *args],
            cwd=workdir,
            env=environment | env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        # Read all along: the services log to the same pipe, which must never fill up.
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, wanted: Callable[[str], bool], seconds: float = 120) -> str:
        deadline = time.monotonic() + seconds
        seen = 0
        while time.monotonic() < deadline:
            for line in self.lines[seen:]:
                if wanted(line):
                    return line
            seen = len(self.lines)
            if self.process.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.1)
        raise AssertionError(f"not seen within {seconds}s:\n{self.output[-3000:]}")

    def wait_for_banner(self) -> None:
        self.wait_for(lambda line: "Ctrl-C stops everything" in line, seconds=300)

    def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=60)

    def child(self, service: str) -> int:
        """The pid of the runner's process serving `service`."""
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    cmdline = (entry / "cmdline").read_bytes().split(b"\0")
                    parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                if parent == self.process.pid and cmdline[-2:] == [service.encode(), b""]:
                    return int(entry.name)
        raise AssertionError(f"no {service} process under the runner")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _pids_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if text in cmdline:
                found.append(int(entry.name))
    return found


def _nothing_left_behind(workdir: Path, port: int) -> None:
    pgdata = str(workdir / ".sciplan" / "pgdata")
    deadline = time.monotonic() + 15
    while _pids_mentioning(pgdata) or _pids_mentioning(f"--ports-from {port}"):
        assert time.monotonic() < deadline, "processes left behind"
        time.sleep(0.2)
    assert not (Path(pgdata) / "postmaster.pid").exists()  # PostgreSQL stopped cleanly


def _login(port: int, password: str) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/auth/token",
        data=f"username=admin&password={password}".encode(),
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(response.status)


def _programs(port: int) -> int:
    url = f"http://127.0.0.1:{port}/api/projects/v1/programs"  # public: no login
    with urllib.request.urlopen(url, timeout=10) as response:
        return int(response.status)


def test_a_start_that_takes_too_long_fails_in_one_line_after_printing_the_password(
    tmp_path: Path,
) -> None:
    """A deadline nobody can meet: the start gives up, and says so in one line, but the admin's
    generated password was printed first; a second start, in time, proves it real. That run
    restarts a service killed under it, and Ctrl-C stops everything."""
    port = free_port_block(len(SERVICES))  # sciplan dev takes one port per process from it
    logs = tmp_path / "logs"
    hasty = Runner(tmp_path, port, "--log-dir", str(logs), SCIPLAN_START_TIMEOUT_SECONDS="0.5")
    try:
        assert hasty.process.wait(timeout=300) == 1, hasty.output
    finally:
        hasty.close()
    hasty._reader.join(timeout=10)
    output = hasty.lines
    password_line = next(i for i, line in enumerate(output) if "admin password" in line)
    password = output[password_line].rsplit(": ", 1)[1]
    progress = next(i for i, line in enumerate(output) if "starting: " in line)
    [failure] = [line for line in output if line.startswith("SciPlan did not start")]
    assert password_line < progress < output.index(failure)
    assert re.search(r"not ready after 0\.5 s.*SCIPLAN_START_TIMEOUT_SECONDS", failure), failure
    # Then each service not ready, with where its full log is and its last lines.
    assert f"  projects, last lines of {logs / 'projects.log'}:" in output
    assert "Traceback" not in hasty.output
    _nothing_left_behind(tmp_path, port)

    patient = Runner(tmp_path, port)
    try:
        patient.wait_for_banner()
        assert "the password set when it was created" in patient.output
        assert _login(port, password) == 200
        assert "sciplan seed-demo" in patient.output  # how to fill it with demo data

        gateway = patient.child("gateway")
        os.kill(patient.child("projects"), signal.SIGKILL)
        patient.wait_for(lambda line: line.startswith("projects stopped (killed by SIGKILL)"))
        patient.wait_for(lambda line: line == "projects is ready again")
        assert _programs(port) == 200
        assert patient.child("gateway") == gateway  # the rest went on running
        assert patient.process.poll() is None

        assert patient.interrupt() == 0
    finally:
        patient.close()
    _nothing_left_behind(tmp_path, port)


def test_a_database_that_does_not_answer_fails_in_one_line_with_the_error_in_a_log(
    tmp_path: Path,
) -> None:
    port = free_ports(2)
    nowhere = f"postgresql+asyncpg://sciplan@127.0.0.1:{port[1]}/sciplan"  # nobody listens
    runner = Runner(tmp_path, port[0], SCIPLAN_DATABASE_URL=nowhere)
    try:
        assert runner.process.wait(timeout=120) == 1, runner.output
    finally:
        runner.close()
    runner._reader.join(timeout=10)

    runner_log = Path(".sciplan") / "logs" / "sciplan-dev.log"
    assert runner.lines[-1].startswith(
        "SciPlan did not start: preparing the database (SCIPLAN_DATABASE_URL) failed: "
    ), runner.output
    assert runner.lines[-1].endswith(f"(the whole error is in {runner_log})")
    assert "Traceback" not in runner.output
    assert "Traceback" in (tmp_path / runner_log).read_text()
