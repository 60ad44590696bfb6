"""Searching the records (staff, each within what they may read, every search logged with its
purpose) and the public disclosure list (confirmed severe records within their disclosure
period)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

import sqlalchemy as sa
from fastapi import APIRouter, Query
from pydantic import BaseModel

from services.credit.access.reading import reader_for, records_visible
from services.credit.auth import Investigator, NowDep, SettingsDep
from services.credit.models import CreditRecord, QueryLog, Rule, Subject
from services.credit.records.schemas import RecordRead
from services.credit.rules.schemas import DISCLOSED_TIERS, Tier
from shared.clock import in_shanghai
from shared.db import SessionDep
from shared.pagination import Page, PageDep

router = APIRouter(prefix="/v1", tags=["queries"])


class FoundRecord(RecordRead):
    subject_kind: str
    subject_name: str
    subject_credit_code: str | None


class PublicRecord(BaseModel):
    subject_name: str
    subject_kind: str
    subject_credit_code: str | None
    rule_code: str
    behaviour_zh: str
    behaviour_en: str
    tier: str
    legal_basis: str
    handling_unit: str
    effective_from: date
    restrictions: list[str]
    restriction_until: date | None
    restriction_permanent: bool


@router.get("/records", response_model=Page[FoundRecord], summary="Search the records (logged)")
async def search(
    session: SessionDep,
    investigator: Investigator,
    page: PageDep,
    purpose: Annotated[str, Query(min_length=5, max_length=500, description="why you ask; logged")],
    subject_kind: Literal["organization", "agency", "person"] | None = None,
    subject_id: UUID | None = None,
    name: Annotated[str | None, Query(max_length=200)] = None,
    credit_code: Annotated[str | None, Query(max_length=18)] = None,
    rule_code: Annotated[str | None, Query(max_length=40)] = None,
    tier: Tier | None = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    handling_unit: Annotated[str | None, Query(max_length=200)] = None,
    effective_from: date | None = None,
    effective_to: date | None = None,
) -> Page[FoundRecord]:
    reader = await reader_for(session, investigator)
    query = (
        sa.select(CreditRecord, Subject)
        .join(Subject, Subject.id == CreditRecord.subject_id)
        .where(records_visible(reader))
    )
    filters = {
        "subject_kind": subject_kind,
        "subject_id": str(subject_id) if subject_id else None,
        "name": name,
        "credit_code": credit_code,
        "rule_code": rule_code,
        "tier": tier,
        "status": status,
        "handling_unit": handling_unit,
        "effective_from": effective_from.isoformat() if effective_from else None,
        "effective_to": effective_to.isoformat() if effective_to else None,
        "limit": page.limit,
        "offset": page.offset,
    }
    if subject_kind:
        query = query.where(Subject.kind == subject_kind)
    if subject_id:
        query = query.where(Subject.id == subject_id)
    if name:
        query = query.where(Subject.name.contains(name, autoescape=True))
    if credit_code:
        query = query.where(Subject.credit_code == credit_code.upper())
    if rule_code:
        query = query.where(CreditRecord.rule_code == rule_code)
    if tier:
        query = query.where(CreditRecord.tier == tier)
    if status:
        query = query.where(CreditRecord.status == status)
    if handling_unit:
        query = query.where(CreditRecord.handling_unit.contains(handling_unit, autoescape=True))
    if effective_from:
        query = query.where(CreditRecord.effective_from >= effective_from)
    if effective_to:
        query = query.where(CreditRecord.effective_from <= effective_to)
    rows = (
        await session.execute(
            query.order_by(CreditRecord.effective_from.desc(), CreditRecord.id)
            .limit(page.limit)
            .offset(page.offset)
        )
    ).all()
    found = [
        FoundRecord.model_validate(
            {
                **RecordRead.model_validate(record).model_dump(),
                "subject_kind": subject.kind,
                "subject_name": subject.name,
                "subject_credit_code": subject.credit_code,
            }
        )
        for record, subject in rows
    ]
    session.add(
        QueryLog(
            actor=investigator.subject,
            roles=sorted(investigator.roles),
            purpose=purpose,
            filters={k: v for k, v in filters.items() if v is not None},
            record_ids=[r.id for r in found],
        )
    )
    await session.flush()
    return Page[FoundRecord](items=found)


@router.get(
    "/public/records", response_model=Page[PublicRecord], summary="Public disclosure (no login)"
)
async def public_records(
    session: SessionDep, settings: SettingsDep, page: PageDep, now: NowDep
) -> Page[PublicRecord]:
    today = in_shanghai(now).date()
    # Disclosed for the disclosure period, or as long as a restriction runs if that is longer.
    disclosure_end = sa.func.greatest(
        CreditRecord.effective_from + sa.func.make_interval(settings.disclosure_years),
        CreditRecord.restriction_until,
    )
    rows = (
        await session.execute(
            sa.select(CreditRecord, Subject, Rule)
            .join(Subject, Subject.id == CreditRecord.subject_id)
            .join(
                Rule,
                sa.and_(
                    Rule.code == CreditRecord.rule_code, Rule.version == CreditRecord.rule_version
                ),
            )
            .where(
                CreditRecord.confirmed_at.is_not(None),
                CreditRecord.withdrawn_at.is_(None),
                CreditRecord.repaired_at.is_(None),
                CreditRecord.tier.in_(DISCLOSED_TIERS),
                CreditRecord.effective_from <= today,
                sa.or_(CreditRecord.restriction_permanent, disclosure_end > today),
            )
            .order_by(CreditRecord.effective_from.desc(), CreditRecord.id)
            .limit(page.limit)
            .offset(page.offset)
        )
    ).all()
    return Page[PublicRecord](
        items=[
            PublicRecord(
                subject_name=subject.name,
                subject_kind=subject.kind,
                subject_credit_code=subject.credit_code,
                rule_code=record.rule_code,
                behaviour_zh=rule.description_zh,
                behaviour_en=rule.description_en,
                tier=record.tier,
                legal_basis=record.legal_basis,
                handling_unit=record.handling_unit,
                effective_from=record.effective_from,
                restrictions=record.restrictions,
                restriction_until=record.restriction_until,
                restriction_permanent=record.restriction_permanent,
            )
            for record, subject, rule in rows
        ]
    )
