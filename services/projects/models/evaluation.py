"""Third-party evaluators: what they are engaged on, and the evaluations they file."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column

from services.projects.models.base import NOW, Base, Timestamp
from shared.ids import uuid7

EVALUATION_KINDS = ("execution", "outputs", "efficiency")


class Engagement(Base):
    """An evaluator engaged on a whole program (or fund) or on one project."""

    __tablename__ = "engagements"
    __table_args__ = (
        sa.CheckConstraint(
            "(program_id IS NULL) <> (project_id IS NULL)", name="program_or_project"
        ),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    evaluator_id: Mapped[UUID] = mapped_column(index=True)
    program_id: Mapped[UUID | None] = mapped_column(sa.ForeignKey("programs.id"))
    project_id: Mapped[UUID | None] = mapped_column(sa.ForeignKey("projects.id"))
    purpose: Mapped[str] = mapped_column(sa.Text)
    engaged_by: Mapped[UUID] = mapped_column()
    engaged_at: Mapped[datetime] = mapped_column(Timestamp, server_default=NOW)
    ended_at: Mapped[datetime | None] = mapped_column(Timestamp)

    @hybrid_property
    def is_active(self) -> bool:
        """Active until a program manager ends it (`ended_at`), in Python and in SQL."""
        return self.ended_at is None

    @is_active.inplace.expression
    @classmethod
    def _is_active_in_sql(cls) -> sa.ColumnElement[bool]:
        return cls.ended_at.is_(None)


class Evaluation(Base):
    """An evaluation report (执行 / 成果产出 / 机构效率) with its scores."""

    __tablename__ = "evaluations"
    __table_args__ = (
        sa.CheckConstraint(
            "kind IN (" + ", ".join(f"'{k}'" for k in EVALUATION_KINDS) + ")", name="kind"
        ),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    engagement_id: Mapped[UUID] = mapped_column(sa.ForeignKey("engagements.id"), index=True)
    project_id: Mapped[UUID | None] = mapped_column(sa.ForeignKey("projects.id"), index=True)
    program_id: Mapped[UUID | None] = mapped_column(sa.ForeignKey("programs.id"))
    kind: Mapped[str] = mapped_column(sa.String(12))
    scores: Mapped[dict[str, Any]] = mapped_column(JSONB)  # {"criterion": score 0..100}
    summary: Mapped[str] = mapped_column(sa.Text)
    filed_by: Mapped[UUID] = mapped_column()
    filed_at: Mapped[datetime] = mapped_column(Timestamp, server_default=NOW)
