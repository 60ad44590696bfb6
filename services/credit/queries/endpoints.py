"""Searching the records (staff, each within what they may read, every search logged with its
purpose) and the public disclosure list (confirmed severe records within their disclosure
period)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query

from services.credit.auth import Investigator, NowDep, SettingsDep
from services.credit.queries.schemas import FoundRecord, PublicRecord, RecordSearch
from services.credit.queries.service import QueryService
from services.credit.rules.schemas import Tier
from shared.db import SessionDep
from shared.pagination import Page, PageDep

router = APIRouter(prefix="/v1", tags=["queries"])


@router.get("/records", response_model=Page[FoundRecord], summary="Search the records (logged)")
async def search(
    session: SessionDep,
    investigator: Investigator,
    page: PageDep,
    purpose: Annotated[str, Query(min_length=5, max_length=500, description="why you ask; logged")],
    subject_kind: Literal["organization", "agency", "person"] | None = None,
    subject_id: UUID | None = None,
    program_id: Annotated[
        UUID | None, Query(description="records of this program (of the projects service)")
    ] = None,
    name: Annotated[str | None, Query(max_length=200)] = None,
    credit_code: Annotated[str | None, Query(max_length=18)] = None,
    rule_code: Annotated[str | None, Query(max_length=40)] = None,
    tier: Tier | None = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    handling_unit: Annotated[str | None, Query(max_length=200)] = None,
    effective_from: date | None = None,
    effective_to: date | None = None,
) -> Page[FoundRecord]:
    search = RecordSearch(
        subject_kind=subject_kind,
        subject_id=subject_id,
        program_id=program_id,
        name=name,
        credit_code=credit_code,
        rule_code=rule_code,
        tier=tier,
        status=status,
        handling_unit=handling_unit,
        effective_from=effective_from,
        effective_to=effective_to,
    )
    found = await QueryService(session).search(investigator, purpose, search, page)
    return Page[FoundRecord](items=found)


@router.get(
    "/public/records", response_model=Page[PublicRecord], summary="Public disclosure (no login)"
)
async def public_records(
    session: SessionDep, settings: SettingsDep, page: PageDep, now: NowDep
) -> Page[PublicRecord]:
    found = await QueryService(session).disclosed(now, settings.disclosure_years, page)
    return Page[PublicRecord](items=found)
