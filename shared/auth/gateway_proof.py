"""Proof that a request came through the gateway, which audits every write.

The gateway signs each request it forwards with a key it shares with the services
(`gateway_proof_key`): an HMAC over the time, the method, the path and query as the service
receives them, the caller's Authorization header and the body's SHA-256. A service that
requires it (`require_gateway_proof`, on in production) refuses a person's write without a
valid, fresh proof: sent straight to the service's port it would leave no audit row. Reads
need no proof, and neither do service accounts calling each other with their own tokens.

A proof is good for `MAX_AGE_SECONDS` and only for the same request by the same caller, so
one seen on the internal network cannot be used for another write.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import time

from starlette.datastructures import State
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.auth.tokens import TokenVerifier
from shared.errors import AppError, Forbidden, Text, problem_response

log = logging.getLogger(__name__)

HEADER = "X-SciPlan-Gateway-Proof"
MAX_AGE_SECONDS = 60
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
EMPTY_DIGEST = hashlib.sha256(b"").hexdigest()


class ProofRequired(Forbidden):
    code = "gateway.proof_required"
    title = Text("写操作须经网关", "Writes must come through the gateway")


def _signature(key: str, at: int, method: str, target: str, authorization: str, digest: str) -> str:
    caller = hashlib.sha256(authorization.encode("latin-1")).hexdigest()
    message = "\n".join([str(at), method.upper(), target, caller, digest])
    return hmac.new(key.encode(), message.encode("latin-1"), hashlib.sha256).hexdigest()


def sign(
    key: str,
    *,
    method: str,
    target: str,
    authorization: str,
    body: bytes,
    body_sha256: str | None = None,
) -> str:
    """The header value for a request to `target` (the path and query the service sees).
    `body_sha256`: the body's digest, already computed (for a body sent from a file)."""
    at = int(time.time())
    digest = body_sha256 or (hashlib.sha256(body).hexdigest() if body else EMPTY_DIGEST)
    return f"t={at},d={digest},s={_signature(key, at, method, target, authorization, digest)}"


def _target(scope: Scope) -> str:
    raw = scope.get("raw_path") or scope["path"].encode("latin-1")
    path = bytes(raw).split(b"?", 1)[0].decode("latin-1")
    query = scope.get("query_string", b"")
    return path + ("?" + query.decode("latin-1") if query else "")


def _header(scope: Scope, name: bytes) -> str:
    return next((v.decode("latin-1") for k, v in scope["headers"] if k == name), "")


def verified_digest(key: str, scope: Scope, now: float | None = None) -> str | None:
    """The body digest a valid, fresh proof on this request vouches for; None without one."""
    fields: dict[str, str] = {}
    for part in _header(scope, HEADER.lower().encode()).split(","):
        name, _, value = part.strip().partition("=")
        fields[name] = value
    try:
        at = int(fields["t"])
        digest, given = fields["d"], fields["s"]
    except (KeyError, ValueError):
        return None
    if abs((time.time() if now is None else now) - at) > MAX_AGE_SECONDS:
        return None
    authorization = _header(scope, b"authorization")
    expected = _signature(key, at, scope["method"], _target(scope), authorization, digest)
    return digest if hmac.compare_digest(expected, given) else None


def _bearer(scope: Scope) -> str | None:
    scheme, _, token = _header(scope, b"authorization").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


class BodyMismatch(Exception):
    """The body is not the one the proof was made for."""


class GatewayProofMiddleware:
    def __init__(self, app: ASGIApp, app_state: State, key: str) -> None:
        self.app = app
        self.app_state = app_state
        self.key = key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        digest = verified_digest(self.key, scope)
        if digest is None:
            if await self._from_a_service(scope):
                await self.app(scope, receive, send)
            else:
                await self._refuse(scope, receive, send, ProofRequired())
            return
        await self._with_checked_body(scope, receive, send, digest)

    async def _from_a_service(self, scope: Scope) -> bool:
        token = _bearer(scope)
        if token is None:
            return False
        verifier: TokenVerifier = self.app_state.token_verifier
        try:
            principal = await verifier.verify(token)
        except AppError:
            return False
        return principal.is_service

    async def _with_checked_body(
        self, scope: Scope, receive: Receive, send: Send, digest: str
    ) -> None:
        """Passes the body on as it comes, and stops the request at its last chunk if it is
        not the body the proof vouches for (before the endpoint has run: it needs the body)."""
        hashed = hashlib.sha256()
        mismatch = started = False

        async def checked_receive() -> Message:
            nonlocal mismatch
            message = await receive()
            if message["type"] == "http.request":
                hashed.update(message.get("body", b""))
                if not message.get("more_body", False) and hashed.hexdigest() != digest:
                    mismatch = True
                    raise BodyMismatch()
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if mismatch and not started:
                return  # whatever the app made of the broken body: our refusal goes instead
            started = started or message["type"] == "http.response.start"
            await send(message)

        with contextlib.suppress(BodyMismatch):
            await self.app(scope, checked_receive, guarded_send)
        if mismatch and not started:
            log.warning("a gateway proof came with another body", extra={"path": scope["path"]})
            await self._refuse(scope, receive, send, ProofRequired())

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, error: AppError) -> None:
        response = problem_response(
            Request(scope), status=error.status, code=error.code, title=error.title
        )
        await response(scope, receive, send)
