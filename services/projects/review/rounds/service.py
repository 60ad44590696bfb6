"""Review rounds of a call, and their conflicts of interest.

A proposal round opens on a closed call with applications that passed the formal check (one
per call) in state `assigning`. An acceptance round (验收) opens on a call with projects in
progress whose final report awaits review and was not put to an earlier acceptance round; it
reviews those (fixed at opening), and another may follow once it is closed. Its conflicts are
stored with their evidence by a refresh; a program manager of the call's program may
override one with a written reason, unless they are themselves conflicted with the
application (separation of duties). Opening, refreshes and overrides are in the history.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.projects import history
from services.projects.exceptions import CallNotFound, InvalidTransition
from services.projects.models import Call, Conflict, ReviewRound
from services.projects.models.calls import CallState
from services.projects.models.review import (
    RoundState,
)
from services.projects.models.submissions import UNDER_REVIEW, ApplicationStatus
from services.projects.review.rounds.acceptance import (
    ACCEPTANCE_TEMPLATE,
    FinalReportRef,
    final_reports,
    report_ids_reviewed,
    with_final_reports,
)
from services.projects.review.rounds.conflicts import find_conflicts, refresh, with_evidence
from services.projects.review.rounds.exceptions import (
    CallStillOpen,
    ConflictNotFound,
    ConflictOverridden,
    DeadlineInvalid,
    NoApplicationsToReview,
    NoProjectsToAccept,
    RoundExists,
    RoundNotFound,
)
from services.projects.review.rounds.repository import ConflictFilter, RoundRepository
from services.projects.review.rounds.schemas import (
    ConflictOverride,
    ConflictRead,
    KindCount,
    RefreshRead,
    RoundCreate,
    RoundRead,
)
from services.projects.scope import check_duties, require_manager_of
from shared.auth.tokens import Principal


def _actor(principal: Principal) -> str:
    return str(principal.user_id) if principal.user_id else principal.subject


def conflict_read(
    row: Conflict, expert_name: str, application_title: str, evidence: dict[str, Any]
) -> ConflictRead:
    return ConflictRead(
        round_id=row.round_id,
        application_id=row.application_id,
        application_title=application_title,
        expert_id=row.expert_id,
        expert_name=expert_name,
        kind=row.kind,
        evidence=evidence,
        found_at=row.found_at,
        overridden=row.overridden_at is not None,
        overridden_by=row.overridden_by,
        overridden_at=row.overridden_at,
        override_reason=row.override_reason,
    )


class RoundService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = RoundRepository(session)

    async def _managed_call(self, principal: Principal, call_id: UUID) -> Call:
        call = await self.repo.call(call_id)
        if call is None:
            raise CallNotFound()
        await require_manager_of(self.session, principal, call.program_id)
        return call

    async def _read(self, round_: ReviewRound, call: Call) -> RoundRead:
        if round_.kind == "acceptance":
            applications = len(final_reports(round_))
        else:
            applications = await self.repo.count_applications(round_.call_id, UNDER_REVIEW)
        return RoundRead(
            id=round_.id,
            call_id=round_.call_id,
            program_id=call.program_id,
            kind=round_.kind,
            state=round_.state,
            experts_per_item=round_.experts_per_item,
            review_template=round_.review_template,
            deadline=round_.deadline,
            options=round_.options,
            co_applicant_years=round_.co_applicant_years,
            applications=applications,
            created_by=round_.created_by,
            created_at=round_.created_at,
            closed_at=round_.closed_at,
        )

    async def managed_round(
        self, principal: Principal, round_id: UUID, *, lock: bool = False
    ) -> tuple[ReviewRound, Call]:
        """The round and its call, if the caller manages the call's program (403 if not)."""
        found = await (self.repo.round_for_update(round_id) if lock else self.repo.round(round_id))
        if found is None:
            raise RoundNotFound()
        call = await self.repo.call(found.call_id)
        assert call is not None  # a round's call is never deleted
        await require_manager_of(self.session, principal, call.program_id)
        return found, call

    # --- rounds -------------------------------------------------------------------------

    async def open(
        self, manager: Principal, call_id: UUID, data: RoundCreate, now: datetime
    ) -> RoundRead:
        call = await self._managed_call(manager, call_id)
        if data.deadline <= now:
            raise DeadlineInvalid()
        if data.kind == "acceptance":
            template, options = await self._acceptance_terms(call, data)
        else:
            await self._check_proposal(call, now)
            template, options = call.review_template, data.options.model_dump()
        round_ = ReviewRound(
            call_id=call.id,
            kind=data.kind,
            state=RoundState.assigning,
            experts_per_item=data.experts_per_item or call.experts_per_application,
            review_template=template,
            deadline=data.deadline,
            options=options,
            co_applicant_years=data.co_applicant_years,
            created_by=manager.user_id,
            created_at=now,
        )
        await self.repo.add_round(round_)
        await history.record(
            self.session,
            entity="round",
            entity_id=round_.id,
            action="opened",
            actor=_actor(manager),
            to_state=round_.state,
            details={
                "call_id": str(call.id),
                "kind": round_.kind,
                "experts_per_item": round_.experts_per_item,
                "deadline": data.deadline.isoformat(),
                "options": round_.options,
                "co_applicant_years": round_.co_applicant_years,
            },
        )
        return await self._read(round_, call)

    async def _check_proposal(self, call: Call, now: datetime) -> None:
        if call.state != CallState.published:
            raise InvalidTransition(call.state)
        if not call.has_closed(now):
            raise CallStillOpen()
        if await self.repo.round_of_kind(call.id, "proposal") is not None:
            raise RoundExists()
        if await self.repo.count_applications(call.id, (ApplicationStatus.in_review,)) == 0:
            raise NoApplicationsToReview()

    async def _acceptance_terms(
        self, call: Call, data: RoundCreate
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The template and options of a new acceptance round, with the projects it reviews:
        final reports awaiting review that no earlier acceptance round of the call took."""
        if await self.repo.round_of_kind(call.id, "acceptance", open_only=True) is not None:
            raise RoundExists()
        taken = report_ids_reviewed(await self.repo.rounds_of_kind(call.id, "acceptance"))
        awaiting = [
            FinalReportRef(application_id=a, project_id=p, report_id=r)
            for a, p, r in await self.repo.final_reports_awaiting(call.id)
            if r not in taken
        ]
        if not awaiting:
            raise NoProjectsToAccept()
        template = (
            data.review_template.model_dump(mode="json")
            if data.review_template is not None
            else copy.deepcopy(ACCEPTANCE_TEMPLATE)
        )
        return template, with_final_reports(data.options.model_dump(), awaiting)

    async def get(self, principal: Principal, round_id: UUID) -> RoundRead:
        round_, call = await self.managed_round(principal, round_id)
        return await self._read(round_, call)

    async def of_call(
        self,
        principal: Principal,
        call_id: UUID,
        *,
        kind: str | None,
        state: RoundState | None,
        offset: int,
        limit: int,
    ) -> list[RoundRead]:
        call = await self._managed_call(principal, call_id)
        rounds = await self.repo.rounds_of_call(
            call.id, kind=kind, state=state, offset=offset, limit=limit
        )
        return [await self._read(r, call) for r in rounds]

    # --- conflicts ----------------------------------------------------------------------

    async def refresh_conflicts(
        self, manager: Principal, round_id: UUID, now: datetime
    ) -> RefreshRead:
        round_, _ = await self.managed_round(manager, round_id, lock=True)
        if round_.state == RoundState.closed:
            raise InvalidTransition(round_.state)
        result = await refresh(self.session, round_, now)
        counts = {kind: KindCount(**c) for kind, c in result.counts.items()}
        await history.record(
            self.session,
            entity="round",
            entity_id=round_.id,
            action="conflicts.refreshed",
            actor=_actor(manager),
            details={
                "added": result.added,
                "updated": result.updated,
                "removed": result.removed,
                "counts": {kind: dict(c) for kind, c in result.counts.items()},
            },
        )
        return RefreshRead(
            added=result.added,
            updated=result.updated,
            removed=result.removed,
            total=result.total,
            counts=counts,
        )

    async def conflicts(
        self, principal: Principal, round_id: UUID, where: ConflictFilter, limit: int, offset: int
    ) -> list[ConflictRead]:
        round_, _ = await self.managed_round(principal, round_id)
        rows = await self.repo.conflicts_page(round_.id, where, limit, offset)
        evidence = await with_evidence(self.session, [row for row, _, _ in rows])
        return [
            conflict_read(row, name, title, shown)
            for (row, name, title), shown in zip(rows, evidence, strict=True)
        ]

    async def override(
        self, manager: Principal, round_id: UUID, data: ConflictOverride, now: datetime
    ) -> ConflictRead:
        round_, _ = await self.managed_round(manager, round_id, lock=True)
        if round_.state == RoundState.closed:
            raise InvalidTransition(round_.state)
        application = await self.repo.application(data.application_id)
        if application is None or application.call_id != round_.call_id:
            raise ConflictNotFound()
        await check_duties(self.session, manager, application)
        row = await self.repo.conflict_for_update(
            round_.id, data.application_id, data.expert_id, data.kind
        )
        if row is None:
            row = await self._found_now(round_, data, now)
        if row.overridden_at is not None:
            raise ConflictOverridden()
        row.overridden_by = manager.user_id
        row.overridden_at = now
        row.override_reason = data.reason
        await self.session.flush()
        await history.record(
            self.session,
            entity="round",
            entity_id=round_.id,
            application_id=application.id,
            action="conflict.overridden",
            actor=_actor(manager),
            from_state="conflicted",
            to_state="overridden",
            reason=data.reason,
            details={
                "expert_id": str(data.expert_id),
                "kind": data.kind,
                "evidence": (await with_evidence(self.session, [row]))[0],
            },
        )
        rows = await self.repo.conflicts_page(
            round_.id,
            ConflictFilter(data.application_id, data.expert_id, data.kind),
            limit=1,
            offset=0,
        )
        stored, name, title = rows[0]
        return conflict_read(stored, name, title, (await with_evidence(self.session, [stored]))[0])

    async def _found_now(
        self, round_: ReviewRound, data: ConflictOverride, now: datetime
    ) -> Conflict:
        """A conflict not refreshed into the table yet (e.g. declared since): stored now, so
        that its override is a record like any other."""
        found = [
            c
            for c in await find_conflicts(
                self.session,
                round_,
                application_ids=[data.application_id],
                expert_ids=[data.expert_id],
            )
            if c.kind == data.kind
        ]
        if not found:
            raise ConflictNotFound()
        row = Conflict(
            round_id=round_.id,
            application_id=data.application_id,
            expert_id=data.expert_id,
            kind=data.kind,
            evidence=found[0].evidence,
            found_at=now,
        )
        await self.repo.add_conflicts([row])
        return row
