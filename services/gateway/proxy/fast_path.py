"""Requests for the services (`/api/<service>/...`) go to the forwarder from the innermost
middleware, once the guard and the audit have seen them, instead of through FastAPI's exception
middleware, router and request wrapper: the forwarder answers every failure of its own as a
problem response, and anything else it raises still reaches the outer error handler (500)."""

from __future__ import annotations

from opentelemetry import trace
from starlette.requests import Request
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send


class ProxyFastPath:
    def __init__(self, app: ASGIApp, route: Route) -> None:
        self.app = app
        self.route = route  # the proxy's own route: what it matches, this takes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            match, child = self.route.matches(scope)
            if match == Match.FULL:  # a method the route refuses goes on, to be told 405
                scope.update(child)
                span = trace.get_current_span()  # the request's server span, when tracing
                if span.is_recording():  # named by its route, as FastAPI names those it routes
                    span.set_attribute("http.route", self.route.path_format)
                    span.update_name(f"{scope['method']} {self.route.path_format}")
                response = await scope["app"].state.forwarder(Request(scope, receive))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
