"""A program manager's own changes to a round's assignments: add, remove, swap.

Each is checked like the automatic assignment (conflicts with their evidence, load, field,
availability, credit, one expert per organization when the round asks for it), and by
separation of duties on the application. Allowed while the round is assigning or reviewing;
a swap is a removal and an addition in one transaction, all or nothing. The credit service is
asked about the expert being added before the round is locked, holding no transaction; the
answer, as of the request, stays true whatever happens to the round meanwhile.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.projects import history
from services.projects.exceptions import ApplicationNotFound, InvalidTransition
from services.projects.models import Application, Assignment, ReviewRound
from services.projects.models.review import (
    LIVE_ASSIGNMENTS,
    OPEN_ROUND_STATES,
    AssignmentMethod,
    AssignmentStatus,
)
from services.projects.review.assignments import events as assignment_events
from services.projects.review.assignments.access import managed_round, manager_id, require_method
from services.projects.review.assignments.checks import check_assignable, credit_of
from services.projects.review.assignments.exceptions import AssignmentNotFound, ExpertNotFound
from services.projects.review.assignments.repository import AssignmentFilter, AssignmentRepository
from services.projects.review.assignments.schemas import ManualAdd, Swap
from services.projects.review.rounds.exceptions import RoundNotFound
from services.projects.scope import check_duties
from shared.auth.tokens import Principal
from shared.contracts.credit import EligibilityV1
from shared.credit_client import CreditClient


class AssignmentService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = AssignmentRepository(session)

    async def of_round(
        self,
        principal: Principal,
        round_id: UUID,
        where: AssignmentFilter,
        *,
        limit: int,
        offset: int,
    ) -> Sequence[tuple[Assignment, str]]:
        round_, _ = await managed_round(self.session, principal, round_id)
        return await self.repo.of_round(round_.id, where, limit=limit, offset=offset)

    async def add(
        self,
        principal: Principal,
        round_id: UUID,
        data: ManualAdd,
        credit: CreditClient,
        now: datetime,
        sessions: async_sessionmaker[AsyncSession],
    ) -> tuple[Assignment, str]:
        async with sessions() as reading:
            earlier = AssignmentService(reading)
            round_, _ = await managed_round(reading, principal, round_id)
            _open(round_)
            # Experts chosen by hand would undo a draw the call's terms require (随机抽取).
            await require_method(reading, round_, AssignmentMethod.optimal)
            await earlier._application(principal, round_, data.application_id)
            await earlier._expert(data.expert_id)
        answer = await credit_of(credit, data.expert_id, now)
        round_, _ = await managed_round(self.session, principal, round_id, lock=True)
        _open(round_)
        application = await self._application(principal, round_, data.application_id)
        added, name = await self._add(
            principal,
            round_,
            application,
            data.expert_id,
            data.reason,
            data.force_out_of_field,
            answer,
            now,
        )
        await self._count(principal, application.id, "experts_assigned")
        return added, name

    async def remove(
        self, principal: Principal, assignment_id: UUID, reason: str, now: datetime
    ) -> tuple[Assignment, str]:
        assignment, round_, application = await self._live(principal, assignment_id)
        await self._remove(principal, round_, assignment, reason, now)
        await self._count(principal, application.id, "experts_removed")
        return assignment, await self._name(assignment.expert_id)

    async def swap(
        self,
        principal: Principal,
        assignment_id: UUID,
        data: Swap,
        credit: CreditClient,
        now: datetime,
        sessions: async_sessionmaker[AsyncSession],
    ) -> tuple[tuple[Assignment, str], tuple[Assignment, str]]:
        async with sessions() as reading:
            earlier = AssignmentService(reading)
            _, round_, _ = await earlier._live(principal, assignment_id, lock=False)
            await require_method(reading, round_, AssignmentMethod.optimal)
            await earlier._expert(data.expert_id)
        answer = await credit_of(credit, data.expert_id, now)
        assignment, round_, application = await self._live(principal, assignment_id)
        await self._remove(principal, round_, assignment, data.reason, now)
        added = await self._add(
            principal,
            round_,
            application,
            data.expert_id,
            data.reason,
            data.force_out_of_field,
            answer,
            now,
        )
        await self._count(principal, application.id, "expert_replaced")
        return (assignment, await self._name(assignment.expert_id)), added

    # --- steps -----------------------------------------------------------------------------

    async def _application(
        self, principal: Principal, round_: ReviewRound, application_id: UUID
    ) -> Application:
        application = await self.repo.application(application_id)
        if application is None or application.call_id != round_.call_id:
            raise ApplicationNotFound()
        await check_duties(self.session, principal, application)
        return application

    async def _live(
        self, principal: Principal, assignment_id: UUID, *, lock: bool = True
    ) -> tuple[Assignment, ReviewRound, Application]:
        """The live assignment, locked after its round (the one lock order of this package)
        unless told not to lock."""
        found = await self.repo.assignment(assignment_id)
        if found is None:
            raise AssignmentNotFound()
        try:
            round_, _ = await managed_round(self.session, principal, found.round_id, lock=lock)
        except RoundNotFound as exc:
            raise AssignmentNotFound() from exc
        _open(round_)
        assignment = await self.repo.assignment(assignment_id, lock=True) if lock else found
        assert assignment is not None
        application = await self._application(principal, round_, assignment.application_id)
        if assignment.status not in LIVE_ASSIGNMENTS:
            raise InvalidTransition(assignment.status)
        return assignment, round_, application

    async def _add(
        self,
        principal: Principal,
        round_: ReviewRound,
        application: Application,
        expert_id: UUID,
        reason: str,
        force_out_of_field: bool,
        credit_answer: EligibilityV1,
        now: datetime,
    ) -> tuple[Assignment, str]:
        fit = await check_assignable(
            self.session,
            round_,
            application,
            expert_id,
            credit_answer,
            now,
            force_out_of_field=force_out_of_field,
        )
        assignment = Assignment(
            round_id=round_.id,
            application_id=application.id,
            expert_id=fit.expert.user_id,
            status=AssignmentStatus.invited,
            match_score=fit.score,
            explanation=fit.explanation,
            source="manual",
            assigned_by=manager_id(principal),
            assigned_at=now,
        )
        await self.repo.add([assignment])
        await assignment_events.assigned(self.session, round_, [assignment])
        await history.record(
            self.session,
            entity="round",
            entity_id=round_.id,
            action="expert_added",
            actor=principal.subject,
            reason=reason,
            details={
                "assignment_id": str(assignment.id),
                "application_id": str(application.id),
                "expert_id": str(fit.expert.user_id),
                "out_of_field": fit.explanation.get("out_of_field", False),
            },
        )
        return assignment, fit.expert.name

    async def _remove(
        self,
        principal: Principal,
        round_: ReviewRound,
        assignment: Assignment,
        reason: str,
        now: datetime,
    ) -> None:
        before = assignment.status
        assignment.status = AssignmentStatus.removed
        assignment.removed_by = manager_id(principal)
        assignment.removed_reason = reason
        await self.session.flush()
        # No application id: these rows name the expert, and the applicant reads that story.
        await history.record(
            self.session,
            entity="assignment",
            entity_id=assignment.id,
            action="removed",
            actor=principal.subject,
            from_state=before,
            to_state=AssignmentStatus.removed,
            reason=reason,
            details={
                "round_id": str(round_.id),
                "application_id": str(assignment.application_id),
                "expert_id": str(assignment.expert_id),
                "at": now.isoformat(),
            },
        )
        await assignment_events.unassigned(self.session, round_, assignment, reason, now)

    async def _count(self, principal: Principal, application_id: UUID, action: str) -> None:
        """The application's own story says that its experts changed, never who they are (nor
        the manager's words, which might name them)."""
        await history.record(
            self.session,
            entity="application",
            entity_id=application_id,
            application_id=application_id,
            action=action,
            actor=principal.subject,
            details={"count": 1, "source": "manual"},
        )

    async def _expert(self, expert_id: UUID) -> None:
        """Refused (404) before the credit service is asked about someone not in the pool."""
        if await self.repo.expert(expert_id) is None:
            raise ExpertNotFound()

    async def _name(self, expert_id: UUID) -> str:
        expert = await self.repo.expert(expert_id)
        return expert.name if expert else ""


def _open(round_: ReviewRound) -> None:
    if round_.state not in OPEN_ROUND_STATES:
        raise InvalidTransition(round_.state)
