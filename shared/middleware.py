"""One plain ASGI middleware for what every request gets: its id, its metrics, its access log.

One layer rather than three (cheaper than BaseHTTPMiddleware, and than a layer each): the id is
taken from the caller's X-Request-ID (if well-formed) or made, and echoed; the request is
counted and timed by route template; and it is logged. The gateway logs every request it
answers; a service behind it logs only what needs a look (a 5xx, or a slow answer): the same
request id finds the gateway's line for the rest, and a line per request in every service
was work nobody read.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import secrets
import time

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.logging import REQUEST_ID_HEADER, request_id_var
from shared.metrics import ServiceMetrics, route_label

access_log = logging.getLogger("sciplan.access")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
_HEADER = REQUEST_ID_HEADER.lower().encode()
# A service logs a request that took longer than this even when it succeeded.
SLOW_SECONDS = 1.0


class RequestIds:
    """Ids for requests that come without one: 32 hex digits, as a uuid4's, made of 64 random
    bits fixed for the process and a counter: two processes share a prefix once in 2**64, and
    a caller may send an id of its own anyway, so nothing relies on them being unguessable.
    uuid4 asked the kernel for randomness every time: 2% of the gateway's CPU per request.
    A forked child starts its own series."""

    def __init__(self) -> None:
        self.reset()
        os.register_at_fork(after_in_child=self.reset)

    def reset(self) -> None:
        self._prefix = secrets.token_hex(8)
        self._next = itertools.count(1).__next__

    def new(self) -> str:
        return f"{self._prefix}{self._next():016x}"


new_request_id = RequestIds().new


class RequestIdMiddleware:
    """Request id, metrics (when given) and the access log of every HTTP request."""

    def __init__(
        self, app: ASGIApp, metrics: ServiceMetrics | None = None, log_every_request: bool = True
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.log_every_request = log_every_request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v for k, v in scope["headers"] if k == _HEADER), b"").decode("latin-1")
        request_id = incoming if _SAFE_ID.match(incoming) else new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            if self.metrics is not None:
                self.metrics.observe(scope["method"], route_label(scope), status, seconds)
            if (
                self.log_every_request or status >= 500 or seconds > SLOW_SECONDS
            ) and access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    "%s %s %s",
                    scope["method"],
                    scope["path"],
                    status,
                    extra={
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": round(seconds * 1000, 2),
                    },
                )
            request_id_var.reset(token)
