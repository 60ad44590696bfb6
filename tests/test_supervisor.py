"""The supervisor of `sciplan dev`: a dead service comes back after a pause that doubles with
each failure in a row and starts short again after a stable run (the e2e test in
tests/e2e/test_dev_command.py kills a real one)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

from sciplan.stack import Stack
from sciplan.supervisor import Supervisor


@dataclass
class FakeProcess:
    returncode: int | None = None

    def poll(self) -> int | None:
        return self.returncode


@dataclass
class FakeStack:
    processes: dict[str, FakeProcess] = field(
        default_factory=lambda: {"gateway": FakeProcess(), "funds": FakeProcess()}
    )
    started: list[str] = field(default_factory=list)
    ready: bool = True

    def start(self, service: str) -> None:
        self.started.append(service)
        self.processes[service] = FakeProcess()

    def is_ready(self, service: str, within: float = 2.0) -> bool:
        return self.ready


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _supervised() -> tuple[FakeStack, Supervisor, Clock, list[str]]:
    stack, clock = FakeStack(), Clock()
    said: list[str] = []
    supervisor = Supervisor(cast(Stack, stack), said.append, clock)
    return stack, supervisor, clock, said


def _die(stack: FakeStack, service: str, code: int = -9) -> None:
    stack.processes[service].returncode = code


def test_a_dead_service_is_restarted_with_a_growing_pause() -> None:
    stack, supervisor, clock, said = _supervised()
    pauses = []
    for _ in range(7):
        _die(stack, "funds")
        supervisor.check()
        pause = float(said[-1].rsplit("restarting in ", 1)[1].removesuffix(" s"))
        pauses.append(pause)
        clock.now += pause - 0.1
        supervisor.check()
        assert stack.started.count("funds") == len(pauses) - 1  # not before its pause is over
        clock.now += 0.1
        supervisor.check()
        supervisor.check()
        assert said[-1] == "funds is ready again"
    assert pauses == [1, 2, 4, 8, 16, 30, 30]
    assert stack.started == ["funds"] * 7
    assert said[0] == "funds stopped (killed by SIGKILL); restarting in 1 s"


def test_after_a_stable_run_the_pause_is_short_again() -> None:
    stack, supervisor, clock, said = _supervised()
    for _ in range(3):
        _die(stack, "gateway", code=1)
        supervisor.check()
        clock.now += 10
        supervisor.check()
    assert said[-2].endswith("restarting in 4 s")
    clock.now += 61  # a minute up
    _die(stack, "gateway", code=1)
    supervisor.check()
    assert said[-1] == "gateway stopped (exit code 1); restarting in 1 s"
    assert stack.processes["funds"].returncode is None
    assert "funds" not in stack.started  # the others are left alone
