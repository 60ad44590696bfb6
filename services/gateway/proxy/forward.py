"""Forwarding `/api/<service>/...` to the service, with the gateway's guarantees.

Bodies over the limit get 413 before anything is sent upstream; hop-by-hop headers are
stripped both ways; the request id and the client's address travel on, and the trace context
is the gateway's own (`shared/tracing.py`), never the client's; an upstream that
does not answer in time is a 504, one that cannot be reached a 502, both problem+json. The
path goes up as the client encoded it, and what comes back speaks of the gateway's paths only
(`paths.py`): a redirect to the service is rewritten, one to anywhere else refused (502).

Large bodies never sit in memory: a request body over `IN_MEMORY_BYTES` (a file upload) waits
in a temporary file while its SHA-256 is computed for the gateway's proof, which goes in a
header before the body, then streams up from there; a response over that size streams
through as it comes. The timeout is per read, as a proxy's is: a service that goes quiet for
`proxy_timeout_seconds` is a 504, one that takes long to send a large file is not. The
exchange itself is `upstream.py`'s, a client made for this one job.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import tempfile
from collections.abc import AsyncGenerator, Awaitable
from typing import IO

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from services.gateway.config import GatewaySettings
from services.gateway.proxy.paths import (
    portal_target,
    public_location,
    public_path,
    upstream_target,
)
from services.gateway.proxy.upstream import Answer, StreamedBody, UpstreamClient, UpstreamError
from services.gateway.replicas import Replicas
from shared.auth.gateway_proof import HEADER as PROOF_HEADER
from shared.auth.gateway_proof import SAFE_METHODS, sign
from shared.errors import PROBLEM_JSON, Text, problem_response
from shared.logging import REQUEST_ID_HEADER
from shared.tracing import TRACE_HEADERS

log = logging.getLogger(__name__)

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
# A client's own proof header is dropped: only the one the gateway makes goes on. So is its
# trace context: the gateway's client span sends its own when the gateway traces.
NOT_FORWARDED = (
    HOP_BY_HOP
    | TRACE_HEADERS
    | {
        "host",
        "content-length",
        "x-forwarded-for",
        "x-request-id",
        PROOF_HEADER.lower(),
    }
)
NOT_RETURNED = HOP_BY_HOP | {"content-length", "date", "server"}
LOCATION_HEADERS = frozenset({"location", "content-location"})

TOO_LARGE = Text("请求体超过大小限制", "Request body exceeds the size limit")
NO_SERVICE = Text("没有这个服务", "No such service")
NO_PAGE = Text("没有这个页面", "No such page")
TIMEOUT = Text("上游服务响应超时", "The service did not answer in time")
UNREACHABLE = Text("上游服务不可达", "The service could not be reached")
BAD_REDIRECT = Text(
    "上游服务返回了指向其他地址的重定向", "The service redirected to another address"
)


def _dropped_by_connection_header(headers: list[tuple[str, str]]) -> set[str]:
    named: set[str] = set()
    for name, value in headers:
        if name == "connection":
            named.update(v.strip().lower() for v in value.split(","))
    return named


class BodyTooLarge(Exception):
    pass


# Bodies up to this size are held and sent in one piece; larger ones go through a file
# (requests) or stream through (responses).
IN_MEMORY_BYTES = 256 * 1024
# A spooled body is written and read, and a large response relayed, this much at a time: each
# of fifty uploads at once holds a few of these, not megabytes.
FILE_CHUNK_BYTES = 64 * 1024


class SpooledBody:
    """A request body too large to hold: in a temporary file, with its size and SHA-256."""

    def __init__(self) -> None:
        # Closed by close(), once the request has been forwarded (or failed).
        self.file: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        self.size = 0
        self.sha256 = ""

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        await asyncio.to_thread(self.file.seek, 0)
        while chunk := await asyncio.to_thread(self.file.read, FILE_CHUNK_BYTES):
            yield chunk

    def close(self) -> None:
        self.file.close()


async def _read_body(request: Request, limit: int) -> bytes | SpooledBody:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge()
    chunks: list[bytes] = []
    size, held = 0, 0
    digest = hashlib.sha256()
    spooled: SpooledBody | None = None
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge()
            chunks.append(chunk)
            held += len(chunk)
            if held > (IN_MEMORY_BYTES if spooled is None else FILE_CHUNK_BYTES):
                if spooled is None:
                    spooled = await asyncio.to_thread(SpooledBody)
                pending = b"".join(chunks)
                digest.update(pending)
                await asyncio.to_thread(spooled.file.write, pending)
                chunks, held = [], 0
        if spooled is None:
            return b"".join(chunks)
        pending = b"".join(chunks)
        digest.update(pending)
        await asyncio.to_thread(spooled.file.write, pending)
    except BaseException:
        if spooled is not None:
            spooled.close()
        raise
    spooled.size, spooled.sha256 = size, digest.hexdigest()
    return spooled


class _RelayedResponse(StreamingResponse):
    """The upstream's body as it comes; the upstream connection is released however the
    response ends (a client that goes away midway included)."""

    def __init__(self, upstream: Answer, status_code: int) -> None:
        super().__init__(upstream.chunks(), status_code=status_code)
        self.upstream = upstream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.upstream.release()


class Forwarder:
    def __init__(self, settings: GatewaySettings, client: UpstreamClient) -> None:
        self.settings = settings
        self.client = client
        self.proof_key = settings.gateway_proof_key.get_secret_value()
        self.replicas = {name: Replicas(urls) for name, urls in settings.upstreams.items()}
        portal = settings.portal_urls
        self.portal_replicas = Replicas(portal) if portal else None

    async def __call__(self, request: Request) -> Response:
        """`/api/<service>/...` to the service, signed with the gateway's proof."""
        service = request.path_params["service"]
        replicas = self.replicas.get(service)
        if replicas is None:
            return problem_response(
                request, status=404, code="gateway.unknown_service", title=NO_SERVICE
            )
        return await self._forward(
            request, replicas, upstream_target(request.scope, service), service
        )

    async def portal(self, request: Request) -> Response:
        """Any other path to the web portal, which keeps its own sessions (cookies)."""
        if self.portal_replicas is None:
            return problem_response(request, status=404, code="not_found", title=NO_PAGE)
        target = portal_target(request.scope)
        return await self._forward(request, self.portal_replicas, target, None)

    async def _forward(
        self, request: Request, replicas: Replicas, target: str, service: str | None
    ) -> Response:
        """Sends the request to a replica's `base + target` (`service` None: the portal) and
        its answer back."""
        limit = self.settings.max_body_bytes
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            limit = max(limit, self.settings.max_upload_bytes)
        try:
            body = await _read_body(request, limit)
        except BodyTooLarge:
            return problem_response(
                request,
                status=413,
                code="request.too_large",
                title=TOO_LARGE,
                detail=Text(
                    f"请求体不得超过 {limit} 字节", f"The request body may be at most {limit} bytes"
                ),
                headers={"Connection": "close"},
                extra={"max_bytes": limit},
            )
        except ClientDisconnect:
            return Response(status_code=499)
        try:
            return await self._send(request, replicas, target, service, body)
        finally:
            if isinstance(body, SpooledBody):
                body.close()

    async def _send(
        self,
        request: Request,
        replicas: Replicas,
        target: str,
        service: str | None,
        body: bytes | SpooledBody,
    ) -> Response:
        spooled = body if isinstance(body, SpooledBody) else None
        held = body if isinstance(body, bytes) else b""
        raw = [
            (k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in request.scope["headers"]
        ]
        dropped = NOT_FORWARDED | _dropped_by_connection_header(raw)
        headers = [(k, v) for k, v in raw if k not in dropped]
        state = request.scope.get("state", {})
        headers.append((REQUEST_ID_HEADER, str(state.get("request_id", ""))))
        headers.append(("X-Forwarded-For", str(state.get("client_address", ""))))
        if service is not None:
            headers.append(("X-Forwarded-Prefix", f"/api/{service}"))
        # A spooled body is read from its start again for each replica tried.
        data = StreamedBody(spooled.chunks, spooled.size) if spooled else held

        def send(base: str) -> Awaitable[Answer]:
            signed = headers
            # Services ask for the proof on writes only (GatewayProofMiddleware), so a read
            # goes unsigned: two hashes and an HMAC less on the gateway's busiest path.
            if service is not None and request.method not in SAFE_METHODS:
                proof = sign(
                    self.proof_key,
                    method=request.method,
                    target=self.client.origin(base).prefix + target,  # the path the service sees
                    authorization=request.headers.get("authorization", ""),
                    body=held,
                    body_sha256=spooled.sha256 if spooled else None,
                )
                signed = [*headers, (PROOF_HEADER, proof)]
            return self.client.request(
                request.method, base, target, signed, data, peer=service or "portal"
            )

        try:
            base, upstream = await replicas.ask(request.method, send)
            relayed = False
            try:
                out = [(k, v) for k, v in upstream.headers if k.lower() not in NOT_RETURNED]
                out = _public_locations(out, base, service)
                relayed = _relayed(upstream, service)
                content = b"" if relayed else await upstream.read()
            finally:
                if not relayed:
                    upstream.release()
        except TimeoutError:
            log.warning("upstream timeout", extra={"service": service or "portal"})
            return problem_response(request, status=504, code="gateway.timeout", title=TIMEOUT)
        except (UpstreamError, OSError) as exc:
            log.warning("upstream unreachable: %r", exc, extra={"service": service or "portal"})
            return problem_response(
                request, status=502, code="gateway.bad_gateway", title=UNREACHABLE
            )
        except ForeignRedirect as exc:
            log.warning("refused a redirect to %s", exc, extra={"service": service or "portal"})
            return problem_response(
                request, status=502, code="gateway.bad_redirect", title=BAD_REDIRECT
            )
        status = upstream.status
        if relayed:
            response: Response = _RelayedResponse(upstream, status)
            if upstream.content_length is not None:
                response.headers["content-length"] = str(upstream.content_length)
        else:
            if service is not None and _is_problem(out):
                content = _with_instance(content, public_path(request.scope))
            response = Response(content=content, status_code=status)
        for key, value in out:
            response.headers.append(key, value)
        return response


class ForeignRedirect(Exception):
    pass


def _relayed(upstream: Answer, service: str | None) -> bool:
    """Whether the answer streams through: a large one (or one of unknown length) that the
    gateway does not rewrite (a service's problem gets the client's path) or refuse (a
    redirect elsewhere)."""
    if service is not None and upstream.content_type == PROBLEM_JSON:
        return False
    if 300 <= upstream.status < 400:
        return False
    length = upstream.content_length
    return length is None or length > IN_MEMORY_BYTES


def _public_locations(
    headers: list[tuple[str, str]], base: str, service: str | None
) -> list[tuple[str, str]]:
    """Headers with `Location` and `Content-Location` in the gateway's terms.

    Raises ForeignRedirect for a reference to any other host: the gateway does not send a
    client to an address it cannot vouch for.
    """
    out = []
    for key, value in headers:
        if key.lower() in LOCATION_HEADERS:
            public = public_location(value, base, service)
            if public is None:
                raise ForeignRedirect(value)
            value = public
        out.append((key, value))
    return out


def _is_problem(headers: list[tuple[str, str]]) -> bool:
    return any(
        key.lower() == "content-type" and value.startswith(PROBLEM_JSON) for key, value in headers
    )


def _with_instance(content: bytes, instance: str) -> bytes:
    """The service's problem, naming the path the client asked for (not the service's)."""
    try:
        problem = json.loads(content)
    except ValueError:
        return content
    if not isinstance(problem, dict):
        return content
    problem["instance"] = instance
    return json.dumps(problem, ensure_ascii=False, separators=(",", ":")).encode()
