"""The append-only history of every state change (who, when, from, to, why)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.projects.models.base import NOW, Base, Timestamp

ENTITIES = ("program", "call", "application", "project", "objection", "report", "change")


class Transition(Base):
    """One move of one thing. A trigger refuses UPDATE and DELETE on this table."""

    __tablename__ = "history"
    __table_args__ = (sa.Index(None, "entity", "entity_id", "id"),)

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    entity: Mapped[str] = mapped_column(sa.String(12))
    entity_id: Mapped[UUID] = mapped_column()
    # The application or project it belongs to, so a project's whole story is one query.
    application_id: Mapped[UUID | None] = mapped_column(index=True)
    action: Mapped[str] = mapped_column(sa.String(40))
    from_state: Mapped[str | None] = mapped_column(sa.String(20))
    to_state: Mapped[str | None] = mapped_column(sa.String(20))
    actor_id: Mapped[str] = mapped_column(sa.String(100))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    at: Mapped[datetime] = mapped_column(Timestamp, server_default=NOW)
