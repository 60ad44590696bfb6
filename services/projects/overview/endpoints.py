"""The managers' overview: the calls they manage, and one call's dashboard."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from services.projects.applications.schemas import RuleResult
from services.projects.auth import Manager, NowDep
from services.projects.calls.schemas import CallDetail
from services.projects.calls.service import CallService
from services.projects.overview.schemas import (
    CallOverview,
    ExpertProgress,
    ManagedCall,
    PendingFormalCheck,
    RoundProgress,
)
from services.projects.overview.service import OverviewService
from services.projects.review.rounds.schemas import KindCount
from shared.db import SessionDep
from shared.pagination import Page, PageDep, next_cursor, start_of

router = APIRouter(prefix="/v1", tags=["overview"])


@router.get(
    "/me/managed-calls",
    response_model=Page[ManagedCall],
    summary="The calls of the programs I manage, newest first, drafts included, with their "
    "applications counted by status",
)
async def managed_calls(
    session: SessionDep, manager: Manager, page: PageDep, now: NowDep
) -> Page[ManagedCall]:
    offset = start_of(page)
    calls, counts = await OverviewService(session).managed_calls(
        manager, limit=page.limit + 1, offset=offset
    )
    shown = calls[: page.limit]
    details = await CallService(session).read(shown, now, CallDetail)
    return Page[ManagedCall](
        items=[
            ManagedCall(**detail.model_dump(), applications=counts.get(detail.id, {}))
            for detail in details
        ],
        next_cursor=next_cursor(offset, page.limit, len(calls)),
    )


@router.get(
    "/calls/{call_id}/overview",
    response_model=CallOverview,
    summary="A call at a glance (managers of its program): applications by status, formal "
    "checks awaiting a decision, review progress per expert, conflicts",
)
async def call_overview(
    call_id: UUID, session: SessionDep, manager: Manager, now: NowDep
) -> CallOverview:
    found = await OverviewService(session).of_call(manager, call_id, now)
    return CallOverview(
        call=await CallService(session).read_one(found.call, now, CallDetail),
        applications=found.counts,
        formal_checks_pending=[
            PendingFormalCheck(
                application_id=row.application.id,
                title=row.application.title,
                applicant_id=row.application.applicant_id,
                applicant_name=row.applicant_name,
                org_id=row.application.org_id,
                org_name=row.org_name,
                requested_budget_fen=row.application.requested_budget_fen,
                submitted_at=row.application.submitted_at,
                check_id=row.check.id,
                automatic_passed=row.check.automatic_passed,
                failed_rules=[
                    RuleResult.model_validate(r) for r in row.check.results if not r["passed"]
                ],
            )
            for row in found.pending
        ],
        envelope=found.envelope,
        rounds=[
            RoundProgress(
                id=r.id,
                kind=r.kind,
                state=r.state,
                deadline=r.deadline,
                experts_per_item=r.experts_per_item,
                closed_at=r.closed_at,
                experts=[
                    ExpertProgress(
                        expert_id=e.expert_id,
                        expert_name=e.expert_name,
                        assigned=e.assigned,
                        accepted=e.accepted,
                        declined=e.declined,
                        submitted=e.submitted,
                        overdue=e.overdue,
                    )
                    for e in found.experts[r.id]
                ],
                conflicts={
                    kind: KindCount(total=total, overridden=overridden)
                    for kind, (total, overridden) in found.conflicts.get(r.id, {}).items()
                },
            )
            for r in found.rounds
        ],
    )
