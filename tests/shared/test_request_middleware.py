"""Every request gets an id (the caller's, when well-formed), is counted by route template, and
is logged: by the gateway always, by a service behind it only when it needs a look."""

from __future__ import annotations

import logging
import os

import httpx
import pytest
from fastapi import FastAPI, HTTPException

from shared.metrics import ServiceMetrics
from shared.middleware import RequestIdMiddleware, RequestIds


def app_with(*, log_every_request: bool) -> tuple[FastAPI, ServiceMetrics]:
    app = FastAPI()
    metrics = ServiceMetrics("test")

    @app.get("/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str]:
        if thing_id == "broken":
            raise HTTPException(status_code=503)
        return {"id": thing_id}

    app.add_middleware(RequestIdMiddleware, metrics=metrics, log_every_request=log_every_request)
    return app, metrics


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_the_request_id_is_the_callers_when_well_formed_and_made_otherwise() -> None:
    app, _ = app_with(log_every_request=True)
    async with client(app) as http:
        kept = await http.get("/things/1", headers={"X-Request-ID": "abc-123"})
        made = await http.get("/things/1", headers={"X-Request-ID": "no spaces <allowed>"})
    assert kept.headers["X-Request-ID"] == "abc-123"
    assert made.headers["X-Request-ID"] not in ("", "no spaces <allowed>")
    assert len(made.headers["X-Request-ID"]) == 32


def test_made_ids_never_repeat_within_a_process_across_processes_or_after_a_fork() -> None:
    ids = RequestIds()
    mine = [ids.new() for _ in range(1000)]
    assert len(set(mine)) == 1000
    assert all(len(made) == 32 and int(made, 16) >= 0 for made in mine)
    another_process = RequestIds().new()  # another process: another random prefix
    assert another_process[:16] != mine[0][:16]

    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # the child makes its next id and exits at once
        os.write(writing, ids.new().encode())
        os._exit(0)
    os.close(writing)
    made_in_child = os.read(reading, 64).decode()
    os.close(reading)
    os.waitpid(child, 0)
    assert len(made_in_child) == 32
    assert made_in_child[:16] != mine[0][:16]  # not the parent's next id
    assert made_in_child != ids.new()


async def test_requests_are_counted_by_route_template_and_status() -> None:
    app, metrics = app_with(log_every_request=False)
    async with client(app) as http:
        for thing in ("1", "2", "broken"):
            await http.get(f"/things/{thing}")

    def count(status: str) -> float | None:
        labels = {"method": "GET", "route": "/things/{thing_id}", "status": status}
        return metrics.registry.get_sample_value("sciplan_http_requests_total", labels)

    assert (count("200"), count("503")) == (2, 1)


@pytest.mark.parametrize("log_every_request", [True, False])
async def test_a_service_logs_only_failures_the_gateway_everything(
    log_every_request: bool, caplog: pytest.LogCaptureFixture
) -> None:
    app, _ = app_with(log_every_request=log_every_request)
    with caplog.at_level(logging.INFO, logger="sciplan.access"):
        async with client(app) as http:
            await http.get("/things/1")
            await http.get("/things/broken")
    logged = [record.status for record in caplog.records if record.name == "sciplan.access"]  # type: ignore[attr-defined]
    assert logged == ([200, 503] if log_every_request else [503])
