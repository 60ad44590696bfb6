"""The checks one expert must pass to be put on one application by hand: the same rules as
the automatic assignment, each refusal with its own code (and conflicts with their evidence).
The credit service's answer about the expert is asked for before the round is locked
(`credit_of`) and passed in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.exceptions import InvalidTransition
from services.projects.models import Application, Expert, ReviewRound
from services.projects.review.assignments.candidates import (
    available,
    eligibility,
    expert_profile,
    item_profile,
)
from services.projects.review.assignments.exceptions import (
    AlreadyAssigned,
    AssignmentConflict,
    ExpertNotAssignable,
    ExpertNotFound,
    OutOfField,
    OverLoad,
    SameOrganization,
)
from services.projects.review.assignments.repository import AssignmentRepository
from services.projects.review.rounds.conflicts import active_conflicts, with_evidence
from services.projects.review.rounds.items import round_items
from services.projects.review.solver.match import match
from shared.clock import in_shanghai
from shared.contracts.credit import EligibilityV1
from shared.credit_client import CreditClient
from shared.errors import Text


@dataclass(frozen=True)
class Fit:
    expert: Expert
    score: int
    explanation: dict[str, Any]


async def check_assignable(
    session: AsyncSession,
    round_: ReviewRound,
    application: Application,
    expert_id: UUID,
    credit_answer: EligibilityV1,
    now: datetime,
    *,
    force_out_of_field: bool,
) -> Fit:
    """Why `expert_id` may review `application` in the round, or the refusal: not in the pool
    (404), already on it, a conflict of interest, inactive / unavailable / barred by credit,
    no load left, a second expert of one organization (409), out of the field (422).
    `credit_answer`: the credit service's, about the expert reviewing now (`credit_of`)."""
    repo = AssignmentRepository(session)
    expert = await repo.expert(expert_id)
    if expert is None:
        raise ExpertNotFound()
    items = await round_items(session, round_, application_ids=[application.id])
    if not items:
        raise InvalidTransition(application.status)  # not (or no longer) under review
    live = await repo.live_on(round_.id, application.id)
    if any(a.expert_id == expert.user_id for a in live):
        raise AlreadyAssigned()
    conflicts = await active_conflicts(session, round_.id, application.id, expert.user_id)
    if conflicts:
        evidence = await with_evidence(session, conflicts)
        raise AssignmentConflict(
            extra={
                "conflicts": [
                    {"kind": c.kind, "evidence": shown}
                    for c, shown in zip(conflicts, evidence, strict=True)
                ]
            }
        )
    _assignable_now(expert, round_, now)
    used = await repo.live_load(round_.id, expert.user_id)
    if used >= expert.max_load:
        raise OverLoad(extra={"max_load": expert.max_load, "live_assignments": used})
    if round_.options.get("one_per_organization") and expert.org_credit_code:
        others = await repo.experts([a.expert_id for a in live])
        if any(e.org_credit_code == expert.org_credit_code for e in others.values()):
            raise SameOrganization(extra={"org_credit_code": expert.org_credit_code})
    found = match(item_profile(items[0]), expert_profile(expert))
    if found is None and not force_out_of_field:
        raise OutOfField(extra={"subject_codes": list(items[0].subjects)})
    if not credit_answer.eligible:
        raise ExpertNotAssignable(
            Text("专家信用状况不允许评审", "The expert's credit does not allow reviewing"),
            extra={"why": "credit", "credit": credit_answer.model_dump(mode="json")},
        )
    if found is None:
        # The manager's reason goes to the round's history, not here: the expert reads this.
        return Fit(expert, 0, {"score": 0, "out_of_field": True})
    return Fit(expert, found.score, found.explanation)


async def credit_of(credit: CreditClient, expert_id: UUID, now: datetime) -> EligibilityV1:
    """The credit service's answer about `expert_id` reviewing now; ask it holding no lock nor
    transaction (it may be slow). Raises `CreditUnavailable`."""
    return (await eligibility(credit, [expert_id], now))[expert_id]


def _assignable_now(expert: Expert, round_: ReviewRound, now: datetime) -> None:
    if not expert.active:
        raise ExpertNotAssignable(
            Text("专家已不在专家库中活跃", "The expert is not active in the pool"),
            extra={"why": "inactive"},
        )
    start, end = in_shanghai(now).date(), in_shanghai(round_.deadline).date()
    if not available(expert.availability, start, end):
        raise ExpertNotAssignable(
            Text("专家在评审截止前没有空", "The expert is not available until the deadline"),
            extra={"why": "unavailable", "availability": expert.availability},
        )
