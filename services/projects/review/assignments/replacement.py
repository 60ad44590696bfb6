"""Finding another expert when one declines: the best conflict-free, in-field, available,
credit-eligible expert with load left who was never on the application in this round, chosen
by the same candidates and solver as a dry run (seed 0) for the experts the application now
lacks. When nobody fits (or the credit service cannot be asked), the application stays short
and the round's history says why; the manager can still add someone by hand.

The credit service is asked before the round is locked (`ask`); an expert who came into the
application's field meanwhile was not asked about, and is not proposed this time.

In a round of a call that requires the random draw (随机抽取), nobody is chosen: the
application's reserves take the place, in draw order (earliest draw first), skipping any who
no longer qualifies by the same checks (`from_reserves`)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.projects import history
from services.projects.models import Assignment, ReviewRound
from services.projects.models.review import (
    AssignmentMethod,
    AssignmentStatus,
)
from services.projects.review.assignments import events as assignment_events
from services.projects.review.assignments.candidates import (
    Candidates,
    build,
    eligibility,
    snapshot,
)
from services.projects.review.assignments.proposal import shortages, solve_for
from services.projects.review.assignments.repository import AssignmentRepository
from shared.contracts.credit import EligibilityV1
from shared.credit_client import CreditClient, CreditUnavailable

CREDIT_DOWN = "the credit service is unavailable: no replacement could be checked"
NO_RESERVE = "no reserve of the draw is still free to review it"


@dataclass(frozen=True)
class Replaced:
    needed: int
    assigned: list[Assignment] = field(default_factory=list)
    reason: str | None = None

    @property
    def short_by(self) -> int:
        return self.needed - len(self.assigned)


async def ask(
    credit: CreditClient, experts: Collection[UUID], now: datetime
) -> dict[UUID, EligibilityV1] | None:
    """The credit service's answers about `experts` (`candidates.to_ask` for the application),
    None when it cannot be asked; call it holding no lock nor transaction."""
    try:
        return await eligibility(credit, experts, now)
    except CreditUnavailable:
        return None


async def replace(
    session: AsyncSession,
    round_: ReviewRound,
    application_id: UUID,
    answers: Mapping[UUID, EligibilityV1] | None,
    now: datetime,
) -> Replaced:
    """Invite the experts `application_id` now lacks (the round is locked by the caller), with
    the credit service's `answers` asked before (`ask`; None: it could not be asked)."""
    repo = AssignmentRepository(session)
    snap = await snapshot(session, round_, now, application_ids=[application_id])
    if not snap.items:
        return Replaced(0)  # no longer under review: nobody is needed
    needed = max(round_.experts_per_item - len(snap.live_on().get(application_id, set())), 0)
    if needed == 0:
        return Replaced(0)
    if answers is None:
        return Replaced(needed, reason=CREDIT_DOWN)
    exclude = {application_id: await repo.ever_on(round_.id, application_id)}
    candidates = build(snap, answers, exclude=exclude)
    if await repo.method_of(round_.call_id) == AssignmentMethod.random_draw:
        return await from_reserves(session, round_, application_id, candidates, needed, now)
    solution = await solve_for(candidates, one_per_group=snap.one_per_organization, seed=0)
    chosen = sorted(solution.assigned, key=lambda p: (p.item, p.expert))
    assigned = [
        Assignment(
            round_id=round_.id,
            application_id=application_id,
            expert_id=UUID(p.expert),
            status=AssignmentStatus.invited,
            match_score=p.score,
            explanation=candidates.explain(p.item, p.expert),
            source="replacement",
            # Nobody chose them by hand: on behalf of whoever opened the round.
            assigned_by=round_.created_by,
            assigned_at=now,
        )
        for p in chosen
    ]
    await repo.add(assigned)
    await assignment_events.assigned(session, round_, assigned)
    short = shortages(candidates, chosen)
    if assigned:
        await history.record(
            session,
            entity="application",
            entity_id=application_id,
            application_id=application_id,
            action="experts_assigned",
            actor=f"round:{round_.id}",
            details={"count": len(assigned), "source": "replacement"},
        )
    return Replaced(needed, assigned, short[0]["reason"] if short else None)


async def from_reserves(
    session: AsyncSession,
    round_: ReviewRound,
    application_id: UUID,
    candidates: Candidates,
    needed: int,
    now: datetime,
) -> Replaced:
    """The application's reserves, in draw order, who are still candidates for it (`build`:
    never on it before, no conflict, load left, credit, organization)."""
    repo = AssignmentRepository(session)
    problem = candidates.problem
    allowed = {problem.experts[e] for e in problem.pair_expert.tolist()}
    one_per_organization = bool(round_.options.get("one_per_organization"))
    chosen: list[tuple[UUID, str]] = []
    orgs: set[str] = set()
    for record in await repo.draws_of(round_.id):
        for drawn in record.applications:
            if drawn["application_id"] != str(application_id):
                continue
            for expert in drawn["reserves"]:
                if len(chosen) == needed or expert not in allowed:
                    continue
                org = candidates.experts[expert].org_credit_code
                if one_per_organization and org and org in orgs:
                    continue
                chosen.append((record.id, expert))
                if org:
                    orgs.add(org)
    assigned = []
    for draw_id, expert in chosen:
        why = candidates.explain(str(application_id), expert)
        assigned.append(
            Assignment(
                round_id=round_.id,
                application_id=application_id,
                expert_id=UUID(expert),
                status=AssignmentStatus.invited,
                match_score=why["score"],
                explanation=why,
                source=f"reserve:{draw_id}",
                assigned_by=round_.created_by,
                assigned_at=now,
            )
        )
    await repo.add(assigned)
    await assignment_events.assigned(session, round_, assigned)
    if assigned:
        await history.record(
            session,
            entity="application",
            entity_id=application_id,
            application_id=application_id,
            action="experts_assigned",
            actor=f"round:{round_.id}",
            details={"count": len(assigned), "source": "reserve"},
        )
    return Replaced(needed, assigned, NO_RESERVE if len(assigned) < needed else None)
