"""What every domain service has in common: `create_service_app(parts)` builds it.

Health and readiness, `GET /v1/me`, token verification against the gateway's JWKS, the
service's event feed, the consumer of the gateway's events (the directory), the events it
parked (dead letters), error handlers and the request id. Domain services add their own
routers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from shared.auth.active_users import ActiveUsers
from shared.auth.dependencies import CurrentPrincipal
from shared.auth.gateway_proof import GatewayProofMiddleware
from shared.auth.jwks import FetchDocument, JwksCache, http_jwks_fetcher
from shared.auth.service_account import ServiceTokens
from shared.auth.tokens import Principal, TokenVerifier
from shared.db import Database, ReadDep, install_db_error_handlers
from shared.directory import DirectoryTables, caller_query, directory_handlers, directory_lookup
from shared.errors import ServiceUnavailable, Text, install_error_handlers, problem_response
from shared.events.consumer import EventConsumer
from shared.events.dead_letter_routes import dead_letter_router
from shared.events.feed import event_feed_router
from shared.events.handlers import Handlers
from shared.events.remote import http_feed
from shared.events.tables import EventTables
from shared.http import client_session
from shared.input_bounds import install_input_bounds
from shared.metrics import install_metrics
from shared.middleware import RequestIdMiddleware
from shared.openapi import install_problem_docs
from shared.pagination import strict_query
from shared.settings import ServiceSettings
from shared.tracing import telemetry, tracing_for

# The OpenAPI document is public so the gateway can merge it into the one it serves; the
# interactive docs live only at the gateway. `/metrics` checks its own static token instead of
# a user's (Prometheus cannot log in).
PUBLIC_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/openapi.json"), ("GET", "/metrics")}
)


@dataclass(frozen=True)
class MeDetails:
    """What a service adds about the caller to `GET /v1/me` (under `details`), read in the same
    statement as the caller's directory row (`shared.directory.caller_query`): `columns` are
    labelled scalar subqueries on the parameters `user_id` and `org_id`, and `describe` makes
    the details of that row and the caller's principal."""

    columns: Sequence[sa.ColumnElement[Any]]
    describe: Callable[[Mapping[str, Any], Principal], dict[str, Any]]


@dataclass(frozen=True)
class EventSource:
    """Another service whose event feed this one consumes."""

    base_url: str
    handlers: Handlers


@dataclass
class ServiceParts:
    settings: ServiceSettings
    title: str
    description: str
    metadata: sa.MetaData
    events: EventTables
    directory: DirectoryTables
    routers: Sequence[APIRouter] = ()
    public_routes: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    # Feeds to consume besides the gateway's (whose events keep the directory), by service name.
    sources: Mapping[str, EventSource] = field(default_factory=dict)
    # Periodic jobs run while the app runs; each gets the app and an event set at shutdown.
    background: Sequence[Callable[[FastAPI, asyncio.Event], Coroutine[Any, Any, None]]] = ()
    # What this service adds about the caller to `GET /v1/me` (under `details`).
    me_details: MeDetails | None = None


class OrganizationView(BaseModel):
    id: UUID
    name: str
    credit_code: str


class MeResponse(BaseModel):
    service: str
    subject: str
    username: str | None
    roles: list[str]
    token_expires_at: int
    display_name: str | None = None
    organization: OrganizationView | None = None
    in_directory: bool = False
    details: dict[str, Any] = Field(
        default_factory=dict, description="what this service knows of the caller besides"
    )


def _health_router(settings: ServiceSettings, parts: ServiceParts) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": settings.service_name}

    @router.get("/readyz", summary="Readiness: the database answers", response_model=None)
    async def readyz(request: Request) -> dict[str, str] | JSONResponse:
        if await request.app.state.db.ping():
            return {"status": "ready", "service": settings.service_name}
        return problem_response(
            request,
            status=503,
            code=ServiceUnavailable.code,
            title=ServiceUnavailable.title,
            detail=Text("数据库不可达", "Database unreachable"),
        )

    details = parts.me_details
    caller = caller_query(parts.directory, details.columns if details is not None else ())

    @router.get("/v1/me", response_model=MeResponse, summary="The caller as this service sees it")
    async def me(principal: CurrentPrincipal, connection: ReadDep) -> MeResponse:
        # Autocommit, one statement straight to the driver: each portal page asks.
        view = MeResponse(
            service=settings.service_name,
            subject=principal.subject,
            username=principal.username,
            roles=sorted(principal.roles),
            token_expires_at=principal.expires_at,
        )
        if principal.user_id is None and details is None:
            return view
        row = await caller.first(connection, user_id=principal.user_id, org_id=principal.org_id)
        assert row is not None  # the caller's row is there whether the directory knows them
        if row["id"] is not None:
            view.in_directory = True
            view.display_name = row["display_name"]
            if row["org_id"] is not None:
                view.organization = OrganizationView(
                    id=row["org_id"], name=row["org_name"], credit_code=row["org_credit_code"]
                )
        if details is not None:
            view.details = details.describe(row, principal)
        return view

    return router


def create_service_app(parts: ServiceParts, *, jwks_fetch: FetchDocument | None = None) -> FastAPI:
    settings = parts.settings
    sources = {
        "gateway": EventSource(settings.gateway_url, directory_handlers(parts.directory)),
        **parts.sources,
    }
    tracing = tracing_for(settings)
    tracer = tracing.tracer("sciplan") if tracing is not None else None

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if tracing is not None:
            tracing.start()
        db = Database(settings)
        http = client_session(settings.http_timeout_seconds, tracer=tracer)
        jwks = JwksCache(
            jwks_fetch or http_jwks_fetcher(settings.jwks_url, http),
            ttl_seconds=settings.jwks_cache_seconds,
        )
        app.state.db = db
        app.state.http = http
        app.state.event_sources = {name: source.handlers for name, source in sources.items()}
        app.state.jwks = jwks
        app.state.token_verifier = TokenVerifier(
            audience=settings.audience, issuer=settings.jwt_issuer, keys=jwks.get
        )
        app.state.active_users = ActiveUsers(
            directory_lookup(db, parts.directory),
            cache_seconds=settings.active_user_cache_seconds,
            unknown_is_active=True,
        )
        # The service's own tokens for calling the others (None without a client id).
        app.state.service_tokens = None
        stop = asyncio.Event()
        tasks: list[asyncio.Task[Any]] = []
        if settings.client_id:
            tokens = app.state.service_tokens = ServiceTokens(
                token_url=f"{settings.gateway_url}/auth/token",
                client_id=settings.client_id,
                client_secret=settings.client_secret.get_secret_value(),
                session=http,
            )
            for name, source in sources.items():
                consumer = EventConsumer(
                    source=name,
                    fetch=http_feed(
                        feed_url=f"{source.base_url.rstrip('/')}/internal/v1/events",
                        audience=f"sciplan-{name}",
                        tokens=tokens,
                        session=http,
                    ),
                    sessionmaker=db.sessionmaker,
                    tables=parts.events,
                    handlers=source.handlers,
                    tracer=tracer,
                )
                app.state.consumers.append(consumer)
                tasks.append(
                    asyncio.create_task(consumer.run_forever(settings.event_poll_seconds, stop))
                )
        tasks.extend(asyncio.create_task(job(app, stop)) for job in parts.background)
        try:
            yield
        finally:
            stop.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await http.close()
            await db.dispose()
            if tracing is not None:
                await tracing.stop()

    app = FastAPI(
        title=parts.title,
        description=parts.description,
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        telemetry=telemetry(tracing),
    )
    app.state.settings = settings
    app.state.public_routes = PUBLIC_ROUTES | parts.public_routes
    install_error_handlers(app)
    install_db_error_handlers(app)
    install_input_bounds(app)
    if settings.gateway_proof_required:
        app.add_middleware(
            GatewayProofMiddleware,
            app_state=app.state,
            key=settings.gateway_proof_key.get_secret_value(),
        )
    metrics = install_metrics(app, settings.service_name, settings.metrics_token_value)
    app.add_middleware(RequestIdMiddleware, metrics=metrics, log_every_request=False)
    install_problem_docs(app)
    app.state.event_tables = parts.events
    app.include_router(_health_router(settings, parts))
    app.include_router(event_feed_router(parts.events))
    app.include_router(strict_query(dead_letter_router(parts.events)))
    for router in parts.routers:
        app.include_router(router)
    return app
