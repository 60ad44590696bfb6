"""The people and steps of the end-to-end story (tests/e2e/test_story_e2e.py), as clients of the
gateway: each step is done by the role that does it in real life."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from shared.credit_code import check_character
from tests.conftest import RunningStack, bearer, wait_until
from tests.e2e.helpers import admin_token

PASSWORD = "e2e-user-password"
PDF = b"%PDF-1.7\n" + b"1" * 2_000


def credit_code(n: int) -> str:
    body = f"91620100MA7P{n:05d}"
    return body + check_character(body)


@dataclass
class Story:
    """The running product, its clock, and everyone's tokens by username."""

    client: httpx.AsyncClient
    running: RunningStack
    clock_file: Path
    offset: timedelta = timedelta()
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)  # username -> gateway user id
    orgs: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: int = 0

    @property
    def url(self) -> str:
        """A gateway's address; with several, each request goes to the next in turn."""
        gateways = self.running.gateway_urls
        self.requests += 1
        return gateways[self.requests % len(gateways)]

    def api(self, service: str) -> str:
        return f"{self.url}/api/{service}/v1"

    def now(self) -> datetime:
        """The services' time (the real time plus how far the story moved the clock)."""
        return datetime.now(UTC) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)
        self.clock_file.write_text(str(self.offset.total_seconds()))

    def move_to(self, moment: datetime) -> None:
        """Moves the clock forward to `moment` (the services' clock never goes back)."""
        assert moment > self.now(), (moment, self.now())
        self.advance(seconds=(moment - self.now()).total_seconds())

    async def call(
        self, method: str, service: str, path: str, who: str | None, **kwargs: Any
    ) -> httpx.Response:
        headers = {**(self.tokens[who] if who else {}), **kwargs.pop("headers", {})}
        return await self.client.request(
            method, f"{self.api(service)}{path}", headers=headers, **kwargs
        )

    async def ok(self, method: str, service: str, path: str, who: str | None, **kwargs: Any) -> Any:
        """The JSON body of a request that must succeed (2xx)."""
        reply = await self.call(method, service, path, who, **kwargs)
        assert reply.is_success, f"{method} {service}{path} as {who}: {reply.text}"
        return reply.json() if reply.content else None

    async def admin(self) -> None:
        self.tokens["admin"] = bearer(await admin_token(self.client, self.running))

    async def organization(self, key: str, name: str, kind: str, n: int) -> dict[str, Any]:
        reply = await self.client.post(
            f"{self.url}/admin/v1/organizations",
            json={"name": name, "credit_code": credit_code(n), "kind": kind},
            headers=self.tokens["admin"],
        )
        assert reply.status_code == 201, reply.text
        self.orgs[key] = reply.json()
        return self.orgs[key]

    async def person(
        self,
        username: str,
        display_name: str,
        roles: list[str],
        org: str | None = None,
        email: str | None = None,
    ) -> str:
        created = await self.client.post(
            f"{self.url}/admin/v1/users",
            json={
                "username": username,
                "password": PASSWORD,
                "display_name": display_name,
                "org_id": self.orgs[org]["id"] if org else None,
                "roles": roles,
                "email": email,
            },
            headers=self.tokens["admin"],
        )
        assert created.status_code == 201, created.text
        self.ids[username] = str(created.json()["id"])
        await self.login(username)
        return self.ids[username]

    async def login(self, username: str) -> None:
        reply = await self.client.post(
            f"{self.url}/auth/token", data={"username": username, "password": PASSWORD}
        )
        assert reply.status_code == 200, reply.text
        self.tokens[username] = bearer(reply.json()["access_token"])

    async def known_everywhere(self, username: str) -> None:
        """Waits until every service has the person in its directory (the gateway's events)."""
        for service in ("projects", "credit", "funds"):

            async def known(service: str = service) -> bool:
                me = await self.call("GET", service, "/me", username)
                return bool(me.status_code == 200 and me.json()["in_directory"])

            await wait_until(known, seconds=30)


def new_id() -> str:
    return str(uuid.uuid4())
