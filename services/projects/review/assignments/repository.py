"""SQL for assignment runs, assignments, and what assigning reads of experts and conflicts."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from services.projects.models import (
    Application,
    ApplicationVersion,
    Assignment,
    AssignmentDraw,
    AssignmentRun,
    AssignmentRunJob,
    Call,
    Conflict,
    DeclaredConflict,
    Expert,
    Project,
    Report,
    ReviewRound,
    ReviewSettings,
    ScoreSheet,
    TaskBook,
    directory,
)
from services.projects.models.review import (
    LIVE_ASSIGNMENTS,
    AssignmentMethod,
    AssignmentStatus,
    SheetStatus,
)
from shared.directory import display_names


@dataclass(frozen=True)
class AssignmentFilter:
    application_id: UUID | None = None
    expert_id: UUID | None = None
    status: AssignmentStatus | None = None

    def clause(self) -> sa.ColumnElement[bool]:
        conditions: list[sa.ColumnElement[bool]] = []
        if self.application_id is not None:
            conditions.append(Assignment.application_id == self.application_id)
        if self.expert_id is not None:
            conditions.append(Assignment.expert_id == self.expert_id)
        if self.status is not None:
            conditions.append(Assignment.status == self.status)
        return sa.and_(sa.true(), *conditions)


class AssignmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- rounds and experts ----------------------------------------------------------------

    async def round(self, round_id: UUID, *, lock: bool = False) -> ReviewRound | None:
        query = sa.select(ReviewRound).where(ReviewRound.id == round_id)
        if lock:
            # Every writer of the round's assignments takes turns here (and with the refresh of
            # its conflicts, which locks the round the same way).
            query = query.with_for_update().execution_options(populate_existing=True)
        return await self.session.scalar(query)

    async def active_experts(self) -> Sequence[Expert]:
        return (
            await self.session.scalars(
                sa.select(Expert).where(Expert.active.is_(True)).order_by(Expert.user_id)
            )
        ).all()

    async def expert(self, expert_id: UUID) -> Expert | None:
        return await self.session.get(Expert, expert_id)

    async def experts(self, expert_ids: Collection[UUID]) -> dict[UUID, Expert]:
        if not expert_ids:
            return {}
        ids = sa.bindparam(None, list(expert_ids), type_=ARRAY(sa.Uuid()), unique=True)
        found = await self.session.scalars(sa.select(Expert).where(Expert.user_id == sa.any_(ids)))
        return {e.user_id: e for e in found}

    # --- live assignments and conflicts ----------------------------------------------------

    async def live_pairs(self, round_id: UUID) -> list[tuple[UUID, UUID]]:
        """(application, expert) of every live assignment in the round."""
        rows = await self.session.execute(
            sa.select(Assignment.application_id, Assignment.expert_id)
            .where(Assignment.round_id == round_id, Assignment.status.in_(LIVE_ASSIGNMENTS))
            .order_by(Assignment.application_id, Assignment.expert_id)
        )
        return [(r.application_id, r.expert_id) for r in rows]

    async def live_load(self, round_id: UUID, expert_id: UUID) -> int:
        count = await self.session.scalar(
            sa.select(sa.func.count())
            .select_from(Assignment)
            .where(
                Assignment.round_id == round_id,
                Assignment.expert_id == expert_id,
                Assignment.status.in_(LIVE_ASSIGNMENTS),
            )
        )
        return count or 0

    async def live_on(self, round_id: UUID, application_id: UUID) -> Sequence[Assignment]:
        return (
            await self.session.scalars(
                sa.select(Assignment).where(
                    Assignment.round_id == round_id,
                    Assignment.application_id == application_id,
                    Assignment.status.in_(LIVE_ASSIGNMENTS),
                )
            )
        ).all()

    async def ever_on(self, round_id: UUID, application_id: UUID) -> set[UUID]:
        """Experts who were ever on this application in the round, whatever became of it: a
        replacement never brings back someone who declined or was removed."""
        rows = await self.session.scalars(
            sa.select(Assignment.expert_id).where(
                Assignment.round_id == round_id, Assignment.application_id == application_id
            )
        )
        return set(rows.all())

    async def ever_on_round(self, round_id: UUID) -> dict[UUID, set[UUID]]:
        """`ever_on` for every application of the round at once."""
        rows = await self.session.execute(
            sa.select(Assignment.application_id, Assignment.expert_id).where(
                Assignment.round_id == round_id
            )
        )
        found: dict[UUID, set[UUID]] = {}
        for application_id, expert_id in rows:
            found.setdefault(application_id, set()).add(expert_id)
        return found

    async def active_conflicts(self, round_id: UUID) -> list[tuple[UUID, UUID, str]]:
        """(application, expert, kind) of the round's stored conflicts nobody overrode."""
        rows = await self.session.execute(
            sa.select(Conflict.application_id, Conflict.expert_id, Conflict.kind)
            .where(Conflict.round_id == round_id, Conflict.overridden_at.is_(None))
            .order_by(Conflict.application_id, Conflict.expert_id, Conflict.kind)
        )
        return [(r.application_id, r.expert_id, r.kind) for r in rows]

    async def add_declaration(self, declaration: DeclaredConflict) -> None:
        self.session.add(declaration)
        await self.session.flush()

    async def store_conflict(self, row: Conflict) -> None:
        """Add the conflict, or bring a stored one of the same kind up to date: a conflict
        the expert declares outweighs an earlier override, so that override ends."""
        key = (row.round_id, row.application_id, row.expert_id, row.kind)
        stored = await self.session.get(Conflict, key, with_for_update=True)
        if stored is None:
            self.session.add(row)
        else:
            stored.evidence, stored.found_at = row.evidence, row.found_at
            stored.overridden_by = stored.override_reason = stored.overridden_at = None
        await self.session.flush()

    # --- runs ------------------------------------------------------------------------------

    async def add_run(self, run: AssignmentRun) -> AssignmentRun:
        self.session.add(run)
        await self.session.flush()
        return run

    async def run(
        self, run_id: UUID, *, lock: bool = False, with_result: bool = True
    ) -> AssignmentRun | None:
        query = sa.select(AssignmentRun).where(AssignmentRun.id == run_id)
        if not with_result:
            query = query.options(defer(AssignmentRun.result, raiseload=True))
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        return await self.session.scalar(query)

    async def add_job(self, job: AssignmentRunJob) -> None:
        self.session.add(job)
        await self.session.flush()

    async def job(
        self, job_id: UUID, *, lock: bool = False, skip_locked: bool = False
    ) -> AssignmentRunJob | None:
        """The job; locked FOR UPDATE when asked (`skip_locked`: None if someone holds it)."""
        query = sa.select(AssignmentRunJob).where(AssignmentRunJob.id == job_id)
        if lock:
            query = query.with_for_update(skip_locked=skip_locked).execution_options(
                populate_existing=True
            )
        return await self.session.scalar(query)

    async def experts_of_run(self, run_id: UUID) -> set[UUID]:
        """The experts a run proposes (read from its stored proposal by PostgreSQL)."""
        pair = sa.func.jsonb_array_elements(AssignmentRun.result["pairs"]).table_valued(
            sa.column("value", JSONB)
        )
        rows = await self.session.scalars(
            sa.select(pair.c.value["expert_id"].astext)
            .distinct()
            .select_from(AssignmentRun)
            .join(pair, sa.true())
            .where(AssignmentRun.id == run_id)
        )
        return {UUID(e) for e in rows}

    async def insert_assignments(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(sa.insert(Assignment), rows)

    async def runs_of(
        self, round_id: UUID, *, limit: int, offset: int
    ) -> Sequence[tuple[AssignmentRun, dict[str, Any], int]]:
        """The round's runs, newest first, each with its quality and how many applications it
        leaves short, without reading its pairs."""
        rows = await self.session.execute(
            sa.select(
                AssignmentRun,
                AssignmentRun.result["quality"],
                sa.func.jsonb_array_length(AssignmentRun.result["unassignable"]),
            )
            .options(defer(AssignmentRun.result, raiseload=True))
            .where(AssignmentRun.round_id == round_id)
            .order_by(AssignmentRun.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [(r[0], r[1], r[2]) for r in rows]

    # --- the call's method and random draws ------------------------------------------------

    async def review_settings(self, call_id: UUID) -> ReviewSettings | None:
        return await self.session.get(ReviewSettings, call_id)

    async def method_of(self, call_id: UUID) -> AssignmentMethod:
        """How the call's rounds find their experts (no settings: the optimal assignment)."""
        method = await self.session.scalar(
            sa.select(ReviewSettings.assignment_method).where(ReviewSettings.call_id == call_id)
        )
        return AssignmentMethod(method) if method else AssignmentMethod.optimal

    async def add_review_settings(self, settings: ReviewSettings) -> None:
        self.session.add(settings)
        await self.session.flush()

    async def add_draw(self, draw: AssignmentDraw) -> AssignmentDraw:
        self.session.add(draw)
        await self.session.flush()
        return draw

    async def draw(self, draw_id: UUID) -> AssignmentDraw | None:
        return await self.session.get(AssignmentDraw, draw_id)

    async def draws_of(self, round_id: UUID) -> Sequence[AssignmentDraw]:
        """The round's draws, earliest first."""
        rows = await self.session.scalars(
            sa.select(AssignmentDraw)
            .where(AssignmentDraw.round_id == round_id)
            .order_by(AssignmentDraw.drawn_at, AssignmentDraw.id)
        )
        return rows.all()

    # --- assignments -----------------------------------------------------------------------

    async def add(self, assignments: Sequence[Assignment]) -> None:
        self.session.add_all(assignments)
        await self.session.flush()

    async def call(self, call_id: UUID) -> Call:
        call = await self.session.get(Call, call_id)
        assert call is not None  # a foreign key
        return call

    async def titles(self, application_ids: Collection[UUID]) -> dict[UUID, str]:
        ids = sa.bindparam(None, list(application_ids), type_=ARRAY(sa.Uuid()), unique=True)
        rows = await self.session.execute(
            sa.select(Application.id, Application.title).where(Application.id == sa.any_(ids))
        )
        return {row.id: row.title for row in rows}

    async def assignment(self, assignment_id: UUID, *, lock: bool = False) -> Assignment | None:
        query = sa.select(Assignment).where(Assignment.id == assignment_id)
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        return await self.session.scalar(query)

    async def of_round(
        self, round_id: UUID, where: AssignmentFilter, *, limit: int, offset: int
    ) -> Sequence[tuple[Assignment, str]]:
        """The round's assignments with each expert's name, for the round's managers."""
        rows = await self.session.execute(
            sa.select(Assignment, Expert.name)
            .join(Expert, Expert.user_id == Assignment.expert_id)
            .where(Assignment.round_id == round_id, where.clause())
            .order_by(Assignment.application_id, Assignment.id)
            .limit(limit)
            .offset(offset)
        )
        return [(r[0], r[1]) for r in rows]

    async def live_of_expert(
        self, expert_id: UUID, *, limit: int, offset: int
    ) -> Sequence[tuple[Assignment, ReviewRound, Application]]:
        rows = await self.session.execute(
            sa.select(Assignment, ReviewRound, Application)
            .join(ReviewRound, ReviewRound.id == Assignment.round_id)
            .join(Application, Application.id == Assignment.application_id)
            .where(Assignment.expert_id == expert_id, Assignment.status.in_(LIVE_ASSIGNMENTS))
            .order_by(Assignment.id)
            .limit(limit)
            .offset(offset)
        )
        return [(r[0], r[1], r[2]) for r in rows]

    async def live_of_expert_on(
        self, expert_id: UUID, application_id: UUID
    ) -> Sequence[tuple[Assignment, ReviewRound, Application]]:
        """The expert's live assignments on one application (one per round at most)."""
        rows = await self.session.execute(
            sa.select(Assignment, ReviewRound, Application)
            .join(ReviewRound, ReviewRound.id == Assignment.round_id)
            .join(Application, Application.id == Assignment.application_id)
            .where(
                Assignment.expert_id == expert_id,
                Assignment.application_id == application_id,
                Assignment.status.in_(LIVE_ASSIGNMENTS),
            )
        )
        return [(r[0], r[1], r[2]) for r in rows]

    async def declined_by_expert(
        self, expert_id: UUID, *, limit: int, offset: int
    ) -> Sequence[tuple[Assignment, ReviewRound, Application, bool]]:
        """The expert's declined assignments, latest first, each with whether they declared a
        conflict when declining (the round's `declared` conflict on the pair)."""
        declared = (
            sa.select(Conflict.kind)
            .where(
                Conflict.round_id == Assignment.round_id,
                Conflict.application_id == Assignment.application_id,
                Conflict.expert_id == Assignment.expert_id,
                Conflict.kind == "declared",
            )
            .exists()
        )
        rows = await self.session.execute(
            sa.select(Assignment, ReviewRound, Application, declared)
            .join(ReviewRound, ReviewRound.id == Assignment.round_id)
            .join(Application, Application.id == Assignment.application_id)
            .where(
                Assignment.expert_id == expert_id,
                Assignment.status == AssignmentStatus.declined,
            )
            .order_by(Assignment.responded_at.desc(), Assignment.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [(r[0], r[1], r[2], bool(r[3])) for r in rows]

    async def call_titles(self, call_ids: Collection[UUID]) -> dict[UUID, str]:
        if not call_ids:
            return {}
        rows = await self.session.execute(
            sa.select(Call.id, Call.title).where(Call.id.in_(call_ids))
        )
        return {row.id: row.title for row in rows}

    async def sheets(self, assignment_ids: Collection[UUID]) -> dict[UUID, ScoreSheet]:
        if not assignment_ids:
            return {}
        found = await self.session.scalars(
            sa.select(ScoreSheet).where(ScoreSheet.assignment_id.in_(assignment_ids))
        )
        return {sheet.assignment_id: sheet for sheet in found}

    async def person_names(self, ids: Collection[UUID]) -> dict[UUID, str]:
        return await display_names(self.session, directory, ids)

    async def organization_names(self, ids: Collection[UUID]) -> dict[UUID, str]:
        if not ids:
            return {}
        orgs = directory.organizations
        rows = await self.session.execute(
            sa.select(orgs.c.id, orgs.c.name).where(orgs.c.id.in_(ids))
        )
        return {row.id: row.name for row in rows}

    async def sheet_submitted(self, assignment_id: UUID) -> bool:
        found = await self.session.scalar(
            sa.select(ScoreSheet.status).where(ScoreSheet.assignment_id == assignment_id)
        )
        return found == SheetStatus.submitted

    async def application(self, application_id: UUID, *, lock: bool = False) -> Application | None:
        query = sa.select(Application).where(Application.id == application_id)
        if lock:
            query = query.with_for_update(key_share=True)
        return await self.session.scalar(query)

    async def submitted_contents(
        self, applications: Collection[Application]
    ) -> dict[UUID, dict[str, Any]]:
        """Each application's submitted version (what the experts review)."""
        keys = [(a.id, a.submitted_version or a.version) for a in applications]
        if not keys:
            return {}
        rows = await self.session.execute(
            sa.select(ApplicationVersion.application_id, ApplicationVersion.content).where(
                sa.tuple_(ApplicationVersion.application_id, ApplicationVersion.version).in_(keys)
            )
        )
        return {r.application_id: r.content for r in rows}

    async def final_reports(
        self, report_ids: Collection[UUID]
    ) -> dict[UUID, tuple[Report, Project, TaskBook | None]]:
        """Final reports an acceptance round reviews, with their project and its task book."""
        if not report_ids:
            return {}
        ids = sa.bindparam(None, list(report_ids), type_=ARRAY(sa.Uuid()), unique=True)
        rows = await self.session.execute(
            sa.select(Report, Project, TaskBook)
            .join(Project, Project.id == Report.project_id)
            .outerjoin(TaskBook, TaskBook.project_id == Project.id)
            .where(Report.id == sa.any_(ids))
        )
        return {r[0].id: (r[0], r[1], r[2]) for r in rows}
