"""The five basic programs and the special funds ("X") added over time."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column

from services.projects.models.base import NOW, Base, Money, Timestamp
from shared.ids import uuid7


class Program(Base):
    """A basic program (seeded, permanent) or a special fund (added, can be retired).

    `code` is stable and goes into project numbers (`2026-ZDYF-0001`).
    """

    __tablename__ = "programs"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('basic', 'special')", name="kind"),
        sa.CheckConstraint("kind = 'special' OR parent_id IS NULL", name="only_funds_have_parents"),
        sa.CheckConstraint("code ~ '^[A-Z][A-Z0-9]{1,11}$'", name="code_format"),
        sa.CheckConstraint(
            "active_to_year IS NULL OR active_to_year >= active_from_year", name="active_years"
        ),
        sa.CheckConstraint("reserve_months BETWEEN 1 AND 120", name="reserve_months"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    code: Mapped[str] = mapped_column(sa.String(12), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    name_zh: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str] = mapped_column(sa.String(200))
    parent_id: Mapped[UUID | None] = mapped_column(sa.ForeignKey("programs.id"))
    managing_agency: Mapped[str] = mapped_column(sa.String(200))
    active_from_year: Mapped[int] = mapped_column()
    active_to_year: Mapped[int | None] = mapped_column()
    # Defaults a new call starts from (eligible organization kinds, 限项, minimum credit level,
    # budget range, required attachments, notice days).
    eligibility: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    review_template: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # How long a reserved application stays in the program's standing reserve (项目储备库)
    # before it expires out of it.
    reserve_months: Mapped[int] = mapped_column(default=24, server_default="24")
    retired_at: Mapped[datetime | None] = mapped_column(Timestamp)
    retired_by: Mapped[UUID | None] = mapped_column()
    retire_reason: Mapped[str | None] = mapped_column(sa.Text)
    created_by: Mapped[UUID | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=NOW)

    @hybrid_property
    def is_retired(self) -> bool:
        """A retired fund takes no new calls; in Python and in SQL."""
        return self.retired_at is not None

    @is_retired.inplace.expression
    @classmethod
    def _is_retired_in_sql(cls) -> sa.ColumnElement[bool]:
        return cls.retired_at.is_not(None)


class ProgramEnvelope(Base):
    """A program's or fund's money for one year: decisions approve within it."""

    __tablename__ = "program_envelopes"
    __table_args__ = (sa.CheckConstraint("amount_fen >= 0", name="amount_not_negative"),)

    program_id: Mapped[UUID] = mapped_column(sa.ForeignKey("programs.id"), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    amount_fen: Mapped[int] = mapped_column(Money)


class ProgramManager(Base):
    """A program manager may act on the programs listed here for them, and on nothing else."""

    __tablename__ = "program_managers"

    program_id: Mapped[UUID] = mapped_column(sa.ForeignKey("programs.id"), primary_key=True)
    user_id: Mapped[UUID] = mapped_column(primary_key=True, index=True)
    granted_by: Mapped[UUID | None] = mapped_column()
    granted_at: Mapped[datetime] = mapped_column(Timestamp, server_default=NOW)
