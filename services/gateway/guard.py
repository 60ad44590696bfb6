"""The gateway's front door for every request: who is calling, and are they over their limit.

A bearer token, when present, is verified here (401 if it is bad) and the caller is remembered
for the audit log, the rate limiter and the routes behind. Anonymous callers may only read,
and make the few public writes (`public_writes.py`), each on an allowance of its own per
address; whether a read needs a login is decided by the service that owns it.
"""

from __future__ import annotations

import logging

from starlette.datastructures import State
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from services.gateway.auth.throttle import address_key
from services.gateway.client_address import client_address
from services.gateway.config import GatewaySettings
from services.gateway.public_writes import PublicWrite, public_write
from services.gateway.ratelimit import RateLimiter
from shared.auth.active_users import ActiveUsers
from shared.auth.tokens import Principal, TokenVerifier
from shared.db import is_database_outage
from shared.errors import (
    AppError,
    ServiceUnavailable,
    Text,
    TooManyRequests,
    Unauthorized,
    problem_response,
)
from shared.metrics import METRICS_PATH

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class DatabaseUnavailable(ServiceUnavailable):
    title = Text("数据库暂不可用，请稍后重试", "The database is unavailable; try again shortly")


def route_group(path: str) -> str | None:
    if path.startswith("/api/"):
        return "api"
    if path.startswith("/auth/"):
        return "auth"
    if path.startswith(("/admin/", "/v1/")):
        return "admin"  # the gateway's own routes: people and accounts
    return None


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


def _forwarded_for(scope: Scope) -> list[str]:
    return [
        value.decode("latin-1") for name, value in scope["headers"] if name == b"x-forwarded-for"
    ]


class GuardMiddleware:
    def __init__(self, app: ASGIApp, app_state: State, settings: GatewaySettings) -> None:
        self.app = app
        self.app_state = app_state
        self.settings = settings
        self.proxies = settings.proxy_networks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        peer = scope.get("client")
        address = client_address(peer[0] if peer else None, _forwarded_for(scope), self.proxies)
        state["client_address"] = address
        group = route_group(scope["path"])
        public = public_write(scope["method"], scope["path"]) if group == "api" else None
        try:
            principal = await self._authenticate(scope, state)
            if group is not None:
                await self._limit(group, principal, address)
            if public is not None:
                await self._limit_public(public, address)
            elif group == "api" and principal is None and scope["method"] not in SAFE_METHODS:
                raise Unauthorized(Text("写操作需要登录", "Writes require an authenticated caller"))
        except Exception as exc:
            if not isinstance(exc, AppError):
                if not is_database_outage(exc):
                    raise
                # Out here no exception handler of the app answers: the key ring or a bucket
                # could not be read, which is the database's outage, not a bug.
                log.warning("database unavailable at the guard: %r", exc)
                exc = DatabaseUnavailable(headers={"Retry-After": "2"})
            response = problem_response(
                Request(scope),
                status=exc.status,
                code=exc.code,
                title=exc.title,
                detail=exc.detail,
                headers=exc.headers,
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _authenticate(self, scope: Scope, state: dict[str, object]) -> Principal | None:
        token = _bearer(scope)
        if token is None or scope["path"] == METRICS_PATH:
            return None  # /metrics carries the static metrics token, not a user's
        verifier: TokenVerifier = self.app_state.token_verifier
        principal = await verifier.verify(token)
        active_users: ActiveUsers = self.app_state.active_users
        await active_users.ensure_active(principal)
        state["principal"] = principal
        state["token"] = token
        return principal

    async def _limit(self, group: str, principal: Principal | None, address: str) -> None:
        limits = self.settings.rate_limits.get(group)
        if limits is None:
            return
        buckets = [(f"{group}:addr:{address}", limits.address)]
        if principal is not None:
            buckets.append((f"{group}:sub:{principal.subject}", limits.user))
        limiter: RateLimiter = self.app_state.rate_limiter
        decision = await limiter.take(buckets)
        if not decision.allowed:
            raise TooManyRequests(headers={"Retry-After": str(decision.retry_after)})

    async def _limit_public(self, write: PublicWrite, address: str) -> None:
        limiter: RateLimiter = self.app_state.rate_limiter
        bucket = f"{write.bucket}:addr:{address_key(address)}"
        decision = await limiter.take([(bucket, write.limit(self.settings))])
        if not decision.allowed:
            raise write.throttled(headers={"Retry-After": str(decision.retry_after)})
