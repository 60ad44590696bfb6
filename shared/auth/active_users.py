"""A deactivated person's tokens are refused before they expire.

An access token stays valid for its 15 minutes whatever happens to its holder, so every
process that verifies tokens also asks whether the person is still active: the gateway its
users table, a service its directory (which learns deactivation from `user.updated`). One
indexed lookup, remembered for `cache_seconds` per person and process, keeps that cheap; the
process that deactivates someone marks them at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from uuid import UUID

from shared.auth.tokens import Principal
from shared.errors import Text, Unauthorized

# The person's `is_active`, or None if this table does not know them (yet).
Lookup = Callable[[UUID], Awaitable[bool | None]]


class AccountInactive(Unauthorized):
    code = "auth.account_inactive"
    title = Text("账户已停用", "This account is deactivated")


class ActiveUsers:
    def __init__(
        self,
        lookup: Lookup,
        *,
        cache_seconds: float,
        unknown_is_active: bool,
        cache_size: int = 10_000,
    ) -> None:
        self._lookup = lookup
        self._cache_seconds = cache_seconds
        # A service's directory may not have heard of a new person yet: not known as
        # deactivated, so let in. The gateway's own table knows everyone its tokens name.
        self._unknown_is_active = unknown_is_active
        self._cache_size = cache_size
        self._known: dict[UUID, tuple[bool, float]] = {}
        # Lookups under way: the requests that find the entry expired together share one.
        self._asking: dict[UUID, asyncio.Future[bool | None]] = {}

    async def ensure_active(self, principal: Principal) -> None:
        """Raises AccountInactive (401) for a deactivated person; service accounts pass."""
        user_id = principal.user_id
        if user_id is None:
            return
        if not await self.is_active(user_id):
            raise AccountInactive()

    async def is_active(self, user_id: UUID) -> bool:
        now = time.monotonic()
        hit = self._known.get(user_id)
        if hit is not None and hit[1] > now:
            return hit[0]
        asking = self._asking.get(user_id)
        if asking is None:
            asking = self._asking[user_id] = asyncio.ensure_future(self._lookup(user_id))
            asking.add_done_callback(lambda _: self._asking.pop(user_id, None))
        # Shielded: one caller giving up (a client gone) does not fail the others' lookup.
        found = await asyncio.shield(asking)
        active = self._unknown_is_active if found is None else found
        if self._cache_seconds > 0:
            if len(self._known) >= self._cache_size:
                self._known.pop(next(iter(self._known)))
            self._known[user_id] = (active, now + self._cache_seconds)
        return active

    def deactivated(self, user_id: UUID) -> None:
        """This process just deactivated them: refuse at once, not after the cache expires."""
        self._known[user_id] = (False, time.monotonic() + self._cache_seconds)

    def forget(self, user_id: UUID) -> None:
        self._known.pop(user_id, None)
