"""Ratings (as of any moment), bulk ratings, and eligibility checks for the other services."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import sqlalchemy as sa
from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from services.credit.auth import STAFF, NowDep, RatingReader, SettingsDep
from services.credit.exceptions import SubjectMismatch, SubjectNotFound
from services.credit.models import Subject
from services.credit.rating.lookup import SubjectKey, subject_facts
from services.credit.rating.model import Rating, rate
from services.credit.rating.schemas import (
    Action,
    BulkEligibility,
    BulkEligibilityRequest,
    BulkRatingRequest,
    BulkRatingResponse,
    Eligibility,
    IneligibleReason,
    RatingRead,
)
from services.credit.rating.service import RatingService, policy_from
from services.credit.records.service import is_subject_of
from shared.auth.dependencies import CurrentPrincipal
from shared.db import ReadDep, SessionDep
from shared.errors import Text

router = APIRouter(prefix="/v1", tags=["ratings"])

AsOf = Annotated[
    AwareDatetime | None,
    Query(description="the moment to rate at, with its timezone (default: now)"),
]


@router.get("/subjects/{subject_id}/rating", response_model=RatingRead)
async def rating(
    subject_id: UUID,
    principal: CurrentPrincipal,
    connection: ReadDep,
    settings: SettingsDep,
    now: NowDep,
    as_of: AsOf = None,
) -> RatingRead:
    found = await subject_facts(connection, "id", subject_id)
    # Someone else's rating is not theirs to see: as if it did not exist.
    if found is None or not (principal.has_any(*STAFF) or is_subject_of(principal, found)):
        raise SubjectNotFound()
    return RatingRead.of(found.id, rate(found.records, as_of or now, policy_from(settings)))


@router.post(
    "/ratings/bulk", response_model=BulkRatingResponse, summary="Up to 1,000 subjects at once"
)
async def bulk(
    data: BulkRatingRequest,
    session: SessionDep,
    settings: SettingsDep,
    _reader: RatingReader,
    now: NowDep,
) -> BulkRatingResponse:
    wanted = list(dict.fromkeys(data.subject_ids))
    known = set((await session.scalars(sa.select(Subject.id).where(Subject.id.in_(wanted)))).all())
    found = [sid for sid in wanted if sid in known]
    ratings = await RatingService(session, policy_from(settings)).ratings(found, data.as_of or now)
    return BulkRatingResponse(
        ratings=[RatingRead.of(sid, ratings[sid]) for sid in found],
        unknown=[sid for sid in wanted if sid not in known],
    )


def _ineligible_reasons(action: Action, rated: Rating) -> list[IneligibleReason]:
    reasons = [
        IneligibleReason(code=f"credit.restricted.{action}", rule_code=r.rule_code, until=r.until)
        for r in rated.restricted(action)
    ]
    if rated.level == "D" and not reasons:
        # Level D bars every action, also when it comes from a restriction of another kind.
        reasons.append(IneligibleReason(code="credit.level_d"))
    return reasons


@router.get(
    "/eligibility",
    response_model=Eligibility,
    summary="May this subject apply / review / use vouchers at time T?",
)
async def eligibility(
    action: Action,
    _reader: RatingReader,
    connection: ReadDep,
    settings: SettingsDep,
    now: NowDep,
    subject_id: UUID | None = None,
    gateway_user_id: UUID | None = None,
    gateway_org_id: UUID | None = None,
    credit_code: Annotated[str | None, Query(max_length=18)] = None,
    at: AsOf = None,
) -> Eligibility:
    moment: datetime = at or now
    keys: dict[SubjectKey, UUID | str | None] = {
        "id": subject_id,
        "gateway_user_id": gateway_user_id,
        "gateway_org_id": gateway_org_id,
        "credit_code": credit_code,
    }
    given = [(key, value) for key, value in keys.items() if value is not None]
    if len(given) != 1:
        raise SubjectMismatch(Text("请给出一个主体标识", "Give exactly one subject key"))
    found = await subject_facts(connection, *given[0])
    if subject_id is not None and found is None:
        raise SubjectNotFound()
    # A subject never named has no records: the neutral rating.
    rated = rate(found.records if found else [], moment, policy_from(settings))
    return _eligibility(action, moment, found.id if found else None, rated)


def _eligibility(
    action: Action, moment: datetime, subject_id: UUID | None, rated: Rating
) -> Eligibility:
    reasons = _ineligible_reasons(action, rated)
    return Eligibility(
        action=action,
        at=moment,
        subject_id=subject_id,
        eligible=not reasons,
        level=rated.level,
        score=rated.score,
        reasons=reasons,
        model_version=rated.model_version,
    )


@router.post(
    "/eligibility/bulk",
    response_model=BulkEligibility,
    summary="The same question for up to 1,000 people and organizations at once",
)
async def bulk_eligibility(
    data: BulkEligibilityRequest,
    session: SessionDep,
    settings: SettingsDep,
    _reader: RatingReader,
    now: NowDep,
) -> BulkEligibility:
    moment: datetime = data.at or now
    users, orgs = (
        list(dict.fromkeys(data.gateway_user_ids)),
        list(dict.fromkeys(data.gateway_org_ids)),
    )
    found = (
        await session.execute(
            sa.select(Subject.id, Subject.gateway_user_id, Subject.gateway_org_id).where(
                sa.or_(Subject.gateway_user_id.in_(users), Subject.gateway_org_id.in_(orgs))
            )
        )
    ).all()
    by_user = {row.gateway_user_id: row.id for row in found if row.gateway_user_id is not None}
    by_org = {row.gateway_org_id: row.id for row in found if row.gateway_org_id is not None}
    service = RatingService(session, policy_from(settings))
    rated = await service.ratings([*by_user.values(), *by_org.values()], moment)
    nobody = await service.rating_of_nobody(moment)

    def answer(keys: list[UUID], subjects: dict[UUID, UUID]) -> dict[UUID, Eligibility]:
        return {
            key: _eligibility(
                data.action,
                moment,
                subjects.get(key),
                rated[subjects[key]] if key in subjects else nobody,
            )
            for key in keys
        }

    return BulkEligibility(
        action=data.action,
        at=moment,
        users=answer(users, by_user),
        organizations=answer(orgs, by_org),
    )
