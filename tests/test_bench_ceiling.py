"""The bound `bench.gateway_overhead` prints for gateway/direct, from a run's CPU figures."""

from __future__ import annotations

import pytest

from bench.gateway_overhead import Measured, Scenario, ceiling


def measured(key: str, *samples: dict[str, float]) -> Measured:
    return Measured(Scenario(key, key, "http://127.0.0.1/"), cpu_ms_per_request=list(samples))


def bound(lines: list[str]) -> float:
    return float(lines[-1].rsplit("= ", 1)[1].split()[0])


def test_the_cores_bound_the_ratio_when_the_path_costs_more_than_two_services(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    direct = measured("direct", {"credit": 0.5}, {"credit": 0.6}, {"credit": 0.55})
    path = {"gateway": 0.4, "credit": 0.6, "postgres": 0.15, "loadgen": 0.05}  # 1.2 ms in all
    gateway = measured("gateway", path, path, {**path, "credit": 0.9})

    lines = ceiling(direct, gateway)
    assert bound(lines[:-1]) == pytest.approx(2 * 0.55 / 1.2, abs=0.005)
    assert "per request: 0.73 x credit's direct" in lines[-1]  # 0.4 / 0.55


def test_credit_costing_more_behind_the_gateway_bounds_it_when_the_cores_do_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    direct = measured("direct", {"credit": 0.5})
    gateway = measured("gateway", {"gateway": 0.1, "credit": 0.625, "postgres": 0.1})

    assert bound(ceiling(direct, gateway)[:-1]) == pytest.approx(0.8)
