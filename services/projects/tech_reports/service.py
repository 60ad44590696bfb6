"""Science and technology reports (科技报告): annual and final reports deposited as documents.

- The PI describes a report (kind, year of an annual one, title, abstract, embargo), then
  uploads its PDF, which deposits it; a deposited report never changes. One final report per
  project, one annual report per project and year (drafts aside).
- Annual reports while the project runs; the final one also once it is accepted or failed.
- The embargo is a day in Asia/Shanghai, from today to five years ahead: the abstract is public
  from that day's start (no embargo: from the deposit). The document stays with those who read
  the project: its team, its organization, the program's staff and engaged evaluators.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.projects import history
from services.projects.applications.attachments import Upload
from services.projects.exceptions import InvalidTransition
from services.projects.execution.access import led_project, readable_project
from services.projects.models import Program, Project, TechReport
from services.projects.models.lifecycle import ProjectStatus
from services.projects.models.outputs import TechReportStatus
from services.projects.tech_reports.exceptions import (
    TechReportDeposited,
    TechReportExists,
    TechReportInvalid,
    TechReportNotFound,
)
from services.projects.tech_reports.repository import PublicReportFilter, TechReportRepository
from services.projects.tech_reports.schemas import PublicTechReport, TechReportCreate
from shared.auth.tokens import Principal
from shared.clock import in_shanghai
from shared.errors import Text

EMBARGO_YEARS = 5
DEPOSITABLE = {
    "annual": (ProjectStatus.in_progress,),
    "final": (ProjectStatus.in_progress, ProjectStatus.accepted, ProjectStatus.acceptance_failed),
}


def today(now: datetime) -> date:
    return in_shanghai(now).date()


def years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def public_from(report: TechReport) -> date | None:
    """The day its abstract is public from (None: not deposited)."""
    if report.deposited_at is None:
        return None
    return report.embargo_until or today(report.deposited_at)


def abstract_public(report: TechReport, now: datetime) -> bool:
    opens = public_from(report)
    return opens is not None and opens <= today(now)


class TechReportService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = TechReportRepository(session)

    async def create(
        self, principal: Principal, project_id: UUID, data: TechReportCreate, now: datetime
    ) -> TechReport:
        project = await led_project(self.session, principal, project_id)
        _check_state(project, data.kind)
        if data.embargo_until is not None:
            first, last = today(now), years_later(today(now), EMBARGO_YEARS)
            if not first <= data.embargo_until <= last:
                raise TechReportInvalid(
                    Text(
                        f"保密期截止日须在 {first} 至 {last} 之间（最长 {EMBARGO_YEARS} 年）",
                        f"the embargo ends between {first} and {last} (at most "
                        f"{EMBARGO_YEARS} years)",
                    )
                )
        report = TechReport(
            project_id=project.id,
            kind=data.kind,
            year=data.year,
            title=data.title,
            abstract=data.abstract,
            embargo_until=data.embargo_until,
            status=TechReportStatus.draft,
            created_by=principal.user_id,
            created_at=now,
        )
        await self.repo.add(report)
        await self._record(project, report, principal, None, "tech_report.described")
        return report

    async def ensure_depositable(
        self, principal: Principal, project_id: UUID, report_id: UUID
    ) -> None:
        """Checked before the upload is read (in a session of its own; `deposit` checks
        again), so nobody else makes us read a file."""
        project = await led_project(self.session, principal, project_id)
        await self._draft(project, report_id, lock=False)

    async def deposit(
        self,
        principal: Principal,
        project_id: UUID,
        report_id: UUID,
        upload: Upload,
        now: datetime,
    ) -> TechReport:
        project = await led_project(self.session, principal, project_id)
        report = await self._draft(project, report_id, lock=True)
        if await self.repo.deposited_like(report):
            raise TechReportExists()
        report.filename = upload.filename
        report.content_type = upload.content_type
        report.size_bytes = upload.size
        report.sha256 = upload.sha256
        report.object_key = upload.object_key
        report.status = TechReportStatus.deposited
        report.deposited_by = principal.user_id
        report.deposited_at = now
        await self.repo.deposit(report)
        await self._record(
            project, report, principal, TechReportStatus.draft, "tech_report.deposited"
        )
        return report

    async def _draft(self, project: Project, report_id: UUID, *, lock: bool) -> TechReport:
        report = await self.repo.get(project.id, report_id, lock=lock)
        if report is None:
            raise TechReportNotFound()
        if report.status != TechReportStatus.draft:
            raise TechReportDeposited()
        _check_state(project, report.kind)
        return report

    async def of_project(
        self, principal: Principal, project_id: UUID, *, offset: int, limit: int
    ) -> Sequence[TechReport]:
        project = await readable_project(self.session, principal, project_id)
        return await self.repo.of_project(project.id, offset=offset, limit=limit)

    async def get(self, principal: Principal, project_id: UUID, report_id: UUID) -> TechReport:
        project = await readable_project(self.session, principal, project_id)
        report = await self.repo.get(project.id, report_id)
        if report is None:
            raise TechReportNotFound()
        return report

    async def document(self, principal: Principal, project_id: UUID, report_id: UUID) -> TechReport:
        report = await self.get(principal, project_id, report_id)
        if report.status != TechReportStatus.deposited:
            raise TechReportNotFound(Text("报告尚未提交文档", "the report has no document yet"))
        return report

    # --- the public ------------------------------------------------------------------------

    async def public(
        self, search: PublicReportFilter, now: datetime, *, offset: int, limit: int
    ) -> list[PublicTechReport]:
        rows = await self.repo.public(today(now), search, offset=offset, limit=limit)
        return [_public(*row) for row in rows]

    async def public_one(self, report_id: UUID, now: datetime) -> PublicTechReport:
        row = await self.repo.public_one(today(now), report_id)
        if row is None:
            raise TechReportNotFound()
        return _public(*row)

    async def _record(
        self,
        project: Project,
        report: TechReport,
        principal: Principal,
        from_state: TechReportStatus | None,
        action: str,
    ) -> None:
        await history.record(
            self.session,
            entity="tech_report",
            entity_id=report.id,
            application_id=project.application_id,
            action=action,
            actor=principal.subject,
            from_state=from_state,
            to_state=report.status,
            details={
                "kind": report.kind,
                "project_id": str(project.id),
                "embargo_until": report.embargo_until.isoformat() if report.embargo_until else None,
                "sha256": report.sha256,
            },
        )


def _check_state(project: Project, kind: str) -> None:
    if project.status not in DEPOSITABLE[kind]:
        raise InvalidTransition(project.status)


def _public(report: TechReport, project: Project, program: Program) -> PublicTechReport:
    assert report.deposited_at is not None  # only deposited reports are public
    opens = public_from(report)
    assert opens is not None
    return PublicTechReport(
        id=report.id,
        project_number=project.number,
        project_title=project.title,
        program_code=program.code,
        organization_name=project.org_name,
        pi_name=project.pi_name,
        kind=report.kind,
        year=report.year,
        title=report.title,
        abstract=report.abstract,
        deposited_on=today(report.deposited_at),
        public_from=opens,
    )
