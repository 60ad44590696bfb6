"""Reports on schedule: program policies, the schedule made at signing, due dates moved by a
program manager with a reason, the reports a filed report meets, what is overdue.

A schedule is made once, when both sides have signed the task book: from the task book's own
list of reports, else from the program's policy, then adjusted to the supervision the worse of
the PI's and organization's credit levels calls for. A filed report meets the earliest owed
report of its kind (and period, when it names one); a report filed with nothing owed of its
kind meets nothing and is kept like any other.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.projects import history
from services.projects.exceptions import ProgramNotFound
from services.projects.execution.access import managed_project, readable_project
from services.projects.models import (
    Project,
    Report,
    ReportDue,
    ReportPolicy,
    ReportSchedule,
    TaskBook,
)
from services.projects.models.lifecycle import ProjectStatus
from services.projects.models.reporting import ScheduleSource, Supervision
from services.projects.reporting import notices
from services.projects.reporting.exceptions import (
    DueDateInvalid,
    DueMet,
    DueNotFound,
    ReportsOverdue,
    ScheduleNotFound,
)
from services.projects.reporting.plan import (
    LATEST_AFTER_END,
    PlannedReport,
    program_plan,
    supervised,
    task_book_plan,
)
from services.projects.reporting.policy import ReportPolicyWrite, policy_from
from services.projects.reporting.repository import ReportingRepository
from services.projects.reporting.schemas import DueDateChange
from services.projects.reporting.standing import UNKNOWN, CreditStanding
from services.projects.scope import managed_programs, require_manager_of
from shared.auth.tokens import Principal
from shared.contracts.vocabulary import TrancheMilestone
from shared.errors import Text

KIND_NAMES = {
    "annual": "年度报告",
    "midterm": "中期报告",
    "final": "结题报告",
    "financial": "财务决算报告",
    "progress": "进展报告",
}


class ReportPolicies:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = ReportingRepository(session)

    async def get(
        self, principal: Principal, program_id: UUID
    ) -> tuple[ReportPolicyWrite, ReportPolicy | None]:
        await self._managed(principal, program_id)
        row = await self.repo.policy(program_id)
        return policy_from(row.terms if row else None), row

    async def put(
        self, principal: Principal, program_id: UUID, data: ReportPolicyWrite, now: datetime
    ) -> tuple[ReportPolicyWrite, ReportPolicy]:
        await self._managed(principal, program_id)
        assert principal.user_id is not None  # a manager is a person
        terms = data.model_dump(mode="json")
        row = await self.repo.save_policy(program_id, terms, principal.user_id, now)
        await history.record(
            self.session,
            entity="program",
            entity_id=program_id,
            action="report_policy.set",
            actor=principal.subject,
            details=terms,
        )
        return data, row

    async def _managed(self, principal: Principal, program_id: UUID) -> None:
        if await self.repo.program(program_id) is None:
            raise ProgramNotFound()
        await require_manager_of(self.session, principal, program_id)


class ReportSchedules:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = ReportingRepository(session)

    async def make(
        self,
        project: Project,
        book: TaskBook,
        standing: CreditStanding | None,
        *,
        actor: str,
    ) -> ReportSchedule:
        """The schedule of a project whose task book was just signed by both sides."""
        standing = standing or UNKNOWN
        row = await self.repo.policy(project.program_id)
        policy = policy_from(row.terms if row else None)
        supervision = policy.supervision_for(standing.level)
        if book.reports is not None:
            source, plan = ScheduleSource.task_book, task_book_plan(book.reports)
        else:
            source = ScheduleSource.program
            plan = program_plan(policy, book.starts_on, book.ends_on)
        midterm_pays = any(t.get("on") == TrancheMilestone.midterm for t in book.tranches)
        plan = supervised(
            plan, supervision, policy, book.starts_on, book.ends_on, midterm_pays=midterm_pays
        )
        schedule = ReportSchedule(
            project_id=project.id,
            program_id=project.program_id,
            source=source,
            supervision=supervision,
            credit_level=standing.level.value if standing.level else None,
            spot_check=supervision == Supervision.enhanced,
        )
        dues = [_due(project, planned, policy) for planned in plan]
        await self.repo.add_schedule(schedule, dues)
        await history.record(
            self.session,
            entity="project",
            entity_id=project.id,
            application_id=project.application_id,
            action="report_schedule.created",
            actor=actor,
            from_state=project.status,
            to_state=project.status,
            details={
                "source": source.value,
                "supervision": supervision.value,
                "credit_level": schedule.credit_level,
                "spot_check": schedule.spot_check,
                "reports": [
                    {"kind": p.kind, "period": p.period, "due_on": p.due_on.isoformat()}
                    for p in plan
                ],
            },
        )
        return schedule

    async def read(
        self, principal: Principal, project_id: UUID
    ) -> tuple[Project, ReportSchedule, list[ReportDue]]:
        project = await readable_project(self.session, principal, project_id)
        schedule = await self.repo.schedule(project.id)
        if schedule is None:
            raise ScheduleNotFound()
        return project, schedule, list(await self.repo.dues_of(project.id))

    async def reschedule(
        self,
        principal: Principal,
        project_id: UUID,
        due_id: UUID,
        data: DueDateChange,
        now: datetime,
    ) -> tuple[Project, ReportDue]:
        """A program manager with no stake in the project moves a due date, with a reason.
        The new date gets the reminders still ahead of it; those already told are not
        repeated, and a credit proposal already made stays made."""
        project = await managed_project(self.session, principal, project_id)
        due = await self.repo.due(project.id, due_id)
        if due is None:
            raise DueNotFound()
        if due.report_id is not None:
            raise DueMet()
        if project.status != ProjectStatus.in_progress or project.starts_on is None:
            raise DueMet(Text("项目已不在执行中", "The project is no longer running"))
        assert project.ends_on is not None  # set with starts_on at signing
        if not project.starts_on < data.due_on <= project.ends_on + LATEST_AFTER_END:
            raise DueDateInvalid(
                Text(
                    "截止日期须晚于项目开始日期，且不晚于结束后一年",
                    "A due date falls after the project starts and at most a year after it ends",
                )
            )
        before = due.due_on
        due.due_on = data.due_on
        due.reminded = [d for d in due.reminded if notices.reminder_at(due, d) <= now]
        if not notices.is_overdue(due, now):
            due.overdue_told_at = None
        due.next_notice_at = notices.next_notice_at(due)
        await self.session.flush()
        await history.record(
            self.session,
            entity="report_due",
            entity_id=due.id,
            application_id=project.application_id,
            action="report_due.rescheduled",
            actor=principal.subject,
            reason=data.reason,
            details={
                "project_id": str(project.id),
                "kind": due.kind,
                "period": due.period,
                "from": before.isoformat(),
                "to": data.due_on.isoformat(),
            },
        )
        return project, due

    async def met_by(self, report: Report, now: datetime) -> ReportDue | None:
        """The owed report a just-filed one meets, if any."""
        due = await self.repo.first_open(report.project_id, report.kind, report.period)
        if due is None:
            return None
        due.report_id, due.submitted_at = report.id, now
        due.next_notice_at = None
        await self.session.flush()
        return due

    async def refuse_if_overdue(self, pi_id: UUID, now: datetime) -> None:
        """409 naming each overdue report of the projects `pi_id` leads."""
        overdue = await self.repo.overdue_led_by(pi_id, notices.today(now))
        if overdue:
            raise ReportsOverdue(
                Text(
                    "；".join(_named_zh(due, project) for due, project in overdue)
                    + "。请先提交逾期报告",
                    "; ".join(_named_en(due, project) for due, project in overdue)
                    + ". Submit it first",
                ),
                extra={"overdue_reports": [_overdue_item(d, p) for d, p in overdue]},
            )

    async def overdue_of(self, pi_id: UUID, on: date) -> list[dict[str, Any]]:
        """The overdue reports of `pi_id`'s projects on a day (for the formal check)."""
        return [_overdue_item(d, p) for d, p in await self.repo.overdue_led_by(pi_id, on)]

    async def search(
        self,
        principal: Principal,
        *,
        now: datetime,
        state: str | None,
        program_id: UUID | None,
        kind: str | None,
        project_id: UUID | None,
        offset: int,
        limit: int,
    ) -> list[tuple[ReportDue, Project]]:
        """Due reports of the programs the caller manages (admins: all)."""
        return await self.repo.search(
            programs=await managed_programs(self.session, principal),
            today=notices.today(now),
            state=state,
            program_id=program_id,
            kind=kind,
            project_id=project_id,
            offset=offset,
            limit=limit,
        )


def _due(project: Project, planned: PlannedReport, policy: ReportPolicyWrite) -> ReportDue:
    due = ReportDue(
        project_id=project.id,
        program_id=project.program_id,
        kind=planned.kind,
        period=planned.period,
        due_on=planned.due_on,
        reminder_days=list(policy.reminder_days),
        escalate_after_days=policy.final_overdue_days if planned.kind == "final" else None,
        reminded=[],
    )
    due.next_notice_at = notices.next_notice_at(due)
    return due


def due_state(due: ReportDue, project: Project, now: datetime) -> str:
    if due.report_id is not None:
        return "submitted"
    if project.status != ProjectStatus.in_progress:
        return "closed"
    return "overdue" if notices.is_overdue(due, now) else "open"


def _named_zh(due: ReportDue, project: Project) -> str:
    period = f"（{due.period}）" if due.period else ""
    return (
        f"项目 {project.number} 的{KIND_NAMES[due.kind]}{period}"
        f"应于 {due.due_on.isoformat()} 前提交，已逾期"
    )


def _named_en(due: ReportDue, project: Project) -> str:
    period = f" ({due.period})" if due.period else ""
    return (
        f"the {due.kind} report{period} of project {project.number} was due "
        f"{due.due_on.isoformat()} and is overdue"
    )


def _overdue_item(due: ReportDue, project: Project) -> dict[str, Any]:
    return {
        "due_id": str(due.id),
        "project_id": str(project.id),
        "project_number": project.number,
        "kind": due.kind,
        "period": due.period,
        "due_on": due.due_on.isoformat(),
    }
