"""What the gateway passes on, and what it keeps back, checked against an upstream that echoes."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from fastapi import FastAPI
from httpx import AsyncClient

from services.gateway.replicas import Replicas
from shared.auth.gateway_proof import HEADER as PROOF_HEADER
from shared.auth.gateway_proof import verified_digest
from shared.auth.roles import Role
from shared.settings import DEV_GATEWAY_PROOF_KEY
from tests.conftest import Login, MakeUser, bearer

LARGE = bytes(range(256)) * 12_000  # 3 MB: over what the gateway holds in memory


async def _echo(request: web.Request) -> web.Response:
    if request.path.startswith("/v1/redirect"):
        return _redirect(request)
    if request.path == "/v1/problem":
        return web.json_response(
            {"type": "about:blank", "title": "x", "status": 409, "instance": "/v1/problem"},
            status=409,
            content_type="application/problem+json",
        )
    body = await request.read()
    if request.path == "/v1/digest":
        return web.json_response(
            {
                "size": len(body),
                "sha256": hashlib.sha256(body).hexdigest(),
                "raw_path": request.raw_path,
                "headers": {k.lower(): v for k, v in request.headers.items()},
            }
        )
    if request.path == "/v1/large":
        return web.Response(body=LARGE, content_type="application/pdf")
    if request.path == "/v1/sign-in":
        signed_in = web.json_response({"signed_in": True})
        signed_in.set_cookie("sp_session", "alices-session", httponly=True, path="/")
        return signed_in
    return web.json_response(
        {
            "method": request.method,
            "path": request.path,
            "raw_path": request.raw_path,
            "headers": {k.lower(): v for k, v in request.headers.items()},
            "body": body.decode(),
        },
        headers={"Connection": "keep-alive", "Keep-Alive": "timeout=5", "X-Upstream": "yes"},
    )


def _redirect(request: web.Request) -> web.Response:
    """Redirects as a FastAPI service does (to its own absolute URL), or to somewhere else."""
    own = f"http://{request.host}"
    targets = {
        "/v1/redirect-self": f"{own}/v1/things/?page=2",
        "/v1/redirect-path": "/v1/things",
        "/v1/redirect-away": "http://10.9.8.7:8201/v1/things",
    }
    return web.Response(status=307, headers={"Location": targets[request.path]})


@pytest.fixture
async def echo_upstream(gateway: FastAPI) -> AsyncIterator[str]:
    """A stand-in upstream in place of the credit service, listening on loopback."""
    app = web.Application(client_max_size=8 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", _echo)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    replicas = gateway.state.forwarder.replicas
    original = replicas["credit"]
    replicas["credit"] = Replicas([f"http://127.0.0.1:{port}"])
    try:
        yield replicas["credit"].urls[0]
    finally:
        replicas["credit"] = original
        await runner.cleanup()


async def test_forwarding_passes_the_request_and_strips_hop_by_hop_headers(
    echo_upstream: str, gateway_client: AsyncClient, make_user: MakeUser, login: Login
) -> None:
    token = (await login(await make_user(Role.applicant)))["access_token"]
    response = await gateway_client.post(
        "/api/credit/v1/things?x=1&y=%E4%B8%AD",
        content=b'{"a": 1}',
        headers=bearer(token)
        | {
            "Content-Type": "application/json",
            "Connection": "X-Private-Hop",
            "X-Private-Hop": "secret",
            "Proxy-Authorization": "Basic c2VjcmV0",
            "TE": "trailers",
            "X-Request-ID": "fwd-1",
            "X-Forwarded-For": "6.6.6.6",
        },
    )
    assert response.status_code == 200, response.text
    seen = response.json()
    assert seen["method"] == "POST"
    assert seen["path"] == "/v1/things"
    assert seen["raw_path"] == "/v1/things?x=1&y=%E4%B8%AD"
    assert seen["body"] == '{"a": 1}'
    headers = seen["headers"]
    assert headers["authorization"] == f"Bearer {token}"  # the service verifies it again
    assert headers["x-request-id"] == "fwd-1"
    assert headers["x-forwarded-for"] == "10.1.2.3"  # the real client, not what it claimed
    for hop in ("x-private-hop", "proxy-authorization", "te"):
        assert hop not in headers
    assert response.headers["x-upstream"] == "yes"
    assert "keep-alive" not in response.headers
    assert response.headers["x-request-id"] == "fwd-1"


async def test_a_client_s_trace_context_is_not_passed_on(
    echo_upstream: str, gateway_client: AsyncClient, make_user: MakeUser, login: Login
) -> None:
    # The gateway does not trace here (no OTLP endpoint): the service sees no trace at all,
    # rather than one the client made up (tests/test_traces.py: the gateway's own goes on).
    token = (await login(await make_user(Role.applicant)))["access_token"]
    response = await gateway_client.get(
        "/api/credit/v1/things",
        headers=bearer(token)
        | {
            "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "tracestate": "vendor=1",
            "baggage": "user=someone",
        },
    )
    assert response.status_code == 200, response.text
    headers = response.json()["headers"]
    assert not {"traceparent", "tracestate", "baggage"} & set(headers)
    assert "traceparent" not in response.headers


async def test_the_path_goes_upstream_as_the_client_encoded_it(
    echo_upstream: str, gateway_client: AsyncClient, make_user: MakeUser, login: Login
) -> None:
    token = (await login(await make_user(Role.applicant)))["access_token"]
    response = await gateway_client.get(
        "/api/credit/v1/applications/%3F/versions/a%2Fb/%E4%B8%AD?q=%3F", headers=bearer(token)
    )
    assert response.status_code == 200, response.text
    # Decoded, "%3F" would have ended the path and "%2F" made a new segment.
    assert response.json()["raw_path"] == "/v1/applications/%3F/versions/a%2Fb/%E4%B8%AD?q=%3F"


async def test_redirects_never_reveal_the_service_address(
    echo_upstream: str, gateway_client: AsyncClient, make_user: MakeUser, login: Login
) -> None:
    token = (await login(await make_user(Role.applicant)))["access_token"]
    own = await gateway_client.get("/api/credit/v1/redirect-self", headers=bearer(token))
    assert own.status_code == 307
    assert own.headers["location"] == "/api/credit/v1/things/?page=2"
    path_only = await gateway_client.get("/api/credit/v1/redirect-path", headers=bearer(token))
    assert path_only.headers["location"] == "/api/credit/v1/things"

    away = await gateway_client.get("/api/credit/v1/redirect-away", headers=bearer(token))
    assert away.status_code == 502
    assert away.json()["code"] == "gateway.bad_redirect"
    assert "10.9.8.7" not in away.text
    assert "location" not in away.headers


async def test_a_service_problem_names_the_path_the_client_asked_for(
    echo_upstream: str, gateway_client: AsyncClient, make_user: MakeUser, login: Login
) -> None:
    token = (await login(await make_user(Role.applicant)))["access_token"]
    problem = await gateway_client.get("/api/credit/v1/problem", headers=bearer(token))
    assert problem.status_code == 409
    assert problem.headers["content-type"].startswith("application/problem+json")
    assert problem.json()["instance"] == "/api/credit/v1/problem"


async def test_too_large_states_the_limit(
    gateway: FastAPI, gateway_client: AsyncClient, make_user: MakeUser, login: Login
) -> None:
    token = (await login(await make_user(Role.applicant)))["access_token"]
    limit = gateway.state.settings.max_body_bytes
    response = await gateway_client.post(
        "/api/credit/v1/things",
        content=b"x" * (limit + 1),
        headers=bearer(token) | {"Content-Type": "application/json", "Accept-Language": "en"},
    )
    assert response.status_code == 413
    problem = response.json()
    assert problem["code"] == "request.too_large"
    assert problem["max_bytes"] == limit
    assert f"{limit} bytes" in problem["detail"]
    assert problem["instance"] == "/api/credit/v1/things"


async def test_the_gateway_proves_each_request_it_forwards(
    echo_upstream: str, gateway_client: AsyncClient, make_user: MakeUser, login: Login
) -> None:
    token = (await login(await make_user(Role.applicant)))["access_token"]
    response = await gateway_client.post(
        "/api/credit/v1/a%2Fb?q=%E4%B8%AD",
        content=b'{"b": 2}',
        headers=bearer(token)
        | {"Content-Type": "application/json", PROOF_HEADER: "t=1,d=forged,s=forged"},
    )
    seen = response.json()
    path, _, query = seen["raw_path"].partition("?")
    scope = {
        "method": seen["method"],
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": [(k.encode(), v.encode()) for k, v in seen["headers"].items()],
    }
    # What the service received, byte for byte, carries the gateway's proof (and only that).
    assert seen["headers"][PROOF_HEADER.lower()] != "t=1,d=forged,s=forged"
    digest = verified_digest(DEV_GATEWAY_PROOF_KEY, scope)
    assert digest == hashlib.sha256(b'{"b": 2}').hexdigest()


async def test_a_read_is_forwarded_without_a_proof_not_even_the_callers(
    echo_upstream: str, gateway_client: AsyncClient, make_user: MakeUser, login: Login
) -> None:
    """Services ask for the proof on writes only; a read carries none, and one the caller
    made up is dropped as on a write."""
    token = (await login(await make_user(Role.applicant)))["access_token"]
    response = await gateway_client.get(
        "/api/credit/v1/things?q=1",
        headers=bearer(token) | {PROOF_HEADER: "t=1,d=forged,s=forged"},
    )
    seen = response.json()
    assert seen["method"] == "GET"
    assert PROOF_HEADER.lower() not in seen["headers"]


async def test_a_cookie_one_visitor_is_given_never_goes_up_with_anothers_request(
    gateway: FastAPI,
    echo_upstream: str,
    gateway_client: AsyncClient,
    make_user: MakeUser,
    login: Login,
) -> None:
    """The gateway's one client session keeps no cookies: a session cookie an upstream sets
    for Alice goes to Alice's browser only. (An upstream named by host name, as in
    docker-compose: a cookie jar keeps cookies of host names, not of IP addresses.)"""
    replicas = gateway.state.forwarder.replicas
    replicas["credit"] = Replicas([echo_upstream.replace("127.0.0.1", "localhost")])
    alice = (await login(await make_user(Role.applicant)))["access_token"]
    bob = (await login(await make_user(Role.applicant)))["access_token"]

    signed_in = await gateway_client.get("/api/credit/v1/sign-in", headers=bearer(alice))
    assert signed_in.status_code == 200, signed_in.text
    assert "sp_session=alices-session" in signed_in.headers["set-cookie"]
    gateway_client.cookies.clear()  # what Alice's browser keeps, Bob's does not have

    bare = await gateway_client.get("/api/credit/v1/things", headers=bearer(bob))
    assert bare.status_code == 200, bare.text
    assert "cookie" not in bare.json()["headers"]
    own = await gateway_client.get(
        "/api/credit/v1/things", headers=bearer(bob) | {"Cookie": "sp_session=bobs-session"}
    )
    assert own.json()["headers"]["cookie"] == "sp_session=bobs-session"


async def test_large_bodies_stream_through_with_their_proof_and_length(
    gateway: FastAPI,
    echo_upstream: str,
    gateway_client: AsyncClient,
    make_user: MakeUser,
    login: Login,
) -> None:
    token = (await login(await make_user(Role.applicant)))["access_token"]
    upload = LARGE[::-1]
    limit = gateway.state.settings.max_upload_bytes
    assert len(upload) < limit
    response = await gateway_client.post(
        "/api/credit/v1/digest",
        content=upload,
        headers=bearer(token) | {"Content-Type": "multipart/form-data; boundary=x"},
    )
    seen = response.json()
    assert (seen["size"], seen["sha256"]) == (len(upload), hashlib.sha256(upload).hexdigest())
    assert seen["headers"]["content-length"] == str(len(upload))  # sent from a file, not chunked
    scope = {
        "method": "POST",
        "path": "/v1/digest",
        "raw_path": b"/v1/digest",
        "query_string": b"",
        "headers": [(k.encode(), v.encode()) for k, v in seen["headers"].items()],
    }
    assert verified_digest(DEV_GATEWAY_PROOF_KEY, scope) == seen["sha256"]

    download = await gateway_client.get("/api/credit/v1/large", headers=bearer(token))
    assert download.status_code == 200
    assert download.content == LARGE
    assert download.headers["content-length"] == str(len(LARGE))
    assert download.headers["content-type"] == "application/pdf"


async def test_proxied_requests_are_counted_per_service_not_per_path(
    gateway: FastAPI, gateway_client: AsyncClient
) -> None:
    await gateway_client.get("/api/credit/v1/records/one")
    await gateway_client.get("/api/credit/v1/records/two")
    await gateway_client.get("/a-portal-page")
    registry = gateway.state.metrics.registry
    labels = {
        sample.labels["route"]
        for metric in registry.collect()
        if metric.name == "sciplan_http_requests"
        for sample in metric.samples
        if sample.name.endswith("_total")
    }
    assert "/api/credit/..." in labels
    assert "/{path:path}" in labels
    assert not any("one" in label or "two" in label for label in labels)
