"""`sciplan dev` (what `make run` runs): starts everything, stops everything on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_ports

pytestmark = pytest.mark.e2e
PASSWORD = "dev-command-password"


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


def _start(workdir: Path, port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "SCIPLAN_DATABASE_URL"}
    env["SCIPLAN_ADMIN_PASSWORD"] = PASSWORD
    return subprocess.Popen(
        [sys.executable, "-m", "sciplan.cli", "dev", "--ports-from", str(port)],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def _wait_for_banner(process: subprocess.Popen[str]) -> list[str]:
    assert process.stdout is not None
    lines = []
    deadline = time.monotonic() + 90
    for line in process.stdout:
        lines.append(line)
        if "Ctrl-C stops everything" in line:
            return lines
        assert time.monotonic() < deadline, lines
    raise AssertionError(f"exited before the banner: {lines}")


def _login(port: int) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/auth/token",
        data=f"username=admin&password={PASSWORD}".encode(),
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(response.status)


def _interrupt(process: subprocess.Popen[str]) -> int:
    process.send_signal(signal.SIGINT)
    return process.wait(timeout=30)


def test_dev_runs_everything_and_ctrl_c_leaves_nothing_behind(tmp_path: Path) -> None:
    port = free_ports(1)[0]  # the services take the next three ports
    process = _start(tmp_path, port)
    try:
        banner = "".join(_wait_for_banner(process))
        assert f"http://127.0.0.1:{port}/docs" in banner
        assert "admin / $SCIPLAN_ADMIN_PASSWORD" in banner
        assert "sciplan seed-demo" in banner  # how to fill it with demo data
        assert _login(port) == 200
        assert _interrupt(process) == 0
    finally:
        if process.poll() is None:
            process.kill()
    pgdata = str(tmp_path / ".sciplan" / "pgdata")
    deadline = time.monotonic() + 15
    while _pids_mentioning(pgdata) or _pids_mentioning(f"--ports-from {port}"):
        assert time.monotonic() < deadline, "processes left behind"
        time.sleep(0.2)
    assert not (Path(pgdata) / "postmaster.pid").exists()  # PostgreSQL stopped cleanly

    # A restart keeps the data: the admin exists already and still logs in.
    again = _start(tmp_path, port)
    try:
        banner = "".join(_wait_for_banner(again))
        assert "the password set when it was created" in banner
        assert _login(port) == 200
        assert _interrupt(again) == 0
    finally:
        if again.poll() is None:
            again.kill()
