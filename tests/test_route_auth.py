"""No route answers without authentication unless it is on its app's explicit public list."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts
from pydantic import SecretStr

from services.credit.config import CreditSettings
from services.credit.main import create_app as credit_app
from services.funds.config import FundsSettings
from services.funds.main import create_app as funds_app
from services.gateway.config import GatewaySettings
from services.gateway.main import create_app as gateway_app
from services.notify.config import NotifySettings
from services.notify.main import create_app as notify_app
from services.projects.config import ProjectsSettings
from services.projects.main import create_app as projects_app
from shared.auth.dependencies import current_principal

URL = SecretStr("postgresql+asyncpg://unused@localhost/unused")


def _apps() -> dict[str, FastAPI]:
    return {
        "gateway": gateway_app(GatewaySettings(database_url=URL)),
        "projects": projects_app(ProjectsSettings(database_url=URL)),
        "credit": credit_app(CreditSettings(database_url=URL)),
        "funds": funds_app(FundsSettings(database_url=URL)),
        "notify": notify_app(NotifySettings(database_url=URL)),
    }


def _authenticates(dependant: Dependant) -> bool:
    return any(
        dep.call is current_principal or _authenticates(dep) for dep in dependant.dependencies
    )


def _routes(app: FastAPI) -> Iterator[tuple[str, str, Dependant | None]]:
    """(method, path, dependant) of every route, including those of included routers."""
    for context in iter_route_contexts(app.routes):
        path = context.path
        assert path is not None
        dependant = getattr(context, "dependant", None)
        for method in sorted(context.methods or {"GET"}):
            if method != "HEAD":
                yield method, path, dependant


def _is_public(app: FastAPI, method: str, path: str) -> bool:
    public: frozenset[tuple[str, str]] = app.state.public_routes
    return (method, path) in public or ("*", path) in public


def test_walk_sees_the_routes_of_included_routers() -> None:
    seen = {(method, path) for method, path, _ in _routes(_apps()["gateway"])}
    assert ("POST", "/admin/v1/users") in seen
    assert ("GET", "/internal/v1/events") in seen


def test_every_route_authenticates_or_is_deliberately_public() -> None:
    unguarded = [
        f"{name} {method} {path}"
        for name, app in _apps().items()
        for method, path, dependant in _routes(app)
        if not (dependant is not None and _authenticates(dependant))
        and not _is_public(app, method, path)
    ]
    assert unguarded == []


def test_public_lists_name_only_routes_that_exist() -> None:
    for name, app in _apps().items():
        existing = {(method, path) for method, path, _ in _routes(app)}
        existing |= {("*", path) for _, path, _ in _routes(app)}
        stale = set(app.state.public_routes) - existing
        assert stale == set(), name


def test_me_requires_authentication_everywhere() -> None:
    for app in _apps().values():
        me = [d for m, p, d in _routes(app) if p == "/v1/me"]
        assert me
        assert all(d is not None and _authenticates(d) for d in me)
