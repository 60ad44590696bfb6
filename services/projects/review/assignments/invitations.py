"""An expert's side of assignments: what they were asked to review, accepting, declining.

An expert sees only their own live (invited or accepted) assignments, with the application as
submitted (and, in an acceptance round, the project's final report next to what its task book
promised), and only while no conflict of interest (not overridden) stands between them and
it: a conflict found since hides the assignment (404), as does anyone else's assignment.
Nothing they receive names another expert. Declining may declare a conflict (stored as the
expert's declaration about the applicant, and as the round's conflict) and triggers a
replacement; the decliner learns whether the application found another expert, never who.
The credit service is asked about the possible replacements before the round is locked.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.projects import history
from services.projects.exceptions import InvalidTransition
from services.projects.models import (
    Application,
    Assignment,
    Conflict,
    DeclaredConflict,
    ReviewRound,
    ScoreSheet,
)
from services.projects.models.review import (
    LIVE_ASSIGNMENTS,
    AssignmentStatus,
    RoundState,
    SheetStatus,
)
from services.projects.models.submissions import ApplicationStatus
from services.projects.review.assignments import events as assignment_events
from services.projects.review.assignments.candidates import to_ask
from services.projects.review.assignments.exceptions import AssignmentNotFound
from services.projects.review.assignments.replacement import Replaced, ask, replace
from services.projects.review.assignments.repository import AssignmentRepository
from services.projects.review.assignments.schemas import (
    Decline,
    IndicatorResult,
    ReviewedFinalReport,
)
from services.projects.review.rounds.acceptance import achieved_vs_promised, final_reports
from services.projects.review.rounds.conflicts import blocked_pairs, find_conflicts
from shared.auth.tokens import Principal
from shared.credit_client import CreditClient

# What the applicant asked to keep from reviewers: whom they want to avoid.
HIDDEN_FROM_EXPERTS = ("avoid",)


@dataclass(frozen=True)
class Invitation:
    """An expert's assignment with what they review."""

    assignment: Assignment
    round: ReviewRound
    application: Application
    content: dict[str, Any]
    final_report: ReviewedFinalReport | None = None
    call_title: str = ""
    sheet: ScoreSheet | None = None
    organization_name: str | None = None
    team_names: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Declined:
    """An assignment the expert declined, with the title of what they were asked to review."""

    assignment: Assignment
    round: ReviewRound
    call_title: str
    application_title: str
    conflict_declared: bool


class InvitationService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = AssignmentRepository(session)

    async def mine(
        self, principal: Principal, *, limit: int, offset: int
    ) -> tuple[list[Invitation], bool]:
        """A page of the expert's live assignments without those a conflict now bars (a page
        may so hold fewer than `limit`), and whether another page follows."""
        rows = await self.repo.live_of_expert(_me(principal), limit=limit + 1, offset=offset)
        return await self._shown(principal, rows[:limit]), len(rows) > limit

    async def declined(
        self, principal: Principal, *, limit: int, offset: int
    ) -> tuple[list[Declined], bool]:
        """A page of the assignments the expert declined, latest first."""
        rows = await self.repo.declined_by_expert(_me(principal), limit=limit + 1, offset=offset)
        shown = rows[:limit]
        contents = await self.repo.submitted_contents([a for _, _, a, _ in shown])
        calls = await self.repo.call_titles({r.call_id for _, r, _, _ in shown})
        return [
            Declined(
                assignment,
                round_,
                calls[round_.call_id],
                str(contents.get(application.id, {}).get("title", application.title)),
                conflict,
            )
            for assignment, round_, application, conflict in shown
        ], len(rows) > limit

    async def one(self, principal: Principal, assignment_id: UUID) -> Invitation:
        assignment = await self._own(principal, assignment_id)
        if assignment.status not in LIVE_ASSIGNMENTS:
            raise AssignmentNotFound()
        round_ = await self.repo.round(assignment.round_id)
        application = await self.repo.application(assignment.application_id)
        assert round_ is not None
        assert application is not None
        shown = await self._shown(principal, [(assignment, round_, application)])
        if not shown:
            raise AssignmentNotFound()
        return shown[0]

    async def accept(self, principal: Principal, assignment_id: UUID, now: datetime) -> Invitation:
        found = await self.one(principal, assignment_id)
        if found.round.state == RoundState.closed:
            raise InvalidTransition(found.round.state)
        assignment = await self.repo.assignment(assignment_id, lock=True)
        assert assignment is not None
        if assignment.status == AssignmentStatus.accepted:
            return found  # a retried accept
        if assignment.status != AssignmentStatus.invited:
            raise InvalidTransition(assignment.status)
        assignment.status, assignment.responded_at = AssignmentStatus.accepted, now
        await self.session.flush()
        await _record(
            principal, self.session, assignment, "accepted", AssignmentStatus.invited, None, {}
        )
        return found

    async def decline(
        self,
        principal: Principal,
        assignment_id: UUID,
        data: Decline,
        credit: CreditClient,
        now: datetime,
        sessions: async_sessionmaker[AsyncSession],
    ) -> tuple[Assignment, Replaced]:
        async with sessions() as reading:
            earlier = await InvitationService(reading)._declinable(principal, assignment_id)
            experts = await to_ask(
                reading, earlier.round, now, application_ids=[earlier.application.id]
            )
        answers = await ask(credit, experts, now)
        found, round_, assignment = await self._declinable_locked(principal, assignment_id)
        before = assignment.status
        assignment.status, assignment.responded_at = AssignmentStatus.declined, now
        assignment.decline_reason = data.reason
        await self.session.flush()
        await assignment_events.declined(self.session, round_, assignment, data.reason, now)
        if data.conflict:
            await self._declare(round_, found.application, assignment, data.reason, now)
        replaced = await replace(self.session, round_, assignment.application_id, answers, now)
        await _record(
            principal,
            self.session,
            assignment,
            "declined",
            before,
            data.reason,
            {"conflict": data.conflict},
        )
        await history.record(
            self.session,
            entity="round",
            entity_id=round_.id,
            action="expert_declined",
            actor=principal.subject,
            reason=data.reason,
            details={
                "assignment_id": str(assignment.id),
                "application_id": str(assignment.application_id),
                "expert_id": str(assignment.expert_id),
                "conflict": data.conflict,
                "replacements": [
                    {"assignment_id": str(a.id), "expert_id": str(a.expert_id)}
                    for a in replaced.assigned
                ],
                "short_by": replaced.short_by,
                "short_reason": replaced.reason,
            },
        )
        return assignment, replaced

    # --- steps -----------------------------------------------------------------------------

    async def _declinable(self, principal: Principal, assignment_id: UUID) -> Invitation:
        """The expert's own live assignment, not yet reviewed, in a round still open."""
        found = await self.one(principal, assignment_id)
        if found.round.state == RoundState.closed:
            raise InvalidTransition(found.round.state)
        await self._not_reviewed(found.assignment)
        return found

    async def _declinable_locked(
        self, principal: Principal, assignment_id: UUID
    ) -> tuple[Invitation, ReviewRound, Assignment]:
        """`_declinable`, with the round then the assignment locked (the order every writer
        here locks in)."""
        found = await self.one(principal, assignment_id)
        round_ = await self.repo.round(found.round.id, lock=True)
        assert round_ is not None
        if round_.state == RoundState.closed:
            raise InvalidTransition(round_.state)
        assignment = await self.repo.assignment(assignment_id, lock=True)
        assert assignment is not None
        await self._not_reviewed(assignment)
        return found, round_, assignment

    async def _not_reviewed(self, assignment: Assignment) -> None:
        if assignment.status not in LIVE_ASSIGNMENTS:
            raise InvalidTransition(assignment.status)
        if await self.repo.sheet_submitted(assignment.id):
            # A submitted review stands; only the program's manager may take it out (remove).
            raise InvalidTransition(SheetStatus.submitted)

    async def _own(self, principal: Principal, assignment_id: UUID) -> Assignment:
        assignment = await self.repo.assignment(assignment_id)
        if assignment is None or assignment.expert_id != _me(principal):
            raise AssignmentNotFound()
        return assignment

    async def _shown(
        self, principal: Principal, rows: Sequence[tuple[Assignment, ReviewRound, Application]]
    ) -> list[Invitation]:
        """The rows no conflict bars now, with the submitted content as experts may read it."""
        visible = await self.unbarred(principal, rows)
        contents = await self.repo.submitted_contents([a for _, _, a in visible])
        reports = await self._final_reports([(r, a) for _, r, a in visible])
        calls = await self.repo.call_titles({r.call_id for _, r, _ in visible})
        sheets = await self.repo.sheets([a.id for a, _, _ in visible])
        organizations = await self.repo.organization_names({a.org_id for _, _, a in visible})
        people = await self.repo.person_names(
            {member for _, _, a in visible for member in _team(contents[a.id])}
        )
        return [
            Invitation(
                assignment,
                round_,
                application,
                _for_experts(contents[application.id]),
                reports.get((round_.id, application.id)),
                calls[round_.call_id],
                sheets.get(assignment.id),
                organizations.get(application.org_id),
                {
                    str(member): people[member]
                    for member in _team(contents[application.id])
                    if member in people
                },
            )
            for assignment, round_, application in visible
        ]

    async def unbarred(
        self, principal: Principal, rows: Sequence[tuple[Assignment, ReviewRound, Application]]
    ) -> list[tuple[Assignment, ReviewRound, Application]]:
        """The rows no conflict bars now (stored and not overridden, or arisen since the last
        refresh) whose application was not withdrawn."""
        me = _me(principal)
        by_round: dict[UUID, tuple[ReviewRound, list[UUID]]] = {}
        for assignment, round_, _ in rows:
            by_round.setdefault(round_.id, (round_, []))[1].append(assignment.application_id)
        barred: dict[UUID, set[UUID]] = defaultdict(set)
        for round_id, (round_, applications) in by_round.items():
            blocked = await blocked_pairs(
                self.session, round_, application_ids=applications, expert_ids=[me]
            )
            barred[round_id] = {application for application, _ in blocked}
        return [
            (assignment, round_, application)
            for assignment, round_, application in rows
            if assignment.application_id not in barred[round_.id]
            # An application taken back by its applicant is no longer anyone's to review.
            and application.status != ApplicationStatus.withdrawn
        ]

    async def _final_reports(
        self, pairs: Sequence[tuple[ReviewRound, Application]]
    ) -> dict[tuple[UUID, UUID], ReviewedFinalReport]:
        """Per (acceptance round, application): the final report the round was opened for."""
        wanted: dict[tuple[UUID, UUID], UUID] = {}
        for round_, application in pairs:
            for ref in final_reports(round_):
                if ref.application_id == application.id:
                    wanted[(round_.id, application.id)] = ref.report_id
        found = await self.repo.final_reports(set(wanted.values()))
        views: dict[tuple[UUID, UUID], ReviewedFinalReport] = {}
        for key, report_id in wanted.items():
            report, project, book = found[report_id]
            content = report.content
            views[key] = ReviewedFinalReport(
                report_id=report.id,
                project_id=project.id,
                project_number=project.number,
                title=project.title,
                starts_on=project.starts_on,
                ends_on=project.ends_on,
                approved_budget_fen=project.approved_budget_fen,
                budget=dict(book.budget) if book else {},
                summary=str(content.get("summary", "")),
                milestones=list(content.get("milestones") or []),
                indicators=[
                    IndicatorResult(**row)
                    for row in achieved_vs_promised(book.indicators if book else [], content)
                ],
                submitted_at=report.submitted_at,
            )
        return views

    async def _declare(
        self,
        round_: ReviewRound,
        application: Application,
        assignment: Assignment,
        statement: str,
        now: datetime,
    ) -> None:
        declared = DeclaredConflict(
            expert_id=assignment.expert_id,
            person_id=application.applicant_id,
            reason=statement,
            declared_at=now,
        )
        await self.repo.add_declaration(declared)
        # The evidence as the conflict rules write it, so a later refresh leaves it as it is.
        found = [
            c
            for c in await find_conflicts(
                self.session,
                round_,
                application_ids=[application.id],
                expert_ids=[assignment.expert_id],
            )
            if c.kind == "declared"
        ]
        evidence = (
            found[0].evidence
            if found
            else {
                "rule": "declared",
                "statement": statement,
                "declared_conflict_id": str(declared.id),
            }
        )
        await self.repo.store_conflict(
            Conflict(
                round_id=round_.id,
                application_id=application.id,
                expert_id=assignment.expert_id,
                kind="declared",
                evidence=evidence,
                found_at=now,
            )
        )


async def reviews(session: AsyncSession, principal: Principal, application: Application) -> bool:
    """Whether the caller is an expert with a live assignment on the application that no
    conflict bars: what lets them open the documents of the version they review."""
    if principal.user_id is None:
        return False
    service = InvitationService(session)
    rows = await service.repo.live_of_expert_on(principal.user_id, application.id)
    return bool(rows) and bool(await service.unbarred(principal, rows))


def _me(principal: Principal) -> UUID:
    if principal.user_id is None:
        raise AssignmentNotFound()
    return principal.user_id


def _team(content: dict[str, Any]) -> list[UUID]:
    return [UUID(str(member["user_id"])) for member in content.get("team", [])]


def _for_experts(content: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in content.items() if k not in HIDDEN_FROM_EXPERTS}


async def _record(
    principal: Principal,
    session: AsyncSession,
    assignment: Assignment,
    action: str,
    before: AssignmentStatus,
    reason: str | None,
    details: dict[str, Any],
) -> None:
    # No application id: the row names the expert, and the applicant reads that story.
    await history.record(
        session,
        entity="assignment",
        entity_id=assignment.id,
        action=action,
        actor=principal.subject,
        from_state=before,
        to_state=assignment.status,
        reason=reason,
        details={
            "round_id": str(assignment.round_id),
            "application_id": str(assignment.application_id),
            **details,
        },
    )
