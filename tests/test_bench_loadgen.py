"""The benchmarks' load generator counts what a server really answered, with either engine."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from bench.loadgen import ENGINES, RawConnection, Spec, _Run, prepared_get

Seen = list[tuple[str, str | None]]  # (path and query, Authorization) of each request served
SEEN = web.AppKey("seen", Seen)


async def _hello(request: web.Request) -> web.StreamResponse:
    if request.path == "/missing":
        return web.json_response({"detail": "no"}, status=404)
    if request.path == "/closing":
        return web.json_response({"hello": "once"}, headers={"Connection": "close"})
    if request.path == "/silent":
        await asyncio.sleep(30)
    if request.path == "/chunked":
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for part in (b'{"hello":', b' "in parts"}'):
            await response.write(part)
        await response.write_eof()
        return response
    request.app[SEEN].append((request.path_qs, request.headers.get("Authorization")))
    return web.json_response({"hello": "world"})


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, Seen]]:
    app = web.Application()
    seen: Seen = []
    app[SEEN] = seen
    app.router.add_get("/{tail:.*}", _hello)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", seen
    finally:
        await runner.cleanup()


def _spec(url: str, engine: str, **extra: object) -> Spec:
    fields: dict[str, object] = {
        "url": url,
        "concurrency": 3,
        "warmup_seconds": 0.1,
        "duration_seconds": 0.4,
        "engine": engine,
    }
    spec = Spec(**(fields | extra))  # type: ignore[arg-type]
    spec.check()
    return spec


@pytest.mark.parametrize("engine", ENGINES)
async def test_each_engine_sends_the_headers_and_counts_the_answers(
    server: tuple[str, Seen], engine: str
) -> None:
    base, seen = server
    spec = _spec(
        f"{base}/a",
        engine,
        urls=[f"{base}/a?n=1", f"{base}/b"],
        headers={"Authorization": "Bearer t0ken"},
    )
    result = await _Run(spec).run()
    assert result.errors == 0, result.error_kinds
    assert 0 < result.requests <= result.total_requests == len(seen)
    assert {path for path, _ in seen} == {"/a?n=1", "/b"}  # `urls` in turn, not `url`
    assert {auth for _, auth in seen} == {"Bearer t0ken"}
    assert result.engine == engine
    assert 0 < result.p50_ms <= result.p99_ms <= result.max_ms


@pytest.mark.parametrize("engine", ENGINES)
async def test_anything_but_200_is_an_error_by_its_status(
    server: tuple[str, Seen], engine: str
) -> None:
    result = await _Run(_spec(f"{server[0]}/missing", engine)).run()
    assert result.requests == 0
    assert result.errors == result.total_requests > 0
    assert result.error_kinds == {"status 404": result.errors}


async def test_the_raw_engine_reads_chunked_answers_and_reconnects_after_a_close(
    server: tuple[str, Seen],
) -> None:
    for path in ("/chunked", "/closing"):
        result = await _Run(_spec(f"{server[0]}{path}", "raw")).run()
        assert result.errors == 0, (path, result.error_kinds)
        assert result.requests > 3, path  # more than one answer per connection


async def test_a_server_that_does_not_answer_in_time_is_a_timeout(
    server: tuple[str, Seen], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(RawConnection, "timeout_seconds", 0.2)
    host, port = server[0].removeprefix("http://").split(":")
    connection = await RawConnection.open(host, int(port))
    try:
        with pytest.raises(TimeoutError):
            await connection.request(prepared_get(f"{server[0]}/silent", {}))
        assert not connection.reusable  # its answer could still come: never reused
    finally:
        connection.close()


def test_a_spec_is_refused_for_other_hosts_ports_or_engines() -> None:
    with pytest.raises(ValueError, match=r"127\.0\.0\.1"):
        Spec(url="http://example.org/").check()
    with pytest.raises(ValueError, match="same port"):
        Spec(url="http://127.0.0.1:1/", urls=["http://127.0.0.1:2/"]).check()
    with pytest.raises(ValueError, match="engine"):
        Spec(url="http://127.0.0.1:1/", engine="curl").check()
