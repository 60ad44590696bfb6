"""Who may read whose credit data, and the log of every read of someone else's.

- The subject reads their own file (a person; an organization's administrators its file), and
  never sees a record before its notice.
- Admins, credit officers and auditors may read any file.
- A program manager reads the files of the people and organizations of the programs they
  manage (a record of the program, or a project of it they lead or undertake); an evaluator
  those of the programs and projects they are currently engaged on.
- Besides their own programs' records, staff never see records that are not yet notified or
  that were withdrawn: those are not findings about anyone.
- Anyone else (finance officers, experts, applicants) reads nothing of others, and is told it
  does not exist.

Reading someone else's data states a purpose, and the read is logged (`QueryLog`) with the
records shown. Services reading for a decision of their own (eligibility) are not people: their
calls carry no purpose, and the decision is recorded where it is made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import aliased

from services.credit.exceptions import PurposeRequired
from services.credit.models import CreditRecord, QueryLog, Subject, scope
from shared.auth.roles import Role
from shared.auth.tokens import Principal
from shared.program_scope import StaffScope, staff_scope

Database = AsyncSession | AsyncConnection

FULL_READERS = (Role.admin, Role.credit_officer, Role.auditor)
# States of a record that staff outside its program never see.
NOT_FINDINGS = ("proposed", "awaiting_approval", "withdrawn")
# States the subject does not see yet: the notice is how they learn of a record.
BEFORE_NOTICE = ("proposed", "awaiting_approval")


@dataclass(frozen=True)
class Reader:
    """A person reading someone else's credit data, with what their role and programs allow."""

    principal: Principal
    scope: StaffScope
    full: bool

    @property
    def reads_anything(self) -> bool:
        return self.full or bool(self.scope.programs or self.scope.engaged_projects)


async def reader_for(db: Database, principal: Principal) -> Reader:
    full = principal.has_any(*FULL_READERS)
    found = StaffScope() if full else await staff_scope(db, scope, principal)
    return Reader(principal=principal, scope=found, full=full or found.everything)


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


async def may_read_subject(db: Database, reader: Reader, subject_id: UUID) -> bool:
    if reader.full:
        return True
    if not reader.reads_anything:
        return False
    found = await db.scalar(
        sa.select(Subject.id).where(Subject.id == subject_id, subject_in_scope(reader))
    )
    return found is not None


async def may_read_record(db: Database, reader: Reader, record_id: UUID) -> bool:
    if reader.full:
        return True
    if not reader.reads_anything:
        return False
    found = await db.scalar(
        sa.select(CreditRecord.id)
        .join(Subject, Subject.id == CreditRecord.subject_id)
        .where(CreditRecord.id == record_id, records_visible(reader))
    )
    return found is not None


def stated(purpose: str | None) -> str:
    if purpose is None:
        raise PurposeRequired()
    return purpose


async def log_read(
    db: Database,
    principal: Principal,
    purpose: str,
    what: dict[str, Any],
    record_ids: list[UUID],
) -> None:
    """Write down a read of someone else's credit data, in the reading transaction."""
    await db.execute(
        sa.insert(QueryLog).values(
            actor=principal.subject,
            roles=sorted(principal.roles),
            purpose=purpose,
            filters=what,
            record_ids=record_ids,
        )
    )
