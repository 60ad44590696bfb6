"""The standing project reserve (项目储备库) of a program, across its calls and years.

A reserved application stays reserved after its call: the program's managers list the reserve
and either fund an entry later, in a later call's decision round of the same program
(`DecisionService.decide` takes it there) or by a decision of the program's own in a later
fiscal year, within that year's envelope as any approval; or they drop it with a reason. An
entry the program's term (`Program.reserve_months`, default 24) has passed expires out of the
reserve (`expiry.py`). Leaving the reserve unfunded is a rejection with the reason given; every
step is in the application's history.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.projects import history
from services.projects.applications.events import ApplicationEvents
from services.projects.decisions.exceptions import DecisionInvalid
from services.projects.decisions.schemas import DecisionItem, EnvelopeRead
from services.projects.decisions.service import DecisionService, Round
from services.projects.exceptions import ProgramNotFound
from services.projects.models import Application, Call, Program, Project
from services.projects.models.submissions import ApplicationStatus
from services.projects.programs.repository import ProgramRepository
from services.projects.reserve.exceptions import NotInReserve
from services.projects.reserve.repository import ReserveRepository
from services.projects.reserve.schemas import (
    ReserveDrop,
    ReserveEntryRead,
    ReserveFunding,
    ReserveTermSet,
)
from services.projects.review.panels.service import decision_ranking
from services.projects.review.scoring.results import CallRanking
from services.projects.scope import check_duties_of, require_manager_of
from shared.auth.tokens import Principal
from shared.clock import in_shanghai
from shared.errors import Text


class ReserveService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = ReserveRepository(session)
        self.programs = ProgramRepository(session)
        self.decisions = DecisionService(session)

    async def _managed(
        self, principal: Principal, program_id: UUID, *, lock: bool = False
    ) -> Program:
        """The program, for its managers (or an admin): another's manager is told 403."""
        program = await self.programs.get(program_id, lock=lock)
        if program is None:
            raise ProgramNotFound()
        await require_manager_of(self.session, principal, program_id)
        return program

    async def of_program(
        self, principal: Principal, program_id: UUID, *, offset: int, limit: int
    ) -> tuple[Program, list[ReserveEntryRead]]:
        program = await self._managed(principal, program_id)
        rows = await self.repo.of_program(program_id, offset=offset, limit=limit)
        rankings: dict[UUID, CallRanking | None] = {}
        for call_id in sorted({call.id for _, call, _ in rows}):
            rankings[call_id] = await decision_ranking(self.session, call_id)
        return program, [
            _entry(application, call, expires_at, rankings[call.id])
            for application, call, expires_at in rows
        ]

    async def fund(
        self,
        principal: Principal,
        program_id: UUID,
        application_id: UUID,
        data: ReserveFunding,
        now: datetime,
    ) -> tuple[Application, Project, EnvelopeRead | None]:
        """Approves a reserve entry by the program's own decision in a later fiscal year:
        the checks and the envelope of a call's round, the project numbered in that year."""
        program = await self._managed(principal, program_id)
        application, call = await self._entry(program_id, application_id)
        if data.year <= call.year:
            raise DecisionInvalid(
                Text(
                    f"{call.year} 年度的储备项目请在该指南的立项决定中批准；"
                    f"本计划自行批准只用于以后年度",
                    f"an entry is funded from its call's year ({call.year}) by that call's "
                    "decisions; the program's own decision is for a later year",
                ),
                extra={"call_year": call.year, "year": data.year},
            )
        this_year = in_shanghai(now).year
        if data.year < this_year:
            raise DecisionInvalid(
                Text(
                    f"不能在 {this_year} 年动用已过去的 {data.year} 年度资金",
                    f"{data.year} is over: it is {this_year}",
                ),
                extra={"current_year": this_year, "year": data.year},
            )
        item = DecisionItem(
            application_id=application.id,
            decision="approve",
            approved_budget_fen=data.approved_budget_fen,
            reason=data.reason,
        )
        checked = await self.decisions.check_items(principal, [(item, application, call)])
        await self.decisions.check_panels(checked, None)
        await self.decisions.within_envelope(program, data.year, checked)
        round_ = Round(year=data.year, notice_days=call.notice_days, call_id=None)
        project = await self.decisions.apply(principal, program, checked[0], now, round_)
        assert project is not None
        return application, project, await self.decisions.envelope(program.id, data.year)

    async def drop(
        self,
        principal: Principal,
        program_id: UUID,
        application_id: UUID,
        data: ReserveDrop,
        now: datetime,
    ) -> Application:
        await self._managed(principal, program_id)
        application, call = await self._entry(program_id, application_id)
        await check_duties_of(self.session, principal, [application])
        await leave_reserve(
            self.session,
            application,
            call,
            now=now,
            action="reserve.dropped",
            actor=principal.subject,
            actor_id=principal.user_id,
            reason=data.reason,
        )
        return application

    async def set_term(
        self, principal: Principal, program_id: UUID, data: ReserveTermSet
    ) -> Program:
        program = await self._managed(principal, program_id, lock=True)
        before = program.reserve_months
        program.reserve_months = data.months
        await self.session.flush()
        await history.record(
            self.session,
            entity="program",
            entity_id=program.id,
            action="reserve_term.set",
            actor=principal.subject,
            reason=data.reason,
            details={"reserve_months": data.months, "previous_months": before},
        )
        return program

    async def _entry(self, program_id: UUID, application_id: UUID) -> tuple[Application, Call]:
        found = await self.repo.entry_for_update(program_id, application_id)
        if found is None:
            raise NotInReserve(extra={"application_id": str(application_id)})
        return found


async def leave_reserve(
    session: AsyncSession,
    application: Application,
    call: Call,
    *,
    now: datetime,
    action: str,
    actor: str,
    actor_id: UUID | None,
    reason: str,
    details: dict[str, object] | None = None,
) -> None:
    """A reserve entry leaves unfunded (dropped, or expired): rejected with the reason, in the
    history, and announced to the applicant as any decision."""
    reserved_at = application.decided_at
    application.status = ApplicationStatus.rejected
    application.decision_reason = reason
    application.approved_budget_fen = None
    application.decided_by = actor_id
    application.decided_at = now
    application.updated_at = now
    await session.flush()
    await history.record(
        session,
        entity="application",
        entity_id=application.id,
        application_id=application.id,
        action=action,
        actor=actor,
        from_state=ApplicationStatus.reserved,
        to_state=ApplicationStatus.rejected,
        reason=reason,
        details={"reserved_at": reserved_at.isoformat() if reserved_at else None} | (details or {}),
    )
    await ApplicationEvents(session).decided(application, call, None)


def _entry(
    application: Application, call: Call, expires_at: datetime, ranking: CallRanking | None
) -> ReserveEntryRead:
    assert application.decided_at is not None  # set when it was reserved
    rank, score = (ranking.places.get(application.id) if ranking else None) or (None, None)
    return ReserveEntryRead(
        application_id=application.id,
        title=application.title,
        applicant_id=application.applicant_id,
        org_id=application.org_id,
        call_id=call.id,
        call_title=call.title,
        call_year=call.year,
        requested_budget_fen=application.requested_budget_fen,
        reserved_at=application.decided_at,
        reserved_by=application.decided_by,
        reserve_reason=application.decision_reason,
        expires_at=expires_at,
        review_rank=rank,
        review_score=score,
        review_ranked_by=ranking.ranked_by if ranking else None,
    )
