"""Operations run from the command line against the gateway's database (not over HTTP)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.accounts.service import set_password_by_operator
from services.gateway.audit.chain import AuditRecord, VerifyResult, append_all, verify
from services.gateway.audit.repository import ChainAppender
from services.gateway.auth import keys
from services.gateway.auth.passwords import hash_secret
from services.gateway.auth.repository import CredentialRepository
from services.gateway.auth.throttle import forget_failures
from services.gateway.config import GatewaySettings
from services.gateway.identity.exceptions import UserNotFound
from services.gateway.identity.repository import IdentityRepository
from services.gateway.identity.schemas import UserCreate
from services.gateway.identity.service import IdentityService
from services.gateway.service_accounts import checked_audiences, checked_client_id
from shared.auth.roles import Role
from shared.clock import utcnow
from shared.db import Database
from shared.ids import uuid7


@asynccontextmanager
async def _session(settings: GatewaySettings) -> AsyncIterator[AsyncSession]:
    db = Database(settings)
    try:
        async with db.sessionmaker() as session, session.begin():
            yield session
    finally:
        await db.dispose()


async def ensure_admin(settings: GatewaySettings, username: str, password: str) -> bool:
    """Creates the admin user unless it exists; True when it was created now."""
    async with _session(settings) as session:
        await keys.ensure_signing_key(session)
        if await IdentityRepository(session).user_by_username(username) is not None:
            return False
        await IdentityService(session).create_user(
            UserCreate(
                username=username,
                password=password,
                display_name="Administrator",
                roles=[Role.admin],
            ),
            granted_by=None,
        )
        return True


async def restore_admin(settings: GatewaySettings, username: str, password: str) -> bool:
    """Makes `username` an active admin again with a new password, unlocked (creating it if
    absent: True then). For the operator who lost the last admin's password or role."""
    async with _session(settings) as session:
        await keys.ensure_signing_key(session)
        _, created = await IdentityService(session).restore_admin(username, password)
        await forget_failures(session, username)
        return created


async def set_password(
    settings: GatewaySettings, username: str, password: str, operator: str
) -> bool:
    """Gives `username` this password, ends their sessions and lifts their login locks, and
    writes the operator's action to the audit log in the same transaction. False: no such user."""
    async with _session(settings) as session:
        try:
            user = await set_password_by_operator(session, username, password)
        except UserNotFound:
            return False
        record = AuditRecord(
            at=utcnow(),
            actor=f"operator:{operator}"[:100],
            method="CLI",
            path=f"sciplan set-password {user.username}",
            status=200,
            request_id=f"cli-{uuid7().hex}",
            client_address=None,
        )
        await append_all(await ChainAppender.in_session(session), [record])
        return True


async def register_client(
    settings: GatewaySettings, client_id: str, secret: str, audiences: list[str]
) -> None:
    """Creates or re-keys a service account for the client_credentials grant, with exactly
    these audiences (UnknownAudience for a name no service answers to; ReservedClient for the
    gateway's own name)."""
    client_id = checked_client_id(client_id)
    audiences = checked_audiences(audiences)
    secret_hash = await hash_secret(secret)
    async with _session(settings) as session:
        await CredentialRepository(session).save_api_client(client_id, secret_hash, audiences)


async def rotate_key(settings: GatewaySettings) -> str:
    async with _session(settings) as session:
        return await keys.rotate(session)


async def retire_key(settings: GatewaySettings, kid: str) -> bool:
    async with _session(settings) as session:
        return await keys.retire(session, kid)


async def verify_audit_log(settings: GatewaySettings) -> VerifyResult:
    async with _session(settings) as session:
        return await verify(session)
