"""The gateway attacked from outside, as in issue 13: addresses, audiences, paths, headers."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from typer.testing import CliRunner, Result

from sciplan.cli import app as cli
from sciplan.stack import Stack
from services.gateway.service_accounts import SERVICE_AUDIENCES
from shared.credit_code import check_character
from tests.conftest import RunningStack, bearer, free_ports
from tests.e2e.helpers import admin_token, create_user, e2e_client, scalar
from tests.gateway.test_openapi import references_in, resolves

pytestmark = pytest.mark.e2e
AUDIENCES = (
    "sciplan-gateway",
    "sciplan-projects",
    "sciplan-credit",
    "sciplan-funds",
    "sciplan-notify",
)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with e2e_client() as client:
        yield client


async def test_a_spoofed_forwarded_for_is_not_believed(
    client: httpx.AsyncClient, stack: RunningStack
) -> None:
    request_id = f"spoof-{uuid.uuid4().hex[:8]}"
    await client.post(
        f"{stack.url}/auth/token",
        data={"username": "nobody", "password": "wrong-password"},
        headers={"X-Forwarded-For": "203.0.113.66", "X-Request-ID": request_id},
    )
    audited = await scalar(
        stack, "SELECT client_address FROM gateway.audit_log WHERE request_id = $1", request_id
    )
    assert audited == "127.0.0.1"


async def test_service_accounts_get_only_the_audiences_their_service_needs(
    client: httpx.AsyncClient, stack: RunningStack
) -> None:
    granted = {}
    for service, secret in stack.stack.client_secrets.items():
        for audience in AUDIENCES:
            response = await client.post(
                f"{stack.url}/auth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": service,
                    "client_secret": secret,
                    "audience": audience,
                },
            )
            assert response.status_code in (200, 401), response.text
            granted[service, audience] = response.status_code == 200
    assert {key for key, ok in granted.items() if ok} == {
        (service, audience)
        for service, audiences in SERVICE_AUDIENCES.items()
        for audience in audiences
    }
    # Nobody but funds' own callers may hold a funds token: projects cannot post transfers.
    assert not granted["projects", "sciplan-funds"]


async def _sciplan(stack: RunningStack, *args: str, **env: str) -> Result:
    """The `sciplan` command against the stack's database, in this process (no start-up cost)."""
    variables = {"SCIPLAN_DATABASE_URL": stack.stack.database_url, **env}

    def invoke() -> Result:
        return CliRunner().invoke(cli, list(args), env=variables)

    return await asyncio.to_thread(invoke)


async def test_a_new_client_names_its_audiences(
    client: httpx.AsyncClient, stack: RunningStack
) -> None:
    secret = {"SCIPLAN_CLIENT_SECRET_REPORTING": "reporting-secret-0123456789"}
    refused = await _sciplan(stack, "register-client", "reporting", **secret)
    assert refused.exit_code == 2
    assert "--audience" in refused.output
    done = await _sciplan(
        stack, "register-client", "reporting", "--audience", "sciplan-projects", **secret
    )
    assert done.exit_code == 0, done.output
    assert "sciplan-projects" in done.output

    async def token(audience: str) -> int:
        response = await client.post(
            f"{stack.url}/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "reporting",
                "client_secret": "reporting-secret-0123456789",
                "audience": audience,
            },
        )
        return response.status_code

    assert await token("sciplan-projects") == 200
    assert await token("sciplan-funds") == 401


async def test_an_encoded_path_reaches_the_service_as_sent_and_no_internal_address_leaks(
    client: httpx.AsyncClient, stack: RunningStack
) -> None:
    token = await admin_token(client, stack)
    response = await client.get(
        f"{stack.url}/api/projects/v1/applications/%3F/versions", headers=bearer(token)
    )
    # "?" is no application id: refused by the service, not redirected to its own address.
    assert response.status_code == 422, response.text
    assert "location" not in response.headers
    internal = [f":{stack.stack.ports[s]}" for s in ("projects", "credit", "funds")]
    assert not any(port in response.text for port in internal)
    assert response.json()["instance"] == "/api/projects/v1/applications/%3F/versions"

    # A trailing slash makes FastAPI redirect: to the gateway's path, never the service's.
    slash = await client.get(f"{stack.url}/api/projects/v1/calls/", headers=bearer(token))
    assert slash.status_code == 307
    assert slash.headers["location"] == "/api/projects/v1/calls"


async def test_headers_hide_the_server_and_forbid_sniffing_and_caching_tokens(
    client: httpx.AsyncClient, stack: RunningStack
) -> None:
    login = await client.post(
        f"{stack.url}/auth/token", data={"username": "admin", "password": stack.admin_password}
    )
    token = login.json()["access_token"]
    assert login.headers["cache-control"] == "no-store"
    for response in (
        login,
        await client.get(f"{stack.url}/healthz"),
        await client.get(f"{stack.url}/api/credit/v1/me", headers=bearer(token)),
        await client.get(f"{stack.url}/api/credit/v1/no-such-route", headers=bearer(token)),
        await client.get(f"{stack.url}/no-such-route"),
    ):
        assert "server" not in response.headers, response.url
        assert response.headers["x-content-type-options"] == "nosniff", response.url


ACTIVE_ADMINS = (
    "SELECT count(*) FROM gateway.users u JOIN gateway.user_roles r ON r.user_id = u.id "
    "WHERE r.role = 'admin' AND u.is_active"
)


async def test_the_last_admin_stays_and_restore_admin_lets_the_operator_back_in(
    client: httpx.AsyncClient, stack: RunningStack
) -> None:
    admin = await admin_token(client, stack)
    second = await create_user(
        client, stack, admin, f"second.admin.{uuid.uuid4().hex[:6]}", ["admin"]
    )
    other = (
        await client.post(
            f"{stack.url}/auth/token",
            data={"username": second["username"], "password": "e2e-user-password"},
        )
    ).json()["access_token"]
    admin_id = str(await scalar(stack, "SELECT id FROM gateway.users WHERE username = 'admin'"))
    assert await scalar(stack, ACTIVE_ADMINS) == 2
    try:
        # Two admins demote each other at the same moment: one of them must stay.
        first, last = await asyncio.gather(
            client.delete(
                f"{stack.url}/admin/v1/users/{second['id']}/roles/admin", headers=bearer(admin)
            ),
            client.delete(
                f"{stack.url}/admin/v1/users/{admin_id}/roles/admin", headers=bearer(other)
            ),
        )
        assert sorted([first.status_code, last.status_code]) == [200, 409], (first, last)
        refused = first if first.status_code == 409 else last
        assert refused.json()["code"] == "user.last_admin"
        assert await scalar(stack, ACTIVE_ADMINS) == 1
        survivor_id, survivor = (
            (admin_id, admin)
            if first.status_code == 200
            else (
                second["id"],
                other,
            )
        )
        for attempt in (
            client.delete(
                f"{stack.url}/admin/v1/users/{survivor_id}/roles/admin", headers=bearer(survivor)
            ),
            client.patch(
                f"{stack.url}/admin/v1/users/{survivor_id}",
                json={"is_active": False},
                headers=bearer(survivor),
            ),
        ):
            assert (await attempt).status_code == 409
    finally:
        # The operator's way back in (here: to the stack's admin, whoever won the race).
        restored = await _sciplan(
            stack, "restore-admin", SCIPLAN_ADMIN_PASSWORD=stack.admin_password
        )
        assert restored.exit_code == 0, restored.output
        assert "restored admin 'admin'" in restored.output
    admin = await admin_token(client, stack)
    me = await client.get(f"{stack.url}/admin/v1/users/{admin_id}", headers=bearer(admin))
    assert "admin" in me.json()["roles"]
    retired = await client.patch(
        f"{stack.url}/admin/v1/users/{second['id']}",
        json={"is_active": False},
        headers=bearer(admin),
    )
    assert retired.status_code == 200
    assert await scalar(stack, ACTIVE_ADMINS) == 1


def _from(address: str) -> httpx.AsyncClient:
    """A client whose connections come from `address` (any of 127.0.0.0/8 reaches loopback)."""
    return httpx.AsyncClient(
        timeout=10, transport=httpx.AsyncHTTPTransport(local_address=address, retries=0)
    )


async def test_guessing_from_elsewhere_does_not_lock_the_owner_out(
    client: httpx.AsyncClient, stack: RunningStack
) -> None:
    admin = await admin_token(client, stack)
    owner = await create_user(client, stack, admin, f"owner.{uuid.uuid4().hex[:6]}", ["applicant"])
    form = {"username": owner["username"], "password": "e2e-user-password"}
    assert (await client.post(f"{stack.url}/auth/token", data=form)).status_code == 200

    async with _from("127.0.0.2") as guesser:
        wrong = form | {"password": "not-the-password"}
        replies = [await guesser.post(f"{stack.url}/auth/token", data=wrong) for _ in range(6)]
        assert [r.status_code for r in replies] == [401] * 5 + [429]
        stopped = await guesser.post(f"{stack.url}/auth/token", data=form)
        assert stopped.status_code == 429  # locked out of this account, right password or not
        assert int(stopped.headers["Retry-After"]) >= 1
    # Before issue 13 this was 429 for an hour: the owner, at their usual address, logs in.
    assert (await client.post(f"{stack.url}/auth/token", data=form)).status_code == 200
    async with _from("127.0.0.3") as elsewhere:  # and from a new one too (no crowd yet)
        assert (await elsewhere.post(f"{stack.url}/auth/token", data=form)).status_code == 200


async def test_a_burst_of_logins_gets_quick_503s_and_is_over_when_it_is_over(
    client: httpx.AsyncClient, stack: RunningStack
) -> None:
    admin = await admin_token(client, stack)
    user = await create_user(client, stack, admin, f"burst.{uuid.uuid4().hex[:6]}", ["applicant"])
    form = {"username": user["username"], "password": "e2e-user-password"}
    loop = asyncio.get_running_loop()

    async def login() -> tuple[int, float, str | None]:
        started = loop.time()
        response = await client.post(f"{stack.url}/auth/token", data=form)
        return response.status_code, loop.time() - started, response.headers.get("retry-after")

    # Four password checks at once and sixteen waiting (the defaults): the rest are turned away.
    replies = await asyncio.gather(*(login() for _ in range(40)))
    statuses = [status for status, _, _ in replies]
    assert set(statuses) == {200, 503}, statuses
    # About 20 are let in (a few more if some checks end before the last request arrives).
    assert statuses.count(503) >= 10, statuses
    busy = [(took, retry) for status, took, retry in replies if status == 503]
    assert all(retry is not None and int(retry) >= 1 for _, retry in busy)
    # Refused at once, or after the longest wait (3 s): never left hanging.
    assert max(took for took, _ in busy) < 3 + 2
    # The burst is over: a login is served straight away.
    status, took, _ = await login()
    assert status == 200
    assert took < 3


async def test_admin_lists_and_forms_say_what_they_take(
    client: httpx.AsyncClient, stack: RunningStack
) -> None:
    token = await admin_token(client, stack)
    admins = await client.get(
        f"{stack.url}/admin/v1/users", params={"role": "admin", "limit": 1}, headers=bearer(token)
    )
    assert admins.status_code == 200
    page = admins.json()
    assert set(page) == {"items", "next_cursor"}
    assert all("admin" in user["roles"] for user in page["items"])
    unknown = await client.get(f"{stack.url}/admin/v1/users?rol=admin", headers=bearer(token))
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "query.unknown_parameter"

    as_json = await client.post(
        f"{stack.url}/auth/token", json={"username": "admin", "password": stack.admin_password}
    )
    assert as_json.status_code == 415
    assert as_json.json()["code"] == "auth.form_required"

    too_big = await client.post(
        f"{stack.url}/api/credit/v1/subjects",
        content=b"x" * 70_000,
        headers=bearer(token) | {"Content-Type": "application/json"},
    )
    assert too_big.status_code == 413
    assert too_big.json()["max_bytes"] == 65536  # the stack's SCIPLAN_GATEWAY_MAX_BODY_BYTES
    assert "65536" in too_big.json()["detail"]


async def test_every_reference_in_the_served_openapi_document_resolves(
    client: httpx.AsyncClient, stack: RunningStack
) -> None:
    document = (await client.get(f"{stack.url}/openapi.json")).json()
    references = list(references_in(document))
    assert references
    assert [ref for _, ref in references if not resolves(document, ref)] == []


PROOF_KEY = "e2e-production-like-proof-key"


@pytest.fixture
def proving_pair(stack: RunningStack) -> Iterator[tuple[str, str]]:
    """A credit process that requires the gateway's proof on writes, as in production, and a
    gateway in front of it; both share a key that is not the development default."""
    credit_port, gateway_port = free_ports(2)
    common = {
        "SCIPLAN_CREDIT_GATEWAY_PROOF_KEY": PROOF_KEY,
        "SCIPLAN_GATEWAY_GATEWAY_PROOF_KEY": PROOF_KEY,
    }
    envs = {
        "credit": stack.stack.env_for("credit")
        | common
        | {"SCIPLAN_CREDIT_PORT": str(credit_port), "SCIPLAN_CREDIT_REQUIRE_GATEWAY_PROOF": "true"},
        "gateway": stack.stack.env_for("gateway")
        | common
        | {
            "SCIPLAN_GATEWAY_PORT": str(gateway_port),
            "SCIPLAN_GATEWAY_CREDIT_URL": f"http://127.0.0.1:{credit_port}",
        },
    }
    processes = [
        subprocess.Popen([sys.executable, "-m", "sciplan.serve", name], env=env)
        for name, env in envs.items()
    ]
    try:
        extra = Stack(
            database_url=stack.stack.database_url,
            ports={"credit": credit_port, "gateway": gateway_port},
        )
        extra.wait_ready(("credit", "gateway"), timeout=60)
        yield f"http://127.0.0.1:{credit_port}", f"http://127.0.0.1:{gateway_port}"
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)


async def test_a_write_straight_to_a_service_is_refused_and_through_the_gateway_served(
    client: httpx.AsyncClient, stack: RunningStack, proving_pair: tuple[str, str]
) -> None:
    credit, gateway = proving_pair
    token = await admin_token(client, stack)
    body = "91620100MA" + f"{uuid.uuid4().int % 10**7:07d}"
    subject = {
        "kind": "organization",
        "name": "兰州检测公司",
        "credit_code": body + check_character(body),
    }
    request_id = f"proof-{uuid.uuid4().hex[:8]}"

    direct = await client.post(f"{credit}/v1/subjects", json=subject, headers=bearer(token))
    assert direct.status_code == 403, direct.text
    assert direct.json()["code"] == "gateway.proof_required"
    assert (await client.get(f"{credit}/v1/me", headers=bearer(token))).status_code == 200

    through = await client.post(
        f"{gateway}/api/credit/v1/subjects",
        json=subject,
        headers=bearer(token) | {"X-Request-ID": request_id},
    )
    assert through.status_code == 200, through.text
    audited = await scalar(
        stack, "SELECT status FROM gateway.audit_log WHERE request_id = $1", request_id
    )
    assert audited == 200

    # Services still call each other directly, with their own accounts' tokens.
    service_token = (
        await client.post(
            f"{stack.url}/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "projects",
                "client_secret": stack.stack.client_secrets["projects"],
                "audience": "sciplan-credit",
            },
        )
    ).json()["access_token"]
    ratings = await client.post(
        f"{credit}/v1/ratings/bulk",
        json={"subject_ids": [through.json()["id"]]},
        headers=bearer(service_token),
    )
    assert ratings.status_code == 200, ratings.text
