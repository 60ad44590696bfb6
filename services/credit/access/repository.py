"""The SQL of reading rules: which subjects and records a reader may see, and the read log."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import aliased

from services.credit.access.reader import Reader
from services.credit.models import NOT_FINDINGS, CreditRecord, QueryLog, Subject, scope
from shared.auth.tokens import Principal

Database = AsyncSession | AsyncConnection


def subject_in_scope(reader: Reader) -> sa.ColumnElement[bool]:
    """A WHERE clause on `Subject`: the subjects this reader may read the file of."""
    if reader.full:
        return sa.true()
    programs, projects = reader.scope.programs, reader.scope.engaged_projects
    parts: list[sa.ColumnElement[bool]] = []
    if programs:
        of_program = aliased(CreditRecord)
        parts.append(
            Subject.id.in_(
                sa.select(of_program.subject_id).where(of_program.program_id.in_(programs))
            )
        )
    if programs or projects:
        known = scope.projects
        covered = sa.or_(known.c.program_id.in_(programs), known.c.id.in_(projects))
        parts.append(Subject.gateway_user_id.in_(sa.select(known.c.pi_id).where(covered)))
        parts.append(Subject.gateway_org_id.in_(sa.select(known.c.org_id).where(covered)))
    return sa.or_(*parts) if parts else sa.false()


def records_visible(reader: Reader) -> sa.ColumnElement[bool]:
    """A WHERE clause on `CreditRecord` joined with its `Subject`: the records this reader sees."""
    if reader.full:
        return sa.true()
    findings = sa.and_(CreditRecord.status.not_in(NOT_FINDINGS), subject_in_scope(reader))
    managed = reader.scope.managed_programs
    return sa.or_(CreditRecord.program_id.in_(managed), findings) if managed else findings


class AccessRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def subject_visible(self, reader: Reader, subject_id: UUID) -> bool:
        found = await self.db.scalar(
            sa.select(Subject.id).where(Subject.id == subject_id, subject_in_scope(reader))
        )
        return found is not None

    async def record_visible(self, reader: Reader, record_id: UUID) -> bool:
        found = await self.db.scalar(
            sa.select(CreditRecord.id)
            .join(Subject, Subject.id == CreditRecord.subject_id)
            .where(CreditRecord.id == record_id, records_visible(reader))
        )
        return found is not None

    async def log_read(
        self, principal: Principal, purpose: str, what: dict[str, Any], record_ids: list[UUID]
    ) -> None:
        await self.db.execute(
            sa.insert(QueryLog).values(
                actor=principal.subject,
                roles=sorted(principal.roles),
                purpose=purpose,
                filters=what,
                record_ids=record_ids,
            )
        )
