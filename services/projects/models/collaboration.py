"""Working together on an application: the organizations of a consortium (产学研联合申报),
each with its part of the budget and of the work, and the delegates a PI lets draft."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from services.projects.models.base import NOW, Base, Money, Timestamp
from shared.ids import uuid7
from shared.states import StateType, one_of


# A participating organization's word on its own part: pending -> endorsed | declined; any
# change to the part sets it back to pending. The lead organization has none here: it
# endorses the whole application once submitted, as every organization does.
class PartEndorsement(StrEnum):
    pending = "pending"
    endorsed = "endorsed"
    declined = "declined"


class ConsortiumPart(Base):
    """One organization's part of a consortium application."""

    __tablename__ = "consortium_parts"
    __table_args__ = (
        sa.CheckConstraint("budget_fen >= 0", name="budget_not_negative"),
        sa.CheckConstraint(
            "endorsement IS NULL OR " + one_of("endorsement", PartEndorsement), name="endorsement"
        ),
        sa.CheckConstraint("is_lead = (endorsement IS NULL)", name="lead_has_no_endorsement"),
        sa.CheckConstraint(
            "(endorsement IS NULL OR endorsement = 'pending') = (endorsed_by IS NULL)",
            name="endorsed_by_someone",
        ),
        # Where an organization admin's consortia are found (they read those applications).
        sa.Index(None, "org_id"),
    )

    application_id: Mapped[UUID] = mapped_column(sa.ForeignKey("applications.id"), primary_key=True)
    org_id: Mapped[UUID] = mapped_column(primary_key=True)
    is_lead: Mapped[bool] = mapped_column()
    budget_fen: Mapped[int] = mapped_column(Money)
    work: Mapped[str] = mapped_column(sa.Text)
    co_pi_ids: Mapped[list[UUID]] = mapped_column(ARRAY(sa.Uuid))
    endorsement: Mapped[PartEndorsement | None] = mapped_column(StateType(PartEndorsement, 10))
    endorsed_by: Mapped[UUID | None] = mapped_column()
    endorsed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    endorsed_version: Mapped[int | None] = mapped_column()  # the application's, at the time
    endorsement_reason: Mapped[str | None] = mapped_column(sa.Text)
    set_by: Mapped[UUID] = mapped_column()
    set_at: Mapped[datetime] = mapped_column(Timestamp, server_default=NOW)


class Delegation(Base):
    """A PI lets a research administrator of their organization draft the application; a
    revoked delegation stays, as the record of who could draft when."""

    __tablename__ = "application_delegations"
    __table_args__ = (
        sa.CheckConstraint(
            "(revoked_at IS NULL) = (revoked_by IS NULL)", name="revoked_by_someone"
        ),
        sa.Index(
            None,
            "application_id",
            "delegate_id",
            unique=True,
            postgresql_where=sa.text("revoked_at IS NULL"),
        ),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    application_id: Mapped[UUID] = mapped_column(sa.ForeignKey("applications.id"), index=True)
    delegate_id: Mapped[UUID] = mapped_column()
    granted_by: Mapped[UUID] = mapped_column()
    granted_at: Mapped[datetime] = mapped_column(Timestamp)
    revoked_by: Mapped[UUID | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column(Timestamp)
