"""Who may act on a credit record: officers within their programs, never in their own affair.

- Credit officers and admins act on every record; a program manager on the records of the
  programs they manage. A record of no program (a voucher fraud, say) is for credit officers.
- Nobody acts on a record about themselves or their organization: the subject, or the unit a
  person's record is linked to (回避).
- The officers who made a record (its creator, who sent or asked for its notice, who approved
  the notice) do not decide the objection to it; an appeal is decided by someone who neither made
  the record nor confirmed it.
- A record that bans or is publicly listed needs a second officer's approval of its notice
  (four eyes): one person alone cannot make it take effect.

Events of other services create records as proposals; the checks apply to people.
"""

from __future__ import annotations

from uuid import UUID

from services.credit.access.reading import may_read_record, reader_for
from services.credit.access.repository import Database
from services.credit.exceptions import (
    OutsideYourPrograms,
    OwnAffair,
    RecordNotFound,
    SameOfficer,
    SameReviewer,
)
from services.credit.models import CreditRecord, Subject
from services.credit.models import scope as scope_tables
from services.credit.rules.schemas import DISCLOSED_TIERS
from shared.auth.roles import Role
from shared.auth.tokens import Principal
from shared.program_scope import staff_scope

OFFICERS_EVERYWHERE = (Role.admin, Role.credit_officer)


def needs_second_officer(record: CreditRecord) -> bool:
    """Bans and public listing: the records whose notice a second officer approves."""
    return bool(record.restrictions) or record.tier in DISCLOSED_TIERS


def makers(record: CreditRecord) -> set[str]:
    people = {record.created_by, record.notice_requested_by, record.notice_approved_by}
    return {p for p in people if p and not p.startswith("event:")}


async def may_act_in(db: Database, principal: Principal, program_id: UUID | None) -> bool:
    if principal.has_any(*OFFICERS_EVERYWHERE):
        return True
    if Role.program_manager not in principal.roles or program_id is None:
        return False
    return (await staff_scope(db, scope_tables, principal)).manages(program_id)


def in_own_affair(principal: Principal, subject: Subject, unit: Subject | None) -> bool:
    for party in (subject, unit):
        if party is None:
            continue
        if party.gateway_user_id is not None and party.gateway_user_id == principal.user_id:
            return True
        if party.gateway_org_id is not None and party.gateway_org_id == principal.org_id:
            return True
    return False


async def check_officer(
    db: Database,
    principal: Principal,
    record: CreditRecord,
    subject: Subject,
    unit: Subject | None,
) -> None:
    """The caller may act on this record (404 if they may not even read it)."""
    if not await may_act_in(db, principal, record.program_id):
        if await may_read_record(db, await reader_for(db, principal), record.id):
            raise OutsideYourPrograms()
        raise RecordNotFound()
    if in_own_affair(principal, subject, unit):
        raise OwnAffair()


def check_not_maker(principal: Principal, record: CreditRecord) -> None:
    if principal.subject in makers(record):
        raise SameOfficer()


def check_appeal_reviewer(principal: Principal, record: CreditRecord) -> None:
    if principal.subject in makers(record) | {record.confirmed_by}:
        raise SameReviewer()
