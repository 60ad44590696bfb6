"""Login throttling that an attacker cannot turn against the account's owner.

Two counts, kept in the request's transaction (the 401 that follows keeps its writes):

- per account and address: after `max_failures` failures that address is locked out of that
  account for `lockout_seconds`, doubling with each further failure up to an hour. Guessing
  from one address stops there, and other addresses (the owner's) are not touched.
- per account, from addresses it never logged in from: after `account_max_failures` such
  failures within a day, every unfamiliar address waits `account_delay_seconds` between tries,
  doubling up to `account_max_delay_seconds`. Guessing from many addresses is slowed to a few
  tries an hour for the whole crowd, while the owner logs in as usual from an address where
  they logged in before (and a device holding a refresh token never needs the password).

An IPv6 client counts by its /64, which one machine usually owns whole.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.auth.exceptions import LoginThrottled
from services.gateway.auth.repository import ThrottleRepository
from shared.clock import utcnow
from shared.errors import Text

MAX_LOCKOUT_SECONDS = 3600
# Failures older than this are forgotten when the next one comes.
FAILURE_MEMORY = timedelta(days=1)
# An address where the owner logged in within this long is "known".
KNOWN_FOR = timedelta(days=180)

ADDRESS_LOCKED = Text(
    "从该地址登录此账户失败次数过多，请稍后再试",
    "Too many failed logins to this account from this address; try again later",
)
ACCOUNT_SLOWED = Text(
    "此账户近来从陌生地址登录失败过多，请稍后再试；从常用地址登录不受影响",
    "Too many failed logins to this account from unfamiliar addresses; try again later "
    "(addresses where you logged in before are not affected)",
)


def address_key(address: str) -> str:
    """The address as counted: an IPv4 address, or the /64 of an IPv6 one."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


@dataclass(frozen=True)
class Attempt:
    username: str
    address: str
    known: bool


def _wait(until: datetime | None) -> int | None:
    if until is None:
        return None
    seconds = math.ceil((until - utcnow()).total_seconds())
    return seconds if seconds > 0 else None


class LoginThrottle:
    def __init__(
        self,
        *,
        max_failures: int,
        lockout_seconds: int,
        account_max_failures: int,
        account_delay_seconds: int,
        account_max_delay_seconds: int,
    ) -> None:
        self._max = max_failures
        self._lockout = lockout_seconds
        self._account_max = account_max_failures
        self._account_delay = account_delay_seconds
        self._account_max_delay = account_max_delay_seconds

    async def check(self, session: AsyncSession, username: str, address: str) -> Attempt:
        """Refuses (429 with Retry-After) an attempt that must wait; else what it is."""
        key = address_key(address)
        repository = ThrottleRepository(session)
        locked = await repository.address_locked_until(username, key)
        if (wait := _wait(locked)) is not None:
            raise LoginThrottled(ADDRESS_LOCKED, headers={"Retry-After": str(wait)})
        known = await repository.is_known_address(username, key, utcnow() - KNOWN_FOR)
        if not known:
            slowed = await repository.account_locked_until(username)
            if (wait := _wait(slowed)) is not None:
                raise LoginThrottled(ACCOUNT_SLOWED, headers={"Retry-After": str(wait)})
        return Attempt(username=username, address=key, known=known)

    async def failed(self, session: AsyncSession, attempt: Attempt) -> None:
        repository = ThrottleRepository(session)
        failures = await repository.count_address_failure(
            attempt.username, attempt.address, FAILURE_MEMORY
        )
        if failures >= self._max:
            seconds = min(self._lockout * 2 ** (failures - self._max), MAX_LOCKOUT_SECONDS)
            await repository.lock_address(
                attempt.username, attempt.address, utcnow() + timedelta(seconds=seconds)
            )
        if attempt.known:
            return  # the owner's own address: its lock above is the only consequence
        failures = await repository.count_account_failure(attempt.username, FAILURE_MEMORY)
        if failures >= self._account_max:
            delay = self._account_delay * 2 ** (failures - self._account_max)
            seconds = min(delay, self._account_max_delay)
            await repository.lock_account(attempt.username, utcnow() + timedelta(seconds=seconds))

    async def succeeded(self, session: AsyncSession, attempt: Attempt) -> None:
        repository = ThrottleRepository(session)
        await repository.forget_address_failures(attempt.username, attempt.address)
        # The account-wide count stays: the owner logging in must not hand a crowd of
        # guessers a fresh allowance. It fades a day after the last failure.
        await repository.remember_address(attempt.username, attempt.address, utcnow())


async def forget_failures(session: AsyncSession, username: str) -> None:
    """Clears every failure count and lock of an account (an operator reset its password)."""
    await ThrottleRepository(session).forget_failures(username)
