"""Every service verifies every token itself: only the gateway's access tokens for it pass."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from httpx import AsyncClient

from services.gateway.auth.keys import KeyRing
from shared.auth.roles import Role
from tests.conftest import Login, MakeUser, ServiceClients, bearer

SERVICE_NAMES = ["projects", "credit", "funds"]


async def _ring(gateway: FastAPI) -> KeyRing:
    ring: KeyRing = await gateway.state.key_store.ring()
    return ring


def _sign(claims: dict[str, Any], key: Ed25519PrivateKey, kid: str, **header: str) -> str:
    return jwt.encode(
        claims, key, algorithm="EdDSA", headers={"kid": kid, "typ": "at+jwt", **header}
    )


def _unsigned(claims: dict[str, Any], kid: str) -> str:
    header = {"alg": "none", "typ": "at+jwt", "kid": kid}
    parts = [jwt.utils.base64url_encode(json.dumps(p).encode()).decode() for p in (header, claims)]
    return ".".join([*parts, ""])


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": "sciplan-gateway",
        "sub": "01a21563-37cb-7c43-a861-04452fb41338",
        "aud": ["sciplan-projects", "sciplan-credit", "sciplan-funds"],
        "iat": now,
        "exp": now + 600,
        "jti": "test-jti",
        "roles": ["applicant"],
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


@pytest.mark.parametrize("service", SERVICE_NAMES)
async def test_a_gateway_token_works_at_every_service(
    service: str, service_clients: ServiceClients, make_user: MakeUser, login: Login
) -> None:
    user = await make_user(Role.applicant)
    token = (await login(user))["access_token"]
    response = await service_clients[service].get("/v1/me", headers=bearer(token))
    assert response.status_code == 200, response.text
    me = response.json()
    assert me["service"] == service
    assert me["subject"] == str(user["id"])
    assert me["roles"] == ["applicant"]


async def test_bad_tokens_fail_at_every_service(
    gateway: FastAPI, service_clients: ServiceClients
) -> None:
    ring = await _ring(gateway)
    good = _sign(_claims(), ring.signing_key, ring.signing_kid)
    stranger = Ed25519PrivateKey.generate()
    header, payload, signature = good.split(".")
    tampered_payload = jwt.utils.base64url_encode(
        jwt.utils.base64url_decode(payload).replace(b'"applicant"', b'"admin"')
    ).decode()
    cases = {
        "no token": None,
        "forged (other key, same kid)": _sign(_claims(), stranger, ring.signing_kid),
        "tampered payload": f"{header}.{tampered_payload}.{signature}",
        "expired": _sign(
            _claims(iat=int(time.time()) - 3600, exp=int(time.time()) - 1800),
            ring.signing_key,
            ring.signing_kid,
        ),
        "another service's token": _sign(
            _claims(aud=["sciplan-gateway"]), ring.signing_key, ring.signing_kid
        ),
        "wrong issuer": _sign(_claims(iss="someone-else"), ring.signing_key, ring.signing_kid),
        "missing jti": _sign(_claims(jti=None), ring.signing_key, ring.signing_kid),
        "unknown kid": _sign(_claims(), ring.signing_key, "no-such-kid"),
        "not typed as access token": _sign(
            _claims(), ring.signing_key, ring.signing_kid, typ="JWT"
        ),
        "alg none": _unsigned(_claims(), ring.signing_kid),
        "opaque refresh token": "r3fr3sh-t0k3n-th4t-is-0p4qu3",
    }
    for service in SERVICE_NAMES:
        client = service_clients[service]
        control = await client.get("/v1/me", headers=bearer(good))
        assert control.status_code == 200, (service, control.text)
        for name, token in cases.items():
            headers = bearer(token) if token else {}
            response = await client.get("/v1/me", headers=headers)
            assert response.status_code == 401, (service, name, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["code"].startswith("auth."), (service, name)


async def test_service_token_for_one_audience_fails_at_the_others(
    gateway: FastAPI, service_clients: ServiceClients
) -> None:
    ring = await _ring(gateway)
    funds_only = _sign(
        _claims(sub="svc:funds", aud=["sciplan-funds"], roles=["service"]),
        ring.signing_key,
        ring.signing_kid,
    )
    assert (
        await service_clients["funds"].get("/v1/me", headers=bearer(funds_only))
    ).status_code == 200
    for service in ("projects", "credit"):
        response = await service_clients[service].get("/v1/me", headers=bearer(funds_only))
        assert response.status_code == 401


async def test_event_feed_is_for_service_accounts_only(
    gateway: FastAPI, gateway_client: AsyncClient, make_user: MakeUser, login: Login
) -> None:
    admin = await make_user(Role.admin)
    token = (await login(admin))["access_token"]
    refused = await gateway_client.get("/internal/v1/events", headers=bearer(token))
    assert refused.status_code == 403
    ring = await _ring(gateway)
    service = _sign(
        _claims(sub="svc:credit", aud=["sciplan-gateway"], roles=["service"]),
        ring.signing_key,
        ring.signing_kid,
    )
    allowed = await gateway_client.get("/internal/v1/events", headers=bearer(service))
    assert allowed.status_code == 200
    assert "events" in allowed.json()
