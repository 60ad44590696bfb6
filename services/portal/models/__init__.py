"""Tables of the portal, in the PostgreSQL schema `portal`: logins in progress, nothing else.

The portal owns no domain data. A session row holds the person's tokens, encrypted with a key
that lives only in the person's cookie: the table alone opens nobody's account.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import service_metadata

Timestamp = sa.DateTime(timezone=True)


class Base(DeclarativeBase):
    metadata = service_metadata("portal")


class PortalSession(Base):
    __tablename__ = "sessions"

    # SHA-256 of the session id in the cookie: a copy of the table names no cookie.
    id_hash: Mapped[bytes] = mapped_column(sa.LargeBinary(32), primary_key=True)
    subject: Mapped[UUID] = mapped_column(sa.Uuid, index=True)
    # Fernet token of {"access": ..., "refresh": ...}, keyed by the cookie's second half.
    tokens: Mapped[bytes] = mapped_column(sa.LargeBinary)
    access_expires_at: Mapped[datetime] = mapped_column(Timestamp)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    last_seen_at: Mapped[datetime] = mapped_column(Timestamp, index=True)
