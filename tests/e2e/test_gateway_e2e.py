"""The product as processes: log in at the gateway, use the token at every service."""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.credit_code import check_character
from tests.conftest import RunningStack, bearer, wait_until
from tests.e2e.helpers import (
    admin_token,
    create_org,
    create_user,
    e2e_client,
    mint,
    scalar,
    sciplan,
    signing_key,
)

pytestmark = pytest.mark.e2e
SERVICES = ("projects", "credit", "funds")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with e2e_client() as client:
        yield client


async def test_admin_creates_an_applicant_whose_token_works_everywhere(
    client: httpx.AsyncClient, stack: RunningStack
) -> None:
    admin = await admin_token(client, stack)
    code = "12620000438000480" + check_character("12620000438000480")
    org = await create_org(client, stack, admin, "兰州理工大学", code)
    applicant = await create_user(client, stack, admin, "li.na", ["applicant"], org["id"])
    login = await client.post(
        f"{stack.url}/auth/token", data={"username": "li.na", "password": "e2e-user-password"}
    )
    token = login.json()["access_token"]

    for service in SERVICES:

        async def known(service: str = service) -> bool:
            r = await client.get(f"{stack.url}/api/{service}/v1/me", headers=bearer(token))
            assert r.status_code == 200, r.text
            return bool(r.json()["in_directory"])

        # The service learned of the user and organization from the gateway's events.
        await wait_until(known)
        me = (await client.get(f"{stack.url}/api/{service}/v1/me", headers=bearer(token))).json()
        assert me["subject"] == applicant["id"]
        assert me["organization"]["credit_code"] == org["credit_code"]
        direct = await client.get(f"{stack.stack.url(service)}/v1/me", headers=bearer(token))
        assert direct.status_code == 200


async def test_bad_tokens_fail_through_the_gateway_and_directly(
    client: httpx.AsyncClient, stack: RunningStack
) -> None:
    kid, key = await signing_key(stack)
    # A person the gateway knows (it refuses tokens of anyone else, see identity.md).
    admin = str(await scalar(stack, "SELECT id FROM gateway.users WHERE username = 'admin'"))
    good = mint(kid, key, sub=admin)
    header, payload, signature = good.split(".")
    bad = {
        "tampered": f"{header}.{payload[:-4]}AAAA.{signature}",
        "forged": mint(kid, Ed25519PrivateKey.generate()),
        "expired": mint(kid, key, iat=1_700_000_000, exp=1_700_000_600),
        "wrong audience": mint(kid, key, aud=["sciplan-elsewhere"]),
    }
    for service in SERVICES:
        for base, path in (
            (stack.url, f"/api/{service}/v1/me"),
            (stack.stack.url(service), "/v1/me"),
        ):
            assert (await client.get(base + path, headers=bearer(good))).status_code == 200
            for name, token in bad.items():
                response = await client.get(base + path, headers=bearer(token))
                assert response.status_code == 401, (service, base, name)
                assert response.headers["content-type"] == "application/problem+json"


async def test_a_service_token_is_refused_by_the_other_services(
    client: httpx.AsyncClient, stack: RunningStack
) -> None:
    token = await client.post(
        f"{stack.url}/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "funds",
            "client_secret": stack.stack.client_secrets["funds"],
            "audience": "sciplan-credit",
        },
    )
    assert token.status_code == 200
    credit_only = token.json()["access_token"]
    assert (
        await client.get(f"{stack.stack.url('credit')}/v1/me", headers=bearer(credit_only))
    ).status_code == 200
    for service in ("projects", "funds"):
        response = await client.get(
            f"{stack.stack.url(service)}/v1/me", headers=bearer(credit_only)
        )
        assert response.status_code == 401


async def test_a_retired_key_stops_verifying_at_the_services(
    client: httpx.AsyncClient, stack: RunningStack
) -> None:
    admin_before = await admin_token(client, stack)
    old_kid, _ = await signing_key(stack)
    code, out, _ = await sciplan(stack, "keys", "rotate")
    assert code == 0
    assert "new signing key" in out

    async def new_key_signs() -> bool:
        fresh = await admin_token(client, stack)
        return bool(fresh) and fresh.split(".")[0] != admin_before.split(".")[0]

    await wait_until(new_key_signs)
    new_token = await admin_token(client, stack)
    # Both keys valid during the rotation.
    assert (
        await client.get(f"{stack.stack.url('credit')}/v1/me", headers=bearer(admin_before))
    ).status_code == 200
    assert (await sciplan(stack, "keys", "retire", old_kid))[0] == 0

    async def old_refused_everywhere() -> bool:
        codes = [
            (
                await client.get(f"{stack.stack.url(s)}/v1/me", headers=bearer(admin_before))
            ).status_code
            for s in SERVICES
        ]
        gateway = (await client.get(f"{stack.url}/v1/me", headers=bearer(admin_before))).status_code
        return codes == [401, 401, 401] and gateway == 401

    await wait_until(old_refused_everywhere)
    for service in SERVICES:
        assert (
            await client.get(f"{stack.stack.url(service)}/v1/me", headers=bearer(new_token))
        ).status_code == 200

    # The services' own feed tokens were signed with the retired key too: they get new ones
    # and keep consuming.
    user = await create_user(client, stack, new_token, "after.retirement", ["expert"])

    async def consumed_everywhere() -> bool:
        for service in SERVICES:
            count = await scalar(
                stack,
                f"SELECT count(*) FROM {service}.directory_users WHERE id = $1",
                uuid.UUID(user["id"]),
            )
            if count != 1:
                return False
        return True

    await wait_until(consumed_everywhere, seconds=10)


async def test_proxy_errors_are_problems(client: httpx.AsyncClient, stack: RunningStack) -> None:
    token = await admin_token(client, stack)
    unknown = await client.get(f"{stack.url}/api/nowhere/v1/me", headers=bearer(token))
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "gateway.unknown_service"

    too_big = await client.post(
        f"{stack.url}/api/credit/v1/anything", content=b"x" * 70_000, headers=bearer(token)
    )
    assert too_big.status_code == 413
    assert too_big.json()["code"] == "request.too_large"

    anonymous_write = await client.post(f"{stack.url}/api/credit/v1/anything", json={})
    assert anonymous_write.status_code == 401

    traced = await client.get(
        f"{stack.url}/api/credit/v1/records/{uuid.uuid4()}",
        headers=bearer(token) | {"X-Request-ID": "trace-me-42"},
    )
    assert traced.headers["x-request-id"] == "trace-me-42"
    # The problem is credit's own (the gateway only names its path): the id crossed the hop.
    assert traced.status_code == 404
    assert traced.json()["request_id"] == "trace-me-42"
    assert traced.json()["instance"].startswith("/api/credit/v1/records/")


async def test_a_hung_service_gives_504_and_a_dead_one_502(
    client: httpx.AsyncClient, stack: RunningStack
) -> None:
    token = await admin_token(client, stack)
    projects = stack.stack.processes["projects"]
    projects.send_signal(signal.SIGSTOP)
    try:
        # The stack's gateway waits 12 s for a service: this client waits longer.
        hung = await client.get(
            f"{stack.url}/api/projects/v1/me", headers=bearer(token), timeout=30
        )
        assert hung.status_code == 504
        assert hung.json()["code"] == "gateway.timeout"
    finally:
        projects.send_signal(signal.SIGCONT)

    stack.stack.kill("funds")
    try:
        dead = await client.get(f"{stack.url}/api/funds/v1/me", headers=bearer(token))
        assert dead.status_code == 502
        assert dead.json()["code"] == "gateway.bad_gateway"
    finally:
        stack.stack.restart("funds")
    assert (await client.get(f"{stack.url}/api/funds/healthz")).status_code == 200


async def test_one_openapi_document_covers_every_service(
    client: httpx.AsyncClient, stack: RunningStack
) -> None:
    document = (await client.get(f"{stack.url}/openapi.json")).json()
    for path in (
        "/auth/token",
        "/admin/v1/users",
        "/api/projects/v1/me",
        "/api/credit/v1/me",
        "/api/funds/v1/me",
    ):
        assert path in document["paths"], path
    docs = await client.get(f"{stack.url}/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()


async def test_audit_verify_command_checks_the_chain(
    client: httpx.AsyncClient, stack: RunningStack
) -> None:
    await admin_token(client, stack)  # at least one audited request
    # A burst of writes at once: the rows are committed in groups, each still chained.
    replies = await asyncio.gather(
        *(
            # Anonymous writes: refused at the gateway, audited all the same (and cheap,
            # unlike 40 password checks at once).
            client.post(
                f"{stack.url}/api/funds/v1/transfers",
                json=[],
                headers={"X-Request-ID": f"audit-burst-{n}"},
            )
            for n in range(40)
        )
    )
    assert {r.status_code for r in replies} == {401}
    rows = await scalar(
        stack,
        "SELECT count(DISTINCT seq) FROM gateway.audit_log WHERE request_id LIKE 'audit-burst-%'",
    )
    assert rows == 40
    code, out, err = await sciplan(stack, "audit", "verify")
    assert code == 0, err
    assert "audit log intact" in out


async def test_a_burst_of_logins_does_not_starve_other_requests(
    client: httpx.AsyncClient, stack: RunningStack
) -> None:
    """Password checks take turns without holding the database pool: reads still answer (the
    logins beyond the gate's queue are turned away at once)."""
    token = await admin_token(client, stack)
    logins = [
        client.post(
            f"{stack.url}/auth/token",
            data={"username": f"burst{n}", "password": "wrong-password"},
        )
        for n in range(40)
    ]
    reads = [client.get(f"{stack.url}/admin/v1/users", headers=bearer(token)) for _ in range(10)]
    replies = await asyncio.gather(*logins, *reads)
    assert {r.status_code for r in replies[:40]} <= {401, 503}
    assert 401 in {r.status_code for r in replies[:40]}
    assert {r.status_code for r in replies[40:]} == {200}
