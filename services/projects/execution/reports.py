"""Annual, mid-term, progress, financial and final reports, and their review by the program's
manager. A filed report meets the earliest report its project owes of its kind (`reporting`).

Annual, mid-term, progress and financial: pass | rectify (the PI files again) | terminate (the
project ends for inability). Final: the acceptance (验收), passed (graded excellent or not) |
conditional | failed, judged on what the task book promised next to what was achieved, and on
the experts' scores when the report was put to an acceptance round (shown with it; the decision
stays the manager's). A report is reviewed once; one mid-term and one final report at a time
await review.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.projects import history
from services.projects.exceptions import InvalidTransition
from services.projects.execution.access import led_project, managed_project, readable_project
from services.projects.execution.events import ProjectEvents
from services.projects.execution.exceptions import ReportNotFound, ReportOpen, ReviewInvalid
from services.projects.execution.expert_review import expert_reviews
from services.projects.execution.repository import ProjectRepository
from services.projects.execution.schemas import (
    ExpertReviewRead,
    IndicatorComparison,
    ReportCreate,
    ReportRead,
    ReportReview,
)
from services.projects.execution.termination import terminate
from services.projects.execution.transitions import move
from services.projects.models import Project, Report
from services.projects.models.lifecycle import (
    ProjectStatus,
    ReportStatus,
)
from services.projects.reporting.events import ReportingEvents
from services.projects.reporting.service import ReportSchedules
from services.projects.review.rounds.acceptance import achieved_vs_promised
from shared.auth.tokens import Principal
from shared.errors import Text

# The decision a manager gives -> the report's status after it.
PROGRESS_DECISIONS = {
    "pass": ReportStatus.passed,
    "rectify": ReportStatus.rectify,
    "terminate": ReportStatus.terminate,
}
ACCEPTANCE_DECISIONS = {
    "passed": ReportStatus.passed,
    "conditional": ReportStatus.conditional,
    "failed": ReportStatus.failed,
}
ONE_AT_A_TIME = ("midterm", "final")


class ReportService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = ProjectRepository(session)
        self.events = ProjectEvents(session)

    async def file(
        self, principal: Principal, project_id: UUID, data: ReportCreate, now: datetime
    ) -> tuple[Report, list[dict[str, Any]]]:
        project = await led_project(self.session, principal, project_id)
        if project.status != ProjectStatus.in_progress:
            raise InvalidTransition(project.status)
        if data.kind in ONE_AT_A_TIME and await self.repo.awaiting_review(project.id, data.kind):
            raise ReportOpen()
        report = Report(
            project_id=project.id,
            kind=data.kind,
            period=data.period,
            content=data.content.model_dump(mode="json"),
            status=ReportStatus.submitted,
            submitted_by=principal.user_id,
            submitted_at=now,
        )
        self.session.add(report)
        await self.session.flush()
        await ReportSchedules(self.session).met_by(report, now)
        await self._record(project, report, principal, None, f"report.{data.kind}.submitted")
        return report, await self._promised(project)

    async def of_project(
        self, principal: Principal, project_id: UUID, *, offset: int, limit: int
    ) -> tuple[Sequence[Report], list[dict[str, Any]], dict[UUID, ExpertReviewRead]]:
        """A page of the reports, the task book's indicators, and the experts' word on the
        final reports among them."""
        project = await readable_project(self.session, principal, project_id)
        reports = await self.repo.reports(project.id, offset=offset, limit=limit)
        reviews = await expert_reviews(self.session, principal, project, reports)
        return reports, await self._promised(project), reviews

    async def review(
        self,
        principal: Principal,
        project_id: UUID,
        report_id: UUID,
        data: ReportReview,
        now: datetime,
    ) -> tuple[Report, list[dict[str, Any]], ExpertReviewRead | None]:
        project = await managed_project(self.session, principal, project_id)
        report = await self.repo.report(project.id, report_id, lock=True)
        if report is None:
            raise ReportNotFound()
        if report.status != ReportStatus.submitted:
            raise InvalidTransition(report.status)
        if project.status != ProjectStatus.in_progress:
            raise InvalidTransition(project.status)
        outcomes = ACCEPTANCE_DECISIONS if report.kind == "final" else PROGRESS_DECISIONS
        if data.decision not in outcomes:
            raise ReviewInvalid(
                Text(
                    f"{report.kind} 报告的审核结论只能是：{'、'.join(outcomes)}",
                    f"a {report.kind} report is decided with one of: {', '.join(outcomes)}",
                )
            )
        report.status = outcomes[data.decision]
        report.excellent = data.excellent
        report.review_comment = data.comment
        report.reviewed_by = principal.user_id
        report.reviewed_at = now
        await self.session.flush()
        await self._record(
            project, report, principal, ReportStatus.submitted, "report.reviewed", data
        )
        await self._consequences(project, report, principal, data, now)
        reviews = await expert_reviews(self.session, principal, project, [report])
        return report, await self._promised(project), reviews.get(report.id)

    async def _consequences(
        self,
        project: Project,
        report: Report,
        principal: Principal,
        data: ReportReview,
        now: datetime,
    ) -> None:
        actor = principal.subject
        if data.decision == "pass" and report.kind == "midterm":
            await self.events.midterm_passed(project, report)
        elif data.decision == "terminate":
            await terminate(
                self.session,
                project,
                cause="inability",
                reason=data.comment,
                rule_code=None,
                actor=actor,
                now=now,
            )
        elif data.decision in ("passed", "conditional"):
            project.acceptance_conditions = data.conditions
            project.closed_at = now
            await move(
                self.session,
                project,
                ProjectStatus.accepted,
                actor=actor,
                action=f"acceptance.{data.decision}",
                reason=data.comment,
                details={"report_id": str(report.id), "conditions": data.conditions},
            )
            await self.events.accepted(project, data.decision, data.conditions)
            grade = "excellent" if data.excellent else data.decision
            await ReportingEvents(self.session).acceptance_concluded(
                project, report, grade, data.comment
            )
        elif data.decision == "failed":
            project.closed_at = now
            await move(
                self.session,
                project,
                ProjectStatus.acceptance_failed,
                actor=actor,
                action="acceptance.failed",
                reason=data.comment,
                details={"report_id": str(report.id)},
            )
            await self.events.acceptance_failed(project, data.comment)
            await ReportingEvents(self.session).acceptance_concluded(
                project, report, "failed", data.comment
            )

    async def _promised(self, project: Project) -> list[dict[str, Any]]:
        book = await self.repo.task_book(project.id)
        return list(book.indicators) if book is not None else []

    async def _record(
        self,
        project: Project,
        report: Report,
        principal: Principal,
        from_state: ReportStatus | None,
        action: str,
        data: ReportReview | None = None,
    ) -> None:
        await history.record(
            self.session,
            entity="report",
            entity_id=report.id,
            application_id=project.application_id,
            action=action,
            actor=principal.subject,
            from_state=from_state,
            to_state=report.status,
            reason=data.comment if data else None,
            details={"kind": report.kind, "project_id": str(project.id)}
            | ({"conditions": data.conditions} if data and data.conditions else {})
            | ({"excellent": True} if data and data.excellent else {}),
        )


def compare(promised: list[dict[str, Any]], content: dict[str, Any]) -> list[IndicatorComparison]:
    """Each promised indicator next to what the report says was achieved (the same rows the
    acceptance round's experts read)."""
    return [IndicatorComparison(**row) for row in achieved_vs_promised(promised, content)]


def report_read(
    report: Report,
    promised: list[dict[str, Any]],
    expert_review: ExpertReviewRead | None = None,
) -> ReportRead:
    return ReportRead(
        id=report.id,
        project_id=report.project_id,
        kind=report.kind,
        period=report.period,
        content=report.content,
        status=report.status,
        submitted_by=report.submitted_by,
        submitted_at=report.submitted_at,
        review_comment=report.review_comment,
        reviewed_by=report.reviewed_by,
        reviewed_at=report.reviewed_at,
        excellent=report.excellent,
        comparison=compare(promised, report.content),
        expert_review=expert_review,
    )
