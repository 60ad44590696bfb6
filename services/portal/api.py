"""The gateway's public API, called as the person using the page (or as nobody, for the public).

Every authorization decision stays in the services: the portal forwards the person's token and
shows what comes back. A problem+json answer becomes `ApiProblem`, which pages show next to the
fields it names.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from services.portal.sessions.store import Tokens
from shared.tracing import inject_trace_context


@dataclass
class ApiProblem(Exception):
    status: int
    problem: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return str(self.problem.get("title") or f"HTTP {self.status}")

    @property
    def detail(self) -> str:
        return str(self.problem.get("detail") or "")

    @property
    def code(self) -> str:
        return str(self.problem.get("code") or "")

    def field_errors(self) -> dict[str, str]:
        """Message per field: the last name in each error's `loc` (`body.title` -> `title`)."""
        found: dict[str, str] = {}
        for error in self.problem.get("errors") or []:
            loc = [str(part) for part in error.get("loc") or [] if not isinstance(part, int)]
            name = loc[-1] if loc else ""
            if name and name not in ("body", "query") and name not in found:
                found[name] = str(error.get("msg") or "")
        if not found and isinstance(self.problem.get("field"), str):
            found[self.problem["field"]] = self.detail or self.title
        return found

    def __str__(self) -> str:
        return f"{self.status} {self.title}: {self.detail}"


class SessionExpired(Exception):
    """The gateway no longer accepts the person's tokens: log in again."""


def _problem(response: httpx.Response) -> ApiProblem:
    try:
        body = response.json()
    except ValueError:
        body = {}
    return ApiProblem(response.status_code, body if isinstance(body, dict) else {})


async def _pass_trace_on(request: httpx.Request) -> None:
    inject_trace_context(request.headers)


class Gateway:
    """The portal's one HTTP client to the gateway (a pool of keep-alive connections)."""

    def __init__(self, base_url: str, timeout: float, *, traced: bool = False) -> None:
        """`traced`: the page's trace goes on to the gateway (`traceparent`)."""
        self.http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=timeout,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            event_hooks={"request": [_pass_trace_on]} if traced else None,
        )

    async def close(self) -> None:
        await self.http.aclose()

    async def _tokens(self, path: str, form: dict[str, str], address: str) -> Tokens:
        response = await self.http.post(path, data=form, headers={"X-Forwarded-For": address})
        if response.status_code != 200:
            raise _problem(response)
        return await self.from_token_response(response.json())

    async def from_token_response(self, body: dict[str, Any]) -> Tokens:
        """The tokens of a login, with who they belong to (the gateway's `/v1/me/profile`)."""
        now = datetime.now(UTC)
        access = body["access_token"]
        me = await self.http.get("/v1/me/profile", headers={"Authorization": f"Bearer {access}"})
        if me.status_code != 200:
            raise _problem(me)
        return Tokens(
            access=access,
            refresh=body["refresh_token"],
            expires_at=now + timedelta(seconds=int(body["expires_in"])),
            me=me.json(),
        )

    async def login(self, username: str, password: str, address: str) -> Tokens:
        form = {"grant_type": "password", "username": username, "password": password}
        return await self._tokens("/auth/token", form, address)

    async def refresh(self, refresh_token: str, address: str) -> Tokens:
        try:
            return await self._tokens("/auth/refresh", {"refresh_token": refresh_token}, address)
        except ApiProblem as problem:
            if problem.status in (400, 401, 403):
                raise SessionExpired() from problem
            raise

    async def logout_everywhere(self, refresh_token: str) -> None:
        await self.http.post(
            "/auth/logout", data={"refresh_token": refresh_token, "everywhere": "true"}
        )

    def as_person(self, token: str | None, lang: str, address: str) -> Api:
        return Api(self.http, token, lang, address)


class Api:
    """Calls on behalf of one person (or the public, without a token), in their language."""

    def __init__(self, http: httpx.AsyncClient, token: str | None, lang: str, address: str) -> None:
        self.http = http
        self.headers = {"Accept-Language": lang, "X-Forwarded-For": address}
        if token is not None:
            self.headers["Authorization"] = f"Bearer {token}"
        self.calls = 0  # how many requests this page made (tests watch for N+1)

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        self.calls += 1
        headers = {**self.headers, **kwargs.pop("headers", {})}
        response = await self.http.request(method, path, headers=headers, **kwargs)
        if response.status_code == 401 and "Authorization" in self.headers:
            raise SessionExpired()
        if response.status_code >= 400:
            raise _problem(response)
        return response

    async def get(self, path: str, **params: Any) -> Any:
        query = {k: v for k, v in params.items() if v is not None and v != ""}
        return (await self.request("GET", path, params=query)).json()

    async def send(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.request(method, path, **kwargs)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    async def post(self, path: str, body: Any = None) -> Any:
        return await self.send("POST", path, json=body)

    async def all_pages(self, path: str, most: int = 1000, **params: Any) -> list[Any]:
        """Every item of a paged list (following `next_cursor`), up to `most`."""
        items: list[Any] = []
        cursor = None
        while len(items) < most:
            page = await self.get(path, limit=200, cursor=cursor, **params)
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                break
        return items[:most]

    async def stream(self, path: str) -> tuple[httpx.Response, AsyncIterator[bytes]]:
        """A download passed on to the browser chunk by chunk."""
        self.calls += 1
        request = self.http.build_request("GET", path, headers=self.headers)
        response = await self.http.send(request, stream=True)
        if response.status_code == 401 and "Authorization" in self.headers:
            await response.aclose()
            raise SessionExpired()
        if response.status_code >= 400:
            await response.aread()
            await response.aclose()
            raise _problem(response)
        return response, response.aiter_bytes()
