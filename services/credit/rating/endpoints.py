"""Ratings (as of any moment), bulk ratings, and eligibility checks for the other services."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from services.credit.access.reading import log_read, may_read_subject, reader_for, stated
from services.credit.access.repository import Database
from services.credit.auth import NowDep, Purpose, RatingReader, SettingsDep
from services.credit.exceptions import SubjectMismatch, SubjectNotFound
from services.credit.rating.model import Rating, rate
from services.credit.rating.repository import SubjectKey, subject_facts
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
from shared.auth.roles import Role
from shared.auth.tokens import Principal
from shared.contracts.vocabulary import CreditLevel
from shared.db import ReadDep, SessionDep
from shared.errors import Text

router = APIRouter(prefix="/v1", tags=["ratings"])

AsOf = Annotated[
    AwareDatetime | None,
    Query(description="the moment to rate at, with its timezone (default: now)"),
]


@router.get(
    "/subjects/{subject_id}/rating",
    response_model=RatingRead,
    summary="A subject's rating with its reasons (others': purpose stated and logged)",
)
async def rating(
    subject_id: UUID,
    principal: CurrentPrincipal,
    connection: ReadDep,
    settings: SettingsDep,
    now: NowDep,
    as_of: AsOf = None,
    purpose: Purpose = None,
) -> RatingRead:
    found = await subject_facts(connection, "id", subject_id)
    if found is None:
        raise SubjectNotFound()
    rated = rate(found.records, as_of or now, policy_from(settings))
    if not (Role.service in principal.roles or is_subject_of(principal, found)):
        # Someone else's rating is theirs to see only as their role and programs allow.
        if not await may_read_subject(
            connection, await reader_for(connection, principal), found.id
        ):
            raise SubjectNotFound()
        what = {"read": "rating", "subject_id": str(found.id)}
        await log_read(
            connection, principal, stated(purpose), what, [r.record_id for r in rated.reasons]
        )
    return RatingRead.of(found.id, rated)


async def _log_machine_read(
    connection: Database,
    principal: Principal,
    purpose: str | None,
    what: dict[str, Any],
) -> None:
    """Services ask for their own decisions (recorded where they are made); people state why."""
    if Role.service not in principal.roles:
        await log_read(connection, principal, stated(purpose), what, [])


@router.post(
    "/ratings/bulk", response_model=BulkRatingResponse, summary="Up to 1,000 subjects at once"
)
async def bulk(
    data: BulkRatingRequest,
    session: SessionDep,
    settings: SettingsDep,
    reader: RatingReader,
    now: NowDep,
    purpose: Purpose = None,
) -> BulkRatingResponse:
    wanted = list(dict.fromkeys(data.subject_ids))
    what = {"read": "ratings", "subject_ids": [str(s) for s in wanted]}
    await _log_machine_read(session, reader, purpose, what)
    service = RatingService(session, policy_from(settings))
    known = await service.known_subjects(wanted)
    found = [sid for sid in wanted if sid in known]
    ratings = await service.ratings(found, data.as_of or now)
    return BulkRatingResponse(
        ratings=[RatingRead.of(sid, ratings[sid]) for sid in found],
        unknown=[sid for sid in wanted if sid not in known],
    )


def _ineligible_reasons(action: Action, rated: Rating) -> list[IneligibleReason]:
    reasons = [
        IneligibleReason(code=f"credit.restricted.{action}", rule_code=r.rule_code, until=r.until)
        for r in rated.restricted(action)
    ]
    if rated.level is CreditLevel.D and not reasons:
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
    reader: RatingReader,
    connection: ReadDep,
    settings: SettingsDep,
    now: NowDep,
    subject_id: UUID | None = None,
    gateway_user_id: UUID | None = None,
    gateway_org_id: UUID | None = None,
    credit_code: Annotated[str | None, Query(max_length=18)] = None,
    at: AsOf = None,
    purpose: Purpose = None,
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
    key, value = given[0]
    await _log_machine_read(
        connection, reader, purpose, {"read": "eligibility", "action": action, key: str(value)}
    )
    found = await subject_facts(connection, key, value)
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
    reader: RatingReader,
    now: NowDep,
    purpose: Purpose = None,
) -> BulkEligibility:
    moment: datetime = data.at or now
    users, orgs = (
        list(dict.fromkeys(data.gateway_user_ids)),
        list(dict.fromkeys(data.gateway_org_ids)),
    )
    what = {
        "read": "eligibility",
        "action": data.action,
        "gateway_user_ids": [str(u) for u in users],
        "gateway_org_ids": [str(o) for o in orgs],
    }
    await _log_machine_read(session, reader, purpose, what)
    service = RatingService(session, policy_from(settings))
    by_user, by_org = await service.subjects_of(users, orgs)
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
