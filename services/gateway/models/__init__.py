"""Tables of the gateway, all in the PostgreSQL schema `gateway`."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.db import service_metadata
from shared.events.tables import event_tables
from shared.ids import uuid7


class Base(DeclarativeBase):
    metadata = service_metadata("gateway")


events = event_tables(Base.metadata)

_now = sa.func.now()


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    name: Mapped[str] = mapped_column(sa.String(200))
    credit_code: Mapped[str] = mapped_column(sa.String(18), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    parent_id: Mapped[UUID | None] = mapped_column(sa.ForeignKey("organizations.id"))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=_now)


class User(Base):
    __tablename__ = "users"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(200))
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    org_id: Mapped[UUID | None] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    # Verified addresses only (lower case): a new one waits in `account_tokens` until confirmed.
    email: Mapped[str | None] = mapped_column(sa.String(254), unique=True)
    # When its owner proved to read it (None: an address an administrator entered).
    email_verified_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=_now)
    roles: Mapped[list[UserRole]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="UserRole.role"
    )


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[UUID] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    role: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    granted_by: Mapped[UUID | None] = mapped_column()
    granted_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=_now)


class RefreshToken(Base):
    """Opaque refresh tokens, stored as SHA-256; one family per login, rotated on each use."""

    __tablename__ = "refresh_tokens"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    family_id: Mapped[UUID] = mapped_column(index=True)
    user_id: Mapped[UUID] = mapped_column(sa.ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    issued_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=_now)
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class AccountToken(Base):
    """One-time tokens sent by mail (a password reset, an address to verify): stored only as
    SHA-256, short-lived, used once (`accounts/service.py` says when others are voided)."""

    __tablename__ = "account_tokens"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    user_id: Mapped[UUID] = mapped_column(sa.ForeignKey("users.id"), index=True)
    purpose: Mapped[str] = mapped_column(sa.String(32))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The address being verified (email_verification only).
    email: Mapped[str | None] = mapped_column(sa.String(254))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=_now)
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    # Set when the token is used or voided by a newer one: either way it opens nothing again.
    spent_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class OrganizationRequest(Base):
    """An organization asking to be registered; an administrator approves (the organization is
    created) or declines with a reason. Kept either way: who decided, when, why."""

    __tablename__ = "organization_requests"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    name: Mapped[str] = mapped_column(sa.String(200))
    credit_code: Mapped[str] = mapped_column(sa.String(18), index=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    contact_name: Mapped[str] = mapped_column(sa.String(200))
    contact_email: Mapped[str] = mapped_column(sa.String(254))
    contact_phone: Mapped[str | None] = mapped_column(sa.String(32))
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    reason: Mapped[str | None] = mapped_column(sa.String(1000))
    decided_by: Mapped[UUID | None] = mapped_column()
    decided_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    organization_id: Mapped[UUID | None] = mapped_column(sa.ForeignKey("organizations.id"))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=_now)


class SigningKey(Base):
    """Ed25519 keys; the newest unretired one signs, every unretired one verifies."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    private_pem: Mapped[str] = mapped_column(sa.Text)
    public_jwk: Mapped[dict[str, str]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=_now)
    retired_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class ApiClient(Base):
    """Service accounts for the client_credentials grant."""

    __tablename__ = "api_clients"

    client_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(sa.String(200))
    audiences: Mapped[list[str]] = mapped_column(ARRAY(sa.String(64)))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=_now)


class LoginFailure(Base):
    """Failed logins to an account from addresses it never logged in from (any of them):
    past a threshold, such addresses must wait (`locked_until`) before the next try."""

    __tablename__ = "login_failures"

    username: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=_now)


class LoginAddressFailure(Base):
    """Failed logins to an account from one address (an IPv6 /64): past a threshold that
    address is locked out of that account, doubling each time; others are not."""

    __tablename__ = "login_address_failures"

    username: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    address: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=_now)


class LoginKnownAddress(Base):
    """Where an account logged in successfully: its owner is not slowed down there."""

    __tablename__ = "login_known_addresses"

    username: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    address: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    last_success_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=_now
    )


# Token buckets shared by every gateway process. UNLOGGED: losing them in a crash only
# refills the buckets, and skipping the WAL keeps the per-request write cheap.
rate_buckets = sa.Table(
    "rate_buckets",
    Base.metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("tokens", sa.Float, nullable=False),
    # What the last statement took from the bucket (the lease; 0: refused).
    sa.Column("taken", sa.Float, nullable=False),
    sa.Column("burst", sa.Float, nullable=False),
    sa.Column("rate", sa.Float, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    prefixes=["UNLOGGED"],
)


class AuditEntry(Base):
    """Append-only (a trigger refuses UPDATE and DELETE) and hash-chained."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    actor: Mapped[str | None] = mapped_column(sa.String(100))
    method: Mapped[str] = mapped_column(sa.String(10))
    path: Mapped[str] = mapped_column(sa.String(500))
    status: Mapped[int] = mapped_column()
    request_id: Mapped[str] = mapped_column(sa.String(100))
    client_address: Mapped[str | None] = mapped_column(sa.String(64))
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))
