"""Score sheets: drafted, submitted, reopened by a manager.

A sheet: (none) -> draft (saved as often as the expert likes; parts may be missing) ->
submitted (complete; weighted total computed; late when after the round's deadline) -> draft
again only when a manager of the program reopens it, with a reason -> submitted ...
Only the expert of an accepted assignment free of any standing conflict writes or reads it as
an expert; managers of the program read it and reopen it; everyone else is told it does not
exist. A closed round takes no writes. Lateness is judged once, at the first submission: a
resubmission after a reopen (the manager's call, not the expert's delay) keeps it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.projects import history
from services.projects.exceptions import InvalidTransition
from services.projects.models import Assignment, Call, ReviewRound, ScoreSheet, events
from services.projects.models.review import (
    AssignmentStatus,
    RoundState,
    SheetStatus,
)
from services.projects.programs.terms import Criterion, ReviewTemplate
from services.projects.review.assignments import events as assignment_events
from services.projects.review.scoring import aggregate
from services.projects.review.scoring.exceptions import SheetIncomplete, SheetInvalid, SheetNotFound
from services.projects.review.scoring.repository import ScoringRepository
from services.projects.review.scoring.schemas import (
    Recommendation,
    SheetRead,
    SheetReopen,
    SheetWrite,
)
from services.projects.scope import check_duties, manages
from shared.auth.roles import Role
from shared.auth.tokens import Principal
from shared.clock import in_shanghai
from shared.contracts.programs import ReviewLateV1
from shared.errors import Text
from shared.events.outbox import publish

MIN_COMMENT = 10  # characters of every criterion's comment (评审意见 are required)


def criteria_of(round_: ReviewRound) -> list[Criterion]:
    return ReviewTemplate.model_validate(round_.review_template).criteria


def misfits(data: SheetWrite, criteria: Sequence[Criterion]) -> list[dict[str, Any]]:
    """What in a draft the template does not allow: unknown criteria, scores out of range."""
    known = {c.code: c for c in criteria}
    problems: list[dict[str, Any]] = []
    for part, codes in (("scores", data.scores), ("comments", data.comments)):
        problems += [
            {"field": f"{part}.{code}", "problem": "unknown_criterion"}
            for code in codes
            if code not in known
        ]
    for code, score in data.scores.items():
        criterion = known.get(code)
        if criterion is not None and not criterion.min <= score <= criterion.max:
            problems.append(
                {
                    "field": f"scores.{code}",
                    "problem": "out_of_range",
                    "min": criterion.min,
                    "max": criterion.max,
                }
            )
    return problems


def missing_parts(sheet: ScoreSheet | None, criteria: Sequence[Criterion]) -> list[str]:
    """What a sheet lacks before it may be submitted, as field paths."""
    scores = sheet.scores if sheet else {}
    comments = sheet.comments if sheet else {}
    missing = [f"scores.{c.code}" for c in criteria if c.code not in scores]
    missing += [
        f"comments.{c.code}"
        for c in criteria
        if len((comments.get(c.code) or "").strip()) < MIN_COMMENT
    ]
    if sheet is None or not sheet.overall_comment.strip():
        missing.append("overall_comment")
    if sheet is None or sheet.recommendation is None:
        missing.append("recommendation")
    return missing


def _is_expert_of(principal: Principal, assignment: Assignment) -> bool:
    return Role.expert in principal.roles and principal.user_id == assignment.expert_id


def _writable(round_: ReviewRound) -> None:
    if round_.state == RoundState.closed:
        raise InvalidTransition(
            RoundState.closed,
            Text("评审轮次已结束，评审表不能再修改", "The round is closed: sheets are final"),
        )


class SheetService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = ScoringRepository(session)

    # --- who may touch a sheet ---------------------------------------------------------------

    async def _expert_assignment(
        self, principal: Principal, assignment_id: UUID, *, lock: bool
    ) -> tuple[Assignment, ReviewRound]:
        """The caller's accepted, conflict-free assignment and its round (locked for writes:
        the round shared, so a close waits for the write; the assignment exclusively)."""
        assignment = await self.repo.assignment(assignment_id)
        if assignment is None or not _is_expert_of(principal, assignment):
            raise SheetNotFound()
        round_ = await self.repo.round(assignment.round_id, lock="share" if lock else None)
        if lock:
            assignment = await self.repo.assignment(assignment_id, lock=True)
        assert round_ is not None  # rounds and assignments are never deleted
        assert assignment is not None
        if assignment.status != AssignmentStatus.accepted or await self.repo.in_conflict(
            assignment
        ):
            raise SheetNotFound()
        return assignment, round_

    async def _managed_assignment(
        self, principal: Principal, assignment_id: UUID, *, lock: bool
    ) -> tuple[Assignment, ReviewRound, Call]:
        """An assignment in a program the caller manages; not their own or their unit's."""
        assignment = await self.repo.assignment(assignment_id)
        if assignment is None:
            raise SheetNotFound()
        round_ = await self.repo.round(assignment.round_id, lock="share" if lock else None)
        assert round_ is not None
        call = await self.repo.call(round_.call_id)
        if not await manages(self.session, principal, call.program_id):
            raise SheetNotFound()
        application = await self.repo.application(assignment.application_id)
        assert application is not None
        await check_duties(self.session, principal, application)
        if lock:
            locked = await self.repo.assignment(assignment_id, lock=True)
            assert locked is not None
            assignment = locked
        return assignment, round_, call

    # --- sheets -----------------------------------------------------------------------------

    async def save_draft(
        self, principal: Principal, assignment_id: UUID, data: SheetWrite, now: datetime
    ) -> SheetRead:
        assignment, round_ = await self._expert_assignment(principal, assignment_id, lock=True)
        _writable(round_)
        problems = misfits(data, criteria_of(round_))
        if problems:
            raise SheetInvalid(extra={"problems": problems})
        sheet = await self.repo.sheet(assignment.id, lock=True)
        if sheet is None:
            sheet = ScoreSheet(assignment_id=assignment.id, status=SheetStatus.draft, late=False)
            self.session.add(sheet)
        elif sheet.status == SheetStatus.submitted:
            raise InvalidTransition(
                SheetStatus.submitted,
                Text(
                    "评审表已提交；须由项目管理人员退回后方可修改",
                    "Submitted: a manager must reopen it",
                ),
            )
        sheet.scores = dict(data.scores)
        sheet.comments = dict(data.comments)
        sheet.overall_comment = data.overall_comment
        sheet.recommendation = data.recommendation
        sheet.saved_at = now
        await self.session.flush()
        return self._read(sheet, assignment, round_)

    async def submit(self, principal: Principal, assignment_id: UUID, now: datetime) -> SheetRead:
        """Idempotent: submitting a submitted sheet again changes nothing."""
        assignment, round_ = await self._expert_assignment(principal, assignment_id, lock=True)
        sheet = await self.repo.sheet(assignment.id, lock=True)
        if sheet is not None and sheet.status == SheetStatus.submitted:
            return self._read(sheet, assignment, round_)
        _writable(round_)
        criteria = criteria_of(round_)
        missing = missing_parts(sheet, criteria)
        if missing:
            raise SheetIncomplete(
                Text(f"尚缺 {len(missing)} 项", f"{len(missing)} part(s) missing"),
                extra={"missing": missing},
            )
        assert sheet is not None  # a sheet never saved misses everything
        # The template could have changed since the draft was saved: check it again.
        problems = misfits(SheetWrite(scores=sheet.scores, comments=sheet.comments), criteria)
        if problems:
            raise SheetInvalid(extra={"problems": problems})
        first = sheet.reopened_at is None
        sheet.weighted_total = aggregate.weighted_total(sheet.scores, criteria)
        sheet.status = SheetStatus.submitted
        sheet.submitted_at = now
        if first:
            sheet.late = now > round_.deadline
        await self.session.flush()
        await history.record(
            self.session,
            entity="round",
            entity_id=round_.id,
            action="sheet.submitted",
            actor=principal.subject,
            from_state=SheetStatus.draft,
            to_state=SheetStatus.submitted,
            details={
                "assignment_id": str(assignment.id),
                "application_id": str(assignment.application_id),
                "late": sheet.late,
                "resubmission": not first,
            },
        )
        await assignment_events.submitted(
            self.session, round_, assignment, late=sheet.late, now=now
        )
        if first and sheet.late:
            await publish_late(self.session, round_, assignment, submitted_at=now)
        return self._read(sheet, assignment, round_)

    async def reopen(
        self, principal: Principal, assignment_id: UUID, data: SheetReopen, now: datetime
    ) -> SheetRead:
        assignment, round_, _ = await self._managed_assignment(principal, assignment_id, lock=True)
        _writable(round_)
        if assignment.status != AssignmentStatus.accepted:
            raise InvalidTransition(assignment.status)
        sheet = await self.repo.sheet(assignment.id, lock=True)
        if sheet is None:
            raise SheetNotFound()
        if sheet.status != SheetStatus.submitted:
            raise InvalidTransition(sheet.status)
        previous = sheet.weighted_total
        sheet.status = SheetStatus.draft
        sheet.weighted_total = None  # a draft has no total; the next submission computes it
        sheet.reopened_by = principal.user_id
        sheet.reopened_at = now
        await self.session.flush()
        await history.record(
            self.session,
            entity="round",
            entity_id=round_.id,
            action="sheet.reopened",
            actor=principal.subject,
            from_state=SheetStatus.submitted,
            to_state=SheetStatus.draft,
            reason=data.reason,
            details={
                "assignment_id": str(assignment.id),
                "application_id": str(assignment.application_id),
                "weighted_total": None if previous is None else str(previous),
            },
        )
        return self._read(sheet, assignment, round_)

    async def read(self, principal: Principal, assignment_id: UUID) -> SheetRead:
        assignment = await self.repo.assignment(assignment_id)
        if assignment is not None and _is_expert_of(principal, assignment):
            assignment, round_ = await self._expert_assignment(principal, assignment_id, lock=False)
        else:
            assignment, round_, _ = await self._managed_assignment(
                principal, assignment_id, lock=False
            )
        sheet = await self.repo.sheet(assignment.id)
        if sheet is None:
            raise SheetNotFound()
        return self._read(sheet, assignment, round_)

    @staticmethod
    def _read(sheet: ScoreSheet, assignment: Assignment, round_: ReviewRound) -> SheetRead:
        return SheetRead(
            assignment_id=assignment.id,
            round_id=round_.id,
            application_id=assignment.application_id,
            status=sheet.status,
            scores=dict(sheet.scores),
            comments=dict(sheet.comments),
            overall_comment=sheet.overall_comment,
            recommendation=cast(Recommendation | None, sheet.recommendation),
            weighted_total=None if sheet.weighted_total is None else float(sheet.weighted_total),
            saved_at=sheet.saved_at,
            submitted_at=sheet.submitted_at,
            late=sheet.late,
            deadline=round_.deadline,
            reopened_by=sheet.reopened_by,
            reopened_at=sheet.reopened_at,
        )


async def publish_late(
    session: AsyncSession,
    round_: ReviewRound,
    assignment: Assignment,
    *,
    submitted_at: datetime | None,
) -> None:
    """`review.late`: the credit service proposes an EXPERT_LATE_REVIEW record.
    `submitted_at` is null for a review still missing when the round closed."""
    repo = ScoringRepository(session)
    call = await repo.call(round_.call_id)
    await publish(
        session,
        events,
        ReviewLateV1(
            expert_id=assignment.expert_id,
            expert_name=await repo.expert_name(assignment.expert_id),
            round_id=round_.id,
            call_id=round_.call_id,
            program_id=call.program_id,
            application_id=assignment.application_id,
            deadline=in_shanghai(round_.deadline),
            submitted_at=in_shanghai(submitted_at) if submitted_at else None,
            managing_agency=await repo.managing_agency(call.program_id),
        ),
    )
