"""The reminder job of reports on schedule: what each due report has to tell at `now`.

- before the due date, on each of its reminder days: `report.due_soon` (notify tells the PI);
  reminders whose day passed unseen (a schedule made late, a job that was down) are not sent
  one after another: only the nearest is;
- as the due date ends with no report: `report.overdue` (notify tells the PI);
- a final report still missing `escalate_after_days` after that: `report.final_overdue`
  (credit proposes a MISSING_REPORT record, which then goes through its due process).

Each row is claimed with FOR UPDATE SKIP LOCKED and updated with what was told in the same
transaction as the events: two replicas running the job at once never tell anything twice.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects import history
from services.projects.config import ProjectsSettings
from services.projects.models import Project, ReportDue
from services.projects.models.lifecycle import ProjectStatus
from services.projects.reporting import notices
from services.projects.reporting.events import ReportingEvents
from services.projects.reporting.repository import ReportingRepository
from shared.periodic import every

ACTOR = "system:report-reminders"


class ReportReminders:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = ReportingRepository(session)
        self.events = ReportingEvents(session)

    async def tell_due(self, now: datetime, limit: int) -> int:
        """Tells what is due at `now` for up to `limit` rows; returns how many were claimed."""
        claimed = await self.repo.claim_notices(now, limit)
        for due, project in claimed:
            if project.status == ProjectStatus.in_progress and due.report_id is None:
                await self._tell(due, project, now)
            else:  # met, or the project ended: nothing more to tell
                due.next_notice_at = None
            await self.session.flush()
        return len(claimed)

    async def _tell(self, due: ReportDue, project: Project, now: datetime) -> None:
        today = notices.today(now)
        passed = [d for d in due.reminder_days if d not in due.reminded]
        passed = [d for d in passed if notices.reminder_at(due, d) <= now]
        if notices.is_overdue(due, now):
            due.reminded = [*due.reminded, *passed]  # too late to say "due soon"
            if due.overdue_told_at is None:
                await self.events.overdue(project, due)
                due.overdue_told_at = now
            escalation = notices.escalation_at(due)
            if escalation is not None and due.escalated_at is None and escalation <= now:
                await self.events.final_overdue(project, due, today)
                due.escalated_at = now
                await history.record(
                    self.session,
                    entity="report_due",
                    entity_id=due.id,
                    application_id=project.application_id,
                    action="report_due.credit_proposed",
                    actor=ACTOR,
                    reason="结题报告逾期未交",
                    details={
                        "project_id": str(project.id),
                        "kind": due.kind,
                        "due_on": due.due_on.isoformat(),
                        "rule_code": "MISSING_REPORT",
                    },
                )
        elif passed:
            await self.events.due_soon(project, due, today)
            due.reminded = [*due.reminded, *passed]
        due.next_notice_at = notices.next_notice_at(due)


async def remind_once(app: FastAPI, now: datetime) -> int:
    settings: ProjectsSettings = app.state.settings
    async with app.state.db.sessionmaker() as session, session.begin():
        return await ReportReminders(session).tell_due(now, settings.report_reminder_batch)


async def report_reminder_worker(app: FastAPI, stop: asyncio.Event) -> None:
    settings: ProjectsSettings = app.state.settings

    async def full_batch() -> bool:  # more may be due than one batch
        return await remind_once(app, app.state.clock()) >= settings.report_reminder_batch

    await every(lambda: settings.report_reminder_seconds, full_batch, stop, "report reminders")
