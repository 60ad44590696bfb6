"""Every mutating request is written to the audit log before its response starts.

Holding the response until the row is committed means no client sees an answer to a write
that left no trace (rows are committed in groups: `writer.py`). A row that cannot be written
(the database is down) is logged whole, with its request id, and counted in
`sciplan_audit_write_failures_total`. Bodies are never logged (they may hold passwords).
"""

from __future__ import annotations

import logging

from starlette.datastructures import State
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.gateway.audit.chain import AuditRecord
from shared.auth.tokens import Principal
from shared.clock import utcnow

log = logging.getLogger(__name__)
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The portal's forms are not audited here: whatever a form changes, the portal changes through
# the API, as the person, and that request is audited with their name.
AUDITED_PREFIXES = ("/api/", "/auth/", "/admin/", "/v1/")


def client_address(scope: Scope) -> str | None:
    state = scope.get("state") or {}
    address = state.get("client_address")
    if address:
        return str(address)
    client = scope.get("client")
    return client[0] if client else None


class AuditMiddleware:
    def __init__(self, app: ASGIApp, app_state: State) -> None:
        self.app = app
        self.app_state = app_state  # the database is there once the lifespan has started

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in MUTATING
            or not scope["path"].startswith(AUDITED_PREFIXES)
        ):
            await self.app(scope, receive, send)
            return

        async def send_after_audit(message: Message) -> None:
            if message["type"] == "http.response.start":
                await self._record(scope, message["status"])
            await send(message)

        await self.app(scope, receive, send_after_audit)

    async def _record(self, scope: Scope, status: int) -> None:
        state = scope.get("state") or {}
        principal = state.get("principal")
        record = AuditRecord(
            at=utcnow(),
            actor=principal.subject if isinstance(principal, Principal) else None,
            method=scope["method"],
            path=scope["path"][:500],
            status=status,
            request_id=str(state.get("request_id", "")),
            client_address=client_address(scope),
        )
        try:
            await self.app_state.audit_writer.write(record)
        except Exception as exc:
            # The write itself is done (or refused) and its answer goes out; the row that
            # should record it is not lost silently: the log keeps all of it, and
            # `sciplan_audit_write_failures_total` tells the operator to look.
            self.app_state.audit_failures.inc()
            log.error(
                "audit row not written: %s %s %s (%r)",
                record.method,
                record.path,
                record.status,
                exc,
                extra={"audit_row": _loggable(record)},
            )


def _loggable(record: AuditRecord) -> dict[str, object]:
    return {
        "at": record.at.isoformat(),
        "actor": record.actor,
        "method": record.method,
        "path": record.path,
        "status": record.status,
        "request_id": record.request_id,
        "client_address": record.client_address,
    }
