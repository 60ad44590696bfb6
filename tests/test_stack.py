"""Starting the services (`sciplan.stack`): what a process loads before it is ready, and what a
failed start tells the operator. The whole stack starting, also under load, is in tests/e2e."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from sciplan.stack import SERVICES, Stack, StartFailed, last_lines
from tests.conftest import free_ports

# Loaded on first use (the assignment solver), not while a service starts: about a second of
# the projects service's start-up.
DEFERRED_MODULES = ("numpy", "scipy")


def test_no_service_loads_the_solver_libraries_to_start() -> None:
    app_modules = [f"services.{service}.main" for service in SERVICES]
    script = (
        "import importlib, sys\n"
        f"for name in {['sciplan.serve', *app_modules]!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(sorted(m for m in {DEFERRED_MODULES!r} if m in sys.modules))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert loaded.stdout.strip() == "[]", loaded.stdout + loaded.stderr


def _failing_credit(tmp_path: Path, echo: io.BytesIO | None = None) -> Stack:
    """A credit service whose settings make it stop at once (an unknown log level)."""
    stack = Stack(
        database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none",
        ports=dict(zip(SERVICES, free_ports(len(SERVICES)), strict=True)),
        services=("credit",),
        log_dir=tmp_path / "logs",
        extra_env={"SCIPLAN_CREDIT_LOG_LEVEL": "LOUDEST"},
        echo=echo,
    )
    stack.client_secrets["credit"] = "not-used-it-stops-first"
    return stack


def _start_failure(stack: Stack) -> StartFailed:
    stack.start_all()
    try:
        stack.wait_ready(timeout=120)
    except StartFailed as exc:
        return exc
    finally:
        stack.stop()
    raise AssertionError("the start did not fail")


def test_a_service_that_stops_while_starting_is_named_with_its_last_log_lines(
    tmp_path: Path,
) -> None:
    failure = _start_failure(_failing_credit(tmp_path))

    assert str(failure) == "credit exited with code 1 while starting (its log says why)"
    [log] = failure.logs
    assert log.path == tmp_path / "logs" / "credit.log"
    assert any("LOUDEST" in line for line in log.last_lines), log.last_lines
    report = failure.report().splitlines()
    assert report[1] == f"  credit, last lines of {log.path}:"
    assert report[2:] == [f"    {line}" for line in log.last_lines]


def test_a_service_shown_on_the_terminal_keeps_its_log_file_too(tmp_path: Path) -> None:
    terminal = io.BytesIO()
    failure = _start_failure(_failing_credit(tmp_path, echo=terminal))

    [log] = failure.logs
    assert any("LOUDEST" in line for line in log.last_lines), log.last_lines
    assert terminal.getvalue() == (tmp_path / "logs" / "credit.log").read_bytes()


def test_the_last_lines_of_a_log_are_few_and_short(tmp_path: Path) -> None:
    log = tmp_path / "big.log"
    log.write_text("".join(f"line {n} " + "x" * (n % 2 * 500) + "\n" for n in range(5000)))

    lines = last_lines(log, count=3)

    assert [line.split()[1] for line in lines] == ["4997", "4998", "4999"]
    assert all(len(line) <= 304 for line in lines)
    assert lines[0].endswith(" ...")  # the odd lines are long
    assert lines[1] == "line 4998"
    assert last_lines(tmp_path / "missing.log") == []
