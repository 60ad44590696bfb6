"""Reports on schedule: a program's reporting policy, a project's schedule, moving a due date,
and the managers' list of due (and overdue) reports."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from fastapi import APIRouter

from services.projects.auth import Manager, NowDep
from services.projects.models import Project, ReportDue, ReportPolicy
from services.projects.reporting import notices
from services.projects.reporting.policy import ReportPolicyWrite
from services.projects.reporting.schemas import (
    DueDateChange,
    DueListItem,
    DueState,
    ReportDueRead,
    ReportKind,
    ReportPolicyRead,
    ReportScheduleRead,
)
from services.projects.reporting.service import ReportPolicies, ReportSchedules, due_state
from shared.auth.dependencies import CurrentPrincipal
from shared.db import SessionDep
from shared.pagination import Page, PageDep, next_cursor, start_of

router = APIRouter(tags=["reports on schedule"])


def _policy_read(
    program_id: UUID, policy: ReportPolicyWrite, row: ReportPolicy | None
) -> ReportPolicyRead:
    return ReportPolicyRead.model_validate(
        {
            **policy.model_dump(),
            "program_id": program_id,
            "own": row is not None,
            "updated_by": row.updated_by if row else None,
            "updated_at": row.updated_at if row else None,
        }
    )


def _due_fields(due: ReportDue, project: Project, now: datetime) -> dict[str, object]:
    return {
        "id": due.id,
        "project_id": due.project_id,
        "kind": due.kind,
        "period": due.period,
        "due_on": due.due_on,
        "state": due_state(due, project, now),
        "report_id": due.report_id,
        "submitted_at": due.submitted_at,
        "reminder_days": due.reminder_days,
        "reminded": due.reminded,
        "overdue_told_at": due.overdue_told_at,
        "escalated_at": due.escalated_at,
    }


def _list_item(due: ReportDue, project: Project, now: datetime) -> DueListItem:
    late = (notices.today(now) - due.due_on).days
    return DueListItem.model_validate(
        _due_fields(due, project, now)
        | {
            "program_id": due.program_id,
            "project_number": project.number,
            "project_title": project.title,
            "pi_id": project.pi_id,
            "pi_name": project.pi_name,
            "org_name": project.org_name,
            "days_overdue": late if notices.is_overdue(due, now) else 0,
        }
    )


@router.get(
    "/v1/programs/{program_id}/report-policy",
    response_model=ReportPolicyRead,
    summary="The program's reporting policy (its managers; the default until one is set)",
)
async def get_report_policy(
    program_id: UUID, session: SessionDep, manager: Manager
) -> ReportPolicyRead:
    policy, row = await ReportPolicies(session).get(manager, program_id)
    return _policy_read(program_id, policy, row)


@router.put(
    "/v1/programs/{program_id}/report-policy",
    response_model=ReportPolicyRead,
    summary="Set the program's reporting policy (applies to schedules made from now on)",
)
async def put_report_policy(
    program_id: UUID, data: ReportPolicyWrite, session: SessionDep, manager: Manager, now: NowDep
) -> ReportPolicyRead:
    policy, row = await ReportPolicies(session).put(manager, program_id, data, now)
    return _policy_read(program_id, policy, row)


@router.get(
    "/v1/projects/{project_id}/report-schedule",
    response_model=ReportScheduleRead,
    summary="The reports a project owes, with the supervision its schedule was made for",
)
async def get_report_schedule(
    project_id: UUID, session: SessionDep, principal: CurrentPrincipal, now: NowDep
) -> ReportScheduleRead:
    project, schedule, dues = await ReportSchedules(session).read(principal, project_id)
    return ReportScheduleRead(
        project_id=project.id,
        source=schedule.source,
        supervision=schedule.supervision,
        credit_level=schedule.credit_level,
        spot_check=schedule.spot_check,
        created_at=schedule.created_at,
        dues=[ReportDueRead.model_validate(_due_fields(d, project, now)) for d in dues],
    )


@router.post(
    "/v1/projects/{project_id}/report-schedule/{due_id}/due-date",
    response_model=ReportDueRead,
    summary="Move a due date, with a reason (a manager of the program with no stake in it)",
)
async def move_due_date(
    project_id: UUID,
    due_id: UUID,
    data: DueDateChange,
    session: SessionDep,
    manager: Manager,
    now: NowDep,
) -> ReportDueRead:
    project, due = await ReportSchedules(session).reschedule(manager, project_id, due_id, data, now)
    return ReportDueRead.model_validate(_due_fields(due, project, now))


@router.get(
    "/v1/report-dues",
    response_model=Page[DueListItem],
    summary="Due reports of the programs the caller manages, by due date; state=overdue for "
    "the overdue ones",
)
async def list_report_dues(
    session: SessionDep,
    manager: Manager,
    page: PageDep,
    now: NowDep,
    state: DueState | None = None,
    program_id: UUID | None = None,
    kind: ReportKind | None = None,
    project_id: UUID | None = None,
) -> Page[DueListItem]:
    offset = start_of(page)
    found = await ReportSchedules(session).search(
        manager,
        now=now,
        state=state,
        program_id=program_id,
        kind=kind,
        project_id=project_id,
        offset=offset,
        limit=page.limit + 1,
    )
    return Page[DueListItem](
        items=[_list_item(d, p, now) for d, p in found[: page.limit]],
        next_cursor=next_cursor(offset, page.limit, len(found)),
    )
