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

from typing import Any
from uuid import UUID

from services.credit.access.reader import FULL_READERS, Reader
from services.credit.access.repository import AccessRepository, Database
from services.credit.exceptions import PurposeRequired
from services.credit.models import scope
from shared.auth.tokens import Principal
from shared.program_scope import StaffScope, staff_scope


async def reader_for(db: Database, principal: Principal) -> Reader:
    full = principal.has_any(*FULL_READERS)
    found = StaffScope() if full else await staff_scope(db, scope, principal)
    return Reader(principal=principal, scope=found, full=full or found.everything)


async def may_read_subject(db: Database, reader: Reader, subject_id: UUID) -> bool:
    if reader.full:
        return True
    if not reader.reads_anything:
        return False
    return await AccessRepository(db).subject_visible(reader, subject_id)


async def may_read_record(db: Database, reader: Reader, record_id: UUID) -> bool:
    if reader.full:
        return True
    if not reader.reads_anything:
        return False
    return await AccessRepository(db).record_visible(reader, record_id)


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
    await AccessRepository(db).log_read(principal, purpose, what, record_ids)
