"""The gateway: the only public entry. `create_app(settings)` for uvicorn and for tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from prometheus_client import Counter
from starlette.routing import Match, Route
from starlette.types import Scope

from services.gateway.accounts.endpoints import router as accounts_router
from services.gateway.accounts.notify import NotifyClient
from services.gateway.api_docs import asset, redoc, swagger_ui
from services.gateway.audit.middleware import AuditMiddleware
from services.gateway.audit.writer import AuditWriter
from services.gateway.auth.endpoints import public_keys_router
from services.gateway.auth.endpoints import router as auth_router
from services.gateway.auth.gate import LoginGate
from services.gateway.auth.keys import KeyStore, ensure_signing_key
from services.gateway.auth.passwords import hash_cheaply_for_tests
from services.gateway.auth.repository import active_user_lookup
from services.gateway.auth.service import TokenIssuer
from services.gateway.auth.throttle import LoginThrottle
from services.gateway.config import GatewaySettings
from services.gateway.consumers import projects_consumer
from services.gateway.guard import GuardMiddleware
from services.gateway.headers import SecurityHeadersMiddleware
from services.gateway.identity.endpoints import router as identity_router
from services.gateway.models import events
from services.gateway.own_tokens import OwnServiceTokens
from services.gateway.proxy.fast_path import ProxyFastPath
from services.gateway.proxy.forward import Forwarder
from services.gateway.proxy.openapi import ServiceDocs, merge
from services.gateway.proxy.upstream import UpstreamClient
from services.gateway.ratelimit import RateLimiter
from services.gateway.registrations.endpoints import admin_router as registrations_admin_router
from services.gateway.registrations.endpoints import public_router as registrations_router
from shared.auth.active_users import ActiveUsers
from shared.auth.dependencies import CurrentPrincipal
from shared.auth.tokens import TokenVerifier
from shared.db import Database, async_url, asyncpg_dsn, install_db_error_handlers
from shared.errors import ServiceUnavailable, Text, install_error_handlers, problem_response
from shared.events.feed import event_feed_router
from shared.http import client_session
from shared.input_bounds import install_input_bounds
from shared.metrics import install_metrics
from shared.middleware import RequestIdMiddleware
from shared.openapi import with_problem_responses
from shared.pagination import strict_query
from shared.tracing import telemetry, tracing_for

PROXY_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

# Routes anyone may call, each for a reason: health probes; logging in and refreshing (the
# credentials are in the body); the public keys; the docs and their files. The proxy route
# hands the decision to the service that owns the path, which authenticates every route not
# public there.
PUBLIC_ROUTES = frozenset(
    {
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("POST", "/auth/token"),
        ("POST", "/auth/refresh"),
        ("POST", "/auth/logout"),
        # A forgotten password and an address to confirm: the one-time token is the credential.
        ("POST", "/auth/password-reset"),
        ("POST", "/auth/password-reset/confirm"),
        ("POST", "/auth/email-verification/confirm"),
        # An organization not registered yet has nobody who could log in.
        ("POST", "/v1/organization-requests"),
        ("GET", "/.well-known/jwks.json"),
        ("GET", "/openapi.json"),
        ("GET", "/docs"),
        ("GET", "/docs/assets/{name:path}"),
        ("GET", "/redoc"),
        ("GET", "/metrics"),  # checks the static metrics token itself (Prometheus cannot log in)
        ("*", "/api/{service}/{path:path}"),
        # The web portal: its pages are public or send to its login page (it keeps the
        # sessions); what they show comes from the API, called as the person.
        ("*", "/{path:path}"),
    }
)
# Paths of the gateway's own and of the API: never the portal's, so that a wrong method or an
# unknown path there answers 405 or 404 in problem+json, not with a web page.
NOT_PORTAL = ("/api/", "/auth/", "/admin/", "/v1/", "/internal/", "/.well-known/", "/metrics")


class ProxyRoute(Route):
    """A plain route that names itself in the scope, as FastAPI's routes do: the metrics label
    a request by its route's template (`/api/credit/...`), never by its raw path."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match != Match.NONE:
            child["route"] = self
        return match, child


class PortalRoute(ProxyRoute):
    """Everything the gateway and the API do not claim goes to the portal."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and scope["path"].startswith(NOT_PORTAL):
            return Match.NONE, {}
        return super().matches(scope)


def _system_router(settings: GatewaySettings) -> APIRouter:
    router = APIRouter(tags=["gateway"])

    @router.get("/healthz", summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": "gateway"}

    @router.get("/readyz", summary="Readiness: the database answers", response_model=None)
    async def readyz(request: Request) -> dict[str, str] | JSONResponse:
        if await request.app.state.db.ping():
            return {"status": "ready", "service": "gateway"}
        return problem_response(
            request,
            status=503,
            code=ServiceUnavailable.code,
            title=ServiceUnavailable.title,
            detail=Text("数据库不可达", "Database unreachable"),
        )

    @router.get("/v1/me", summary="The caller as the gateway sees it")
    async def me(principal: CurrentPrincipal) -> dict[str, Any]:
        return {
            "service": "gateway",
            "subject": principal.subject,
            "username": principal.username,
            "roles": sorted(principal.roles),
            "org_id": str(principal.org_id) if principal.org_id else None,
            "token_expires_at": principal.expires_at,
        }

    return router


async def _keep_session(connection: asyncpg.Connection) -> None:
    return None


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    if settings.cheap_password_hashing:
        hash_cheaply_for_tests()
    tracing = tracing_for(settings, edge=True)
    tracer = tracing.tracer("sciplan") if tracing is not None else None

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if tracing is not None:
            tracing.start()
        db = Database(settings)
        async with db.sessionmaker() as session, session.begin():
            await ensure_signing_key(session)
        pool = await asyncpg.create_pool(
            asyncpg_dsn(async_url(settings.database_url.get_secret_value())),
            min_size=1,
            max_size=settings.db_pool_size,
            # Connecting gives up like the main pool does, so an outage answers 503 quickly.
            timeout=settings.db_pool_timeout_seconds,
            # The limiter runs one autocommit statement and leaves no session state: skip the
            # default reset query (RESET ALL; UNLISTEN *; ...) that costs a round trip a request.
            reset=_keep_session,
            # A bucket's count may be lost in a crash (limits restart a little generous); in
            # exchange the hot bucket rows are not locked across a WAL flush on every request.
            server_settings={"synchronous_commit": "off"},
        )
        # The services' own calls (docs, notices, the event feed); forwarding has its own client.
        http = client_session(settings.proxy_timeout_seconds, tracer=tracer)
        upstreams = UpstreamClient(
            read_seconds=settings.proxy_timeout_seconds, limit=500, tracer=tracer
        )
        key_store = KeyStore(db, settings.key_cache_seconds)
        app.state.db = db
        app.state.http = http
        app.state.key_store = key_store
        app.state.token_issuer = TokenIssuer(settings, key_store)
        app.state.token_verifier = TokenVerifier(
            audience=settings.audience, issuer=settings.jwt_issuer, keys=key_store.public_key
        )
        app.state.active_users = ActiveUsers(
            active_user_lookup(db),
            cache_seconds=settings.active_user_cache_seconds,
            unknown_is_active=False,
        )
        app.state.login_throttle = LoginThrottle(
            max_failures=settings.login_max_failures,
            lockout_seconds=settings.login_lockout_seconds,
            account_max_failures=settings.login_account_max_failures,
            account_delay_seconds=settings.login_account_delay_seconds,
            account_max_delay_seconds=settings.login_account_max_delay_seconds,
        )
        app.state.login_gate = LoginGate(
            at_once=settings.login_concurrency,
            queue=settings.login_queue,
            max_wait_seconds=settings.login_max_wait_seconds,
        )
        app.state.rate_limiter = RateLimiter(
            pool,
            settings.db_pool_timeout_seconds,
            settings.db_pool_size,
            lease_fraction=settings.rate_limit_lease_fraction,
        )
        app.state.forwarder = Forwarder(settings, upstreams)
        replicas = app.state.forwarder.replicas
        app.state.service_docs = ServiceDocs(replicas, http)
        own_tokens = OwnServiceTokens(app.state.token_issuer)
        app.state.notify = NotifyClient(
            replicas["notify"], settings.notify_timeout_seconds, own_tokens, http
        )
        app.state.audit_writer = AuditWriter(db)
        app.state.audit_writer.start()
        stop = asyncio.Event()
        consuming: asyncio.Task[None] | None = None
        if settings.consume_events:
            consumer = projects_consumer(replicas["projects"], own_tokens, db, http, tracer)
            app.state.consumers.append(consumer)
            app.state.event_sources = {consumer.source: consumer.handlers}
            consuming = asyncio.create_task(consumer.run_forever(settings.event_poll_seconds, stop))
        try:
            yield
        finally:
            stop.set()
            if consuming is not None:
                consuming.cancel()
                await asyncio.gather(consuming, return_exceptions=True)
            await app.state.audit_writer.stop()
            await http.close()
            await upstreams.close()
            await pool.close()
            await db.dispose()
            if tracing is not None:
                await tracing.stop()

    app = FastAPI(
        title="SciPlan",
        description=(
            "The public API of SciPlan: identity and tokens at the gateway, and every service "
            "under `/api/<service>`. Log in with the Authorize button (username and password)."
        ),
        version="0.1.0",
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        telemetry=telemetry(tracing),
    )
    app.state.settings = settings
    app.state.public_routes = PUBLIC_ROUTES
    install_error_handlers(app)
    install_db_error_handlers(app)

    async def forward(request: Request) -> Any:
        return await request.app.state.forwarder(request)

    proxy_route = ProxyRoute(
        "/api/{service}/{path:path}", forward, methods=PROXY_METHODS, include_in_schema=False
    )
    app.add_middleware(ProxyFastPath, route=proxy_route)  # the innermost: after guard and audit
    app.add_middleware(GuardMiddleware, app_state=app.state, settings=settings)
    app.add_middleware(AuditMiddleware, app_state=app.state)
    install_input_bounds(app)
    metrics = install_metrics(app, "gateway", settings.metrics_token_value)
    app.add_middleware(RequestIdMiddleware, metrics=metrics)
    app.state.audit_failures = Counter(
        "sciplan_audit_write_failures",
        "Audited requests whose audit row could not be written (each is logged whole)",
        registry=metrics.registry,
    )
    app.state.event_tables = events
    app.include_router(_system_router(settings))
    app.include_router(auth_router)
    app.include_router(accounts_router)
    app.include_router(registrations_router)
    app.include_router(strict_query(registrations_admin_router))
    app.include_router(public_keys_router)
    app.include_router(strict_query(identity_router))
    app.include_router(event_feed_router(events))

    def own_openapi() -> dict[str, Any]:
        return with_problem_responses(
            get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
        )

    async def openapi_json(request: Request) -> JSONResponse:
        documents = await request.app.state.service_docs.documents()
        return JSONResponse(merge(own_openapi(), documents))

    app.add_route("/openapi.json", openapi_json, methods=["GET"], include_in_schema=False)
    app.add_route("/docs", swagger_ui, methods=["GET"], include_in_schema=False)
    app.add_route("/docs/assets/{name:path}", asset, methods=["GET"], include_in_schema=False)
    app.add_route("/redoc", redoc, methods=["GET"], include_in_schema=False)
    # First: most requests are for the services, and the gateway's own routes never start
    # with /api/, so they need not be tried one by one before it.
    app.router.routes.insert(0, proxy_route)  # what ProxyFastPath does not take

    async def portal(request: Request) -> Any:
        return await request.app.state.forwarder.portal(request)

    # Last: any path no route above took.
    app.router.routes.append(
        PortalRoute("/{path:path}", portal, methods=PROXY_METHODS, include_in_schema=False)
    )
    build_stack = app.build_middleware_stack
    # Outside Starlette's error middleware too, so that even a 500 page carries the headers.
    app.build_middleware_stack = lambda: SecurityHeadersMiddleware(build_stack())  # type: ignore[method-assign]
    return app
