"""What people do with their own accounts: change the password, reset a forgotten one by mail,
update their profile and prove a new e-mail address.

One-time tokens are `secrets.token_urlsafe(32)`, kept only as SHA-256, short-lived, used once.
A new address to verify voids the earlier one; up to three reset links live at once (a new
request must not void the link the owner is about to use). Setting the password, confirming an
address and deactivating the account void every unspent token of it. The mail carrying a
token is not sent here: each method returns the message, which the endpoint hands to notify
after the transaction has committed (never a network call inside it).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.accounts.exceptions import (
    AccountRequestsThrottled,
    InvalidAccountToken,
    WrongPassword,
)
from services.gateway.accounts.repository import AccountRepository, TokenPurpose
from services.gateway.accounts.schemas import Profile, ProfileUpdate
from services.gateway.auth.gate import LoginGate
from services.gateway.auth.passwords import hash_secret, verify_secret
from services.gateway.auth.schemas import TokenResponse
from services.gateway.auth.service import AuthService
from services.gateway.auth.throttle import LoginThrottle, address_key, forget_failures
from services.gateway.config import GatewaySettings, RateLimit
from services.gateway.identity.exceptions import EmailTaken, UserNotFound
from services.gateway.identity.repository import IdentityRepository
from services.gateway.identity.service import contact_changed, user_saved
from services.gateway.models import AccountToken, User, events
from services.gateway.ratelimit import RateLimiter
from shared.clock import utcnow
from shared.contracts.accounts import (
    AccountEmailChangedV1,
    AccountPasswordChangedV1,
    PasswordChangedBy,
)
from shared.contracts.directory import UserUpdatedV1
from shared.contracts.notices import DirectMessageV1
from shared.events.outbox import publish
from shared.ids import uuid7

log = logging.getLogger(__name__)
Locale = Literal["zh", "en"]  # of the mail: the language the person asked in


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class AccountLimits:
    """Buckets of the requests that send mail or try a token (see the gateway's settings)."""

    limiter: RateLimiter
    reset_per_account: RateLimit
    reset_per_account_hour: RateLimit
    reset_per_address: RateLimit
    confirm_per_address: RateLimit

    @classmethod
    def of(cls, limiter: RateLimiter, settings: GatewaySettings) -> AccountLimits:
        return cls(
            limiter,
            settings.password_reset_per_account,
            settings.password_reset_per_account_hour,
            settings.password_reset_per_address,
            settings.token_confirm_per_address,
        )

    async def take(self, key: str, limit: RateLimit) -> int:
        """0 if allowed, else the seconds to wait."""
        return await self.take_all(key, limit)

    async def take_all(self, key: str, *limits: RateLimit) -> int:
        """One token of each of `key`'s buckets (one per limit): 0 if all allowed, else the
        seconds to wait."""
        decision = await self.limiter.take(
            [(f"{key}:{i}", limit) for i, limit in enumerate(limits)]
        )
        return 0 if decision.allowed else decision.retry_after

    async def refuse_address(self, kind: str, address: str, limit: RateLimit) -> None:
        wait = await self.take(f"{kind}:addr:{address_key(address)}", limit)
        if wait:
            raise AccountRequestsThrottled(headers={"Retry-After": str(wait)})


async def set_password(
    session: AsyncSession, user: User, password: str, *, changed_by: PasswordChangedBy
) -> None:
    """The new password; every session of the account ends and every one-time link of it is
    void; notify hears of it (the event)."""
    user.password_hash = await hash_secret(password)
    identity = IdentityRepository(session)
    await identity.revoke_sessions(user.id)
    await identity.void_account_tokens(user.id)
    await session.flush()
    await publish(
        session,
        events,
        AccountPasswordChangedV1(user_id=user.id, changed_by=changed_by, changed_at=utcnow()),
    )


async def set_password_by_operator(session: AsyncSession, username: str, password: str) -> User:
    """`sciplan set-password`: no old password asked; sessions end, login locks are lifted."""
    user = await IdentityRepository(session).user_by_username(username.strip().lower())
    if user is None:
        raise UserNotFound()
    await set_password(session, user, password, changed_by="operator")
    await forget_failures(session, user.username)
    return user


class AccountService:
    def __init__(
        self,
        session: AsyncSession,
        settings: GatewaySettings,
        auth: AuthService,
        limits: AccountLimits,
    ) -> None:
        self.session = session
        self.settings = settings
        self.repo = AccountRepository(session)
        self.identity = IdentityRepository(session)
        self.auth = auth
        self.limits = limits

    @property
    def throttle(self) -> LoginThrottle:
        return self.auth.throttle

    @property
    def gate(self) -> LoginGate:
        return self.auth.gate

    # --- the password ---------------------------------------------------------------------

    async def change_password(
        self, user_id: UUID, current: str, new: str, address: str
    ) -> TokenResponse:
        """With the current password (a wrong one counts as a failed login from `address`).
        Every session of the account ends, this one included: the answer is a fresh login."""
        # The turn first (as a login takes it): a waiting request holds no row or connection.
        async with self.gate.turn():
            user = await self._proven(user_id, current, address)
            await self._set_password(user, new, changed_by="self")
        return await self.auth.tokens_for(user, family_id=uuid7())

    async def _proven(self, user_id: UUID, current: str, address: str) -> User:
        """The account, locked, once `current` is its password (taken in the gate's turn). A
        wrong one is a failed login from `address`: a stolen session cannot guess it freely."""
        user = await self.identity.user(user_id, lock=True)
        if user is None or not user.is_active:
            raise UserNotFound()
        attempt = await self.throttle.check(self.session, user.username, address)
        if not await verify_secret(user.password_hash, current):
            await self.throttle.failed(self.session, attempt)
            raise WrongPassword(keep_writes=True)
        await self.throttle.succeeded(self.session, attempt)
        return user

    async def request_reset(
        self, login: str, address: str, locale: Locale = "zh"
    ) -> DirectMessageV1 | None:
        """The message to send, if any. The caller answers alike whatever this returns."""
        await self.limits.refuse_address("reset", address, self.limits.reset_per_address)
        login = login.strip().lower()
        user = await self.repo.user_by_login(login)
        # Per account, whichever of its names was asked for (the username and the address
        # share one allowance); an unknown name takes a bucket of its own all the same, so
        # known and unknown ones cost alike.
        key = f"reset:user:{user.id}" if user else "reset:acct:" + token_digest(login)
        if await self.limits.take_all(
            key, self.limits.reset_per_account, self.limits.reset_per_account_hour
        ):
            log.info("password reset not sent: too many for this account lately")
            return None
        if user is None or not user.is_active or user.email is None:
            return None
        token, row = await self._issue(user, TokenPurpose.password_reset, None)
        minutes = self.settings.password_reset_minutes
        return DirectMessageV1(
            idempotency_key=f"password-reset:{row.id}",
            user_id=user.id,
            template="password_reset",
            to_address=user.email,
            params=self._link_params(user, token, "password-reset", minutes),
            locale=locale,
        )

    async def confirm_reset(self, token: str, new_password: str, address: str) -> None:
        """Sets the password, spends the token and ends every session of the account."""
        await self.limits.refuse_address("token", address, self.limits.confirm_per_address)
        row = await self.repo.usable(token_digest(token), TokenPurpose.password_reset, utcnow())
        user = await self.identity.user(row.user_id, lock=True) if row is not None else None
        if row is None or user is None or not user.is_active:
            raise InvalidAccountToken()
        row.spent_at = utcnow()
        await self._set_password(user, new_password, changed_by="reset")
        # They proved to read the account's mail: the guessers' locks on it are theirs no more.
        await forget_failures(self.session, user.username)

    async def _set_password(
        self, user: User, password: str, *, changed_by: PasswordChangedBy
    ) -> None:
        await set_password(self.session, user, password, changed_by=changed_by)

    # --- the profile ----------------------------------------------------------------------

    async def profile(self, user_id: UUID) -> Profile:
        user = await self.identity.user(user_id)
        if user is None:
            raise UserNotFound()
        return await self._profile(user)

    async def update_profile(
        self, user_id: UUID, data: ProfileUpdate, address: str, locale: Locale = "zh"
    ) -> tuple[Profile, DirectMessageV1 | None]:
        """The profile, and the verification message to send when a new address was given.

        A new address needs the current password (the schema asks for it): the address is
        where reset links go, so a stolen session must not be able to point it elsewhere."""
        if data.email is not None:
            assert data.current_password is not None
            async with self.gate.turn():
                user = await self._proven(user_id, data.current_password, address)
        else:
            found = await self.identity.user(user_id, lock=True)
            if found is None:
                raise UserNotFound()
            user = found
        renamed = data.display_name is not None and data.display_name != user.display_name
        if renamed:
            user.display_name = data.display_name  # type: ignore[assignment]
        new_phone = "phone" in data.model_fields_set and data.phone != user.phone
        if new_phone:
            user.phone = data.phone
        message = None
        if data.email is not None and data.email != user.email:
            message = await self._verification(user, data.email, locale)
        await self.session.flush()
        if renamed:
            await publish(self.session, events, user_saved(UserUpdatedV1, user))
        if new_phone:
            await publish(self.session, events, contact_changed(user))
        return await self._profile(user), message

    async def _verification(self, user: User, email: str, locale: Locale) -> DirectMessageV1:
        # Mail to one address at a time per person, as slowly as resets: no mail bombing.
        if await self.limits.take(f"verify:user:{user.id}", self.limits.reset_per_account):
            raise AccountRequestsThrottled()
        # An address of another account gets the mail all the same (and its confirmation
        # fails): the answer must not tell whose address exists.
        token, row = await self._issue(user, TokenPurpose.email_verification, email)
        return DirectMessageV1(
            idempotency_key=f"email-verification:{row.id}",
            user_id=user.id,
            template="email_verification",
            to_address=email,
            params=self._link_params(
                user, token, "email-verification", self.settings.email_verification_minutes
            ),
            locale=locale,
        )

    async def confirm_email(self, token: str, address: str) -> None:
        await self.limits.refuse_address("token", address, self.limits.confirm_per_address)
        now = utcnow()
        row = await self.repo.usable(token_digest(token), TokenPurpose.email_verification, now)
        user = await self.identity.user(row.user_id, lock=True) if row is not None else None
        if row is None or row.email is None or user is None or not user.is_active:
            raise InvalidAccountToken()
        holder = await self.identity.user_by_email(row.email)
        if holder is not None and holder.id != user.id:
            raise EmailTaken()
        previous = user.email
        row.spent_at = now
        user.email, user.email_verified_at = row.email, now
        # A reset link mailed to the old address opens nothing now.
        await self.identity.void_account_tokens(user.id)
        await self.session.flush()
        await publish(self.session, events, contact_changed(user))
        if previous is not None and previous != user.email:
            # The old address is told (notify mails it): its owner learns of a change they
            # did not make, although the account's mail goes to the new one from now on.
            await publish(
                self.session,
                events,
                AccountEmailChangedV1(user_id=user.id, previous_email=previous, changed_at=now),
            )

    async def _issue(
        self, user: User, purpose: TokenPurpose, email: str | None
    ) -> tuple[str, AccountToken]:
        minutes = (
            self.settings.password_reset_minutes
            if purpose is TokenPurpose.password_reset
            else self.settings.email_verification_minutes
        )
        token = secrets.token_urlsafe(32)
        row = AccountToken(
            user_id=user.id,
            purpose=purpose.value,
            token_hash=token_digest(token),
            email=email,
            expires_at=utcnow() + timedelta(minutes=minutes),
        )
        # Up to three reset links live at once (the newest ones): asking again must not void
        # the link the owner is about to use. One address waits for confirmation at a time.
        await self.repo.issue(row, keep=2 if purpose is TokenPurpose.password_reset else 0)
        return token, row

    def _link_params(self, user: User, token: str, page: str, minutes: int) -> dict[str, str]:
        base = self.settings.account_links_url.rstrip("/")
        return {
            # In the fragment: a browser never sends it, so no access log holds the token.
            "link": f"{base}/{page}#token={token}",
            "token": token,
            "username": user.username,
            "valid_minutes": str(minutes),
        }

    async def _profile(self, user: User) -> Profile:
        return Profile(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            email=user.email,
            phone=user.phone,
            pending_email=await self.repo.pending_email(user.id, utcnow()),
            org_id=user.org_id,
            roles=[r.role for r in user.roles],
        )
