"""Paths between the client's view (`/api/<service>/...`) and the service's (`/...`).

The path goes upstream exactly as the client encoded it: decoded, `%3F` would become a query
and `%2F` a new segment, and the service would answer for another resource than the one asked
for. Redirects and `Location` headers come back in the gateway's terms: a service's own address
(internal host and port) never reaches a client.
"""

from __future__ import annotations

from urllib.parse import quote, quote_from_bytes, unquote, urlsplit

from starlette.types import Scope

# RFC 3986 pchar and "/" (a path) and also "?" (a query), plus "%" so that escapes stay as sent.
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"
_QUERY_SAFE = _PATH_SAFE + "?"


def _raw_path(scope: Scope) -> str | None:
    raw = scope.get("raw_path")
    if not raw:
        return None
    # Some servers (and httpx's ASGI transport) include the query: the path ends at "?".
    return quote_from_bytes(bytes(raw).split(b"?", 1)[0], safe=_PATH_SAFE)


def public_path(scope: Scope) -> str:
    """The path the client asked for, percent-encoded as it sent it."""
    return _raw_path(scope) or quote(scope["path"], safe=_PATH_SAFE)


def upstream_target(scope: Scope, service: str) -> str:
    """Path and query to ask the service for: what follows `/api/<service>`, still encoded."""
    path = None
    raw = _raw_path(scope)
    if raw is not None:
        _, api, segment, *rest = raw.split("/", 3) + [""] * 3
        if api == "api" and unquote(segment) == service:
            path = "/" + (rest[0] if rest else "")
    if path is None:
        path = "/" + quote(scope["path_params"]["path"], safe=_PATH_SAFE.replace("%", ""))
    query = scope.get("query_string", b"")
    return path + ("?" + quote_from_bytes(query, safe=_QUERY_SAFE) if query else "")


def portal_target(scope: Scope) -> str:
    """Path and query to ask the portal for: the whole of what the client asked, still encoded."""
    query = scope.get("query_string", b"")
    return public_path(scope) + ("?" + quote_from_bytes(query, safe=_QUERY_SAFE) if query else "")


def public_location(location: str, upstream: str, service: str | None) -> str | None:
    """A `Location` from the service, as the client must see it; None if it leads elsewhere.

    An absolute or path-absolute reference to the service becomes `/api/<service>/...` (a
    reference relative to the request is right as it is); one to any other host is not the
    service's to give, and may well be another internal address.
    """
    target = urlsplit(location)
    origin = urlsplit(upstream)
    if target.scheme or target.netloc:
        same = (target.scheme or origin.scheme, target.netloc) == (origin.scheme, origin.netloc)
        if not same:
            return None
    elif not target.path.startswith("/") or service is None:
        return location
    path = target.path
    prefix = origin.path.rstrip("/")
    if prefix:
        if not (path == prefix or path.startswith(prefix + "/")):
            return None
        path = path[len(prefix) :] or "/"
    # The portal is served at the root: its paths are the gateway's as they are.
    rewritten = f"/api/{service}{path}" if service is not None else path
    if target.query:
        rewritten += "?" + target.query
    if target.fragment:
        rewritten += "#" + target.fragment
    return rewritten
