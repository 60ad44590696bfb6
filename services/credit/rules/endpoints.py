"""The rule catalog: anyone signed in reads it; credit officers add and revise rules."""

from __future__ import annotations

from fastapi import APIRouter, status

from services.credit.auth import CatalogKeeper
from services.credit.rules.schemas import RuleCreate, RuleRead, RuleTerms
from services.credit.rules.service import RuleService
from shared.auth.dependencies import CurrentPrincipal
from shared.db import SessionDep
from shared.pagination import Page, PageDep, page_of, start_of

router = APIRouter(prefix="/v1/rules", tags=["rules"])


@router.get("", response_model=Page[RuleRead], summary="The current version of every rule")
async def catalog(session: SessionDep, _caller: CurrentPrincipal, page: PageDep) -> Page[RuleRead]:
    offset = start_of(page)
    found = await RuleService(session).catalog(offset=offset, limit=page.limit + 1)
    return page_of(found, offset, page.limit, RuleRead.model_validate)


@router.get("/{code}/versions", response_model=Page[RuleRead], summary="Every version of a rule")
async def versions(
    code: str, session: SessionDep, _caller: CurrentPrincipal, page: PageDep
) -> Page[RuleRead]:
    offset = start_of(page)
    found = await RuleService(session).versions(code, offset=offset, limit=page.limit + 1)
    return page_of(found, offset, page.limit, RuleRead.model_validate)


@router.post("", response_model=RuleRead, status_code=status.HTTP_201_CREATED)
async def create_rule(data: RuleCreate, session: SessionDep, keeper: CatalogKeeper) -> RuleRead:
    return RuleRead.model_validate(await RuleService(session).create(data, keeper.subject))


@router.put("/{code}", response_model=RuleRead, summary="Revise a rule: adds a version")
async def revise_rule(
    code: str, terms: RuleTerms, session: SessionDep, keeper: CatalogKeeper
) -> RuleRead:
    return RuleRead.model_validate(await RuleService(session).revise(code, terms, keeper.subject))
