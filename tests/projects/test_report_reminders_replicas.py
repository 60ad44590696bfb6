"""Every projects replica runs the reminder job of reports on schedule: two at once tell each
reminder and each overdue report once.

Two apps on pools of their own stand for two processes; what they write is committed, in a
program of the test's own, and removed at the end.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from services.projects.models import (
    Application,
    Call,
    Program,
    Project,
    ReportDue,
    Transition,
    events,
)
from services.projects.reporting.reminders import remind_once
from shared.ids import uuid7
from tests.projects.replicas import both_until_done, program_with_a_call

PROJECTS = 15
NOW = datetime(2027, 6, 10, 2, 0, tzinfo=UTC)
BATCH = 4


async def _world(sessions: async_sessionmaker[AsyncSession]) -> tuple[UUID, list[UUID]]:
    """A program of its own with PROJECTS running projects, each owing a report due soon and
    one overdue; committed."""
    dues: list[UUID] = []
    async with sessions() as session, session.begin():
        fund, call = await program_with_a_call(
            session, NOW, name_zh="报告提醒测试专项", call_state="published"
        )
        program_id = fund.id
        for n in range(PROJECTS):
            pi, org = uuid7(), uuid7()
            application = Application(
                call_id=call.id,
                applicant_id=pi,
                org_id=org,
                status="approved",
                version=1,
                title=f"项目{n}",
                requested_budget_fen=1_000_000,
                submitted_version=1,
                submitted_at=NOW - timedelta(days=395),
            )
            session.add(application)
            await session.flush()
            project = Project(
                application_id=application.id,
                number=f"2026-{fund.code}-{n:04d}",
                call_id=call.id,
                program_id=program_id,
                year=2026,
                org_id=org,
                pi_id=pi,
                pi_name=f"负责人{n}",
                org_name="兰州大学",
                title=f"项目{n}",
                approved_budget_fen=1_000_000,
                status="in_progress",
                notice_starts_at=NOW - timedelta(days=380),
                notice_ends_at=NOW - timedelta(days=373),
                starts_on=date(2026, 7, 1),
                ends_on=date(2028, 6, 30),
            )
            session.add(project)
            await session.flush()
            for kind, due_on in (("annual", date(2027, 6, 15)), ("midterm", date(2027, 6, 1))):
                due = ReportDue(
                    project_id=project.id,
                    program_id=program_id,
                    kind=kind,
                    period="Y1" if kind == "annual" else None,
                    due_on=due_on,
                    reminder_days=[30, 7],
                    reminded=[],
                    next_notice_at=NOW - timedelta(days=60),
                )
                session.add(due)
                await session.flush()
                dues.append(due.id)
    return program_id, dues


async def _remove(sessions: async_sessionmaker[AsyncSession], program_id: UUID) -> None:
    projects = sa.select(Project.id).where(Project.program_id == program_id)
    async with sessions() as session, session.begin():
        await session.execute(sa.delete(ReportDue).where(ReportDue.program_id == program_id))
        await session.execute(
            sa.delete(events.outbox).where(
                events.outbox.c.aggregate_id.in_(
                    sa.select(sa.cast(Project.id, sa.String)).where(
                        Project.program_id == program_id
                    )
                )
            )
        )
        await session.execute(
            sa.delete(Transition).where(Transition.entity_id.in_(projects.scalar_subquery()))
        )
        applications = sa.select(Project.application_id).where(Project.program_id == program_id)
        calls = sa.select(Call.id).where(Call.program_id == program_id)
        ids = (await session.execute(applications)).scalars().all()
        await session.execute(sa.delete(Project).where(Project.program_id == program_id))
        await session.execute(sa.delete(Application).where(Application.id.in_(ids)))
        await session.execute(sa.delete(Call).where(Call.id.in_(calls.scalar_subquery())))
        await session.execute(sa.delete(Program).where(Program.id == program_id))


async def test_two_replicas_tell_each_reminder_and_each_overdue_report_once(
    database_url: str,
) -> None:
    engine = create_async_engine(database_url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    program_id, dues = await _world(sessions)
    try:
        await both_until_done(
            database_url,
            remind_once,
            NOW,
            BATCH,
            report_reminder_seconds=3600,  # the test runs the passes itself
            report_reminder_batch=BATCH,  # several passes each, interleaved
        )

        async with sessions() as session:
            told = (
                await session.execute(
                    sa.select(events.outbox.c.event_type, events.outbox.c.payload).where(
                        events.outbox.c.event_type.in_(["report.due_soon", "report.overdue"])
                    )
                )
            ).all()
        mine = {str(d) for d in dues}
        counted = Counter(
            (row.event_type, row.payload["due_id"]) for row in told if row.payload["due_id"] in mine
        )
        # The annual report (due 2027-06-15) is told it is due in 5 days; the mid-term one
        # (due 2027-06-01) is overdue. Each once, whichever replica told it.
        assert sorted(counted.values()) == [1] * (2 * PROJECTS)
        assert Counter(kind for kind, _ in counted) == {
            "report.due_soon": PROJECTS,
            "report.overdue": PROJECTS,
        }
    finally:
        await _remove(sessions, program_id)
        await engine.dispose()
