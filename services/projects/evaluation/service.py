"""Third-party evaluation: engaging evaluators, and the evaluations they file.

An engagement is active until a program manager ends it (stamped `ended_at`; both moves are in
the program's or project's history). Only while it is active does it let its evaluator read
what it covers (see visibility.py) and file evaluations. Separation of duties is checked when
an evaluator is engaged on a project and again on every filing, since a program-wide
engagement covers projects the evaluator or their organization may have applied for.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects import history
from services.projects.evaluation.exceptions import (
    EngagementExists,
    EngagementNotFound,
    EvaluationNotFound,
    NotAnEvaluator,
    ProjectRequired,
)
from services.projects.evaluation.repository import (
    ONE,
    EngagementFilter,
    EvaluationFilter,
    EvaluationRepository,
    engagements_in,
    engagements_of,
    evaluations_by,
    evaluations_in,
)
from services.projects.evaluation.schemas import (
    EngagementCreate,
    EngagementRead,
    EvaluationCreate,
    EvaluationRead,
)
from services.projects.exceptions import InvalidTransition, ProgramNotFound, ProjectNotFound
from services.projects.models import Application, Engagement, Evaluation, Project, events
from services.projects.models.lifecycle import ProjectStatus
from services.projects.scope import check_duties, managed_programs, require_manager_of
from services.projects.visibility import may_read_project
from shared.auth.roles import Role
from shared.auth.tokens import Principal
from shared.contracts.programs import EvaluatorEngagedV1, EvaluatorEngagementEndedV1
from shared.errors import Forbidden, Text
from shared.events.outbox import publish
from shared.pagination import PageParams

PROJECT_KINDS = ("execution", "outputs")  # always of one project


def _person(principal: Principal) -> UUID:
    if principal.user_id is None:
        raise Forbidden(Text("仅限个人账户", "Only a person may do this"))
    return principal.user_id


def _evaluator_id(principal: Principal) -> UUID | None:
    return principal.user_id if Role.evaluator in principal.roles else None


def _engagement_read(
    engagement: Engagement, number: str | None, name: str | None
) -> EngagementRead:
    return EngagementRead(
        id=engagement.id,
        evaluator_id=engagement.evaluator_id,
        evaluator_name=name,
        program_id=engagement.program_id,
        project_id=engagement.project_id,
        project_number=number,
        purpose=engagement.purpose,
        engaged_by=engagement.engaged_by,
        engaged_at=engagement.engaged_at,
        ended_at=engagement.ended_at,
        active=engagement.is_active,
    )


def _evaluation_read(evaluation: Evaluation, number: str | None) -> EvaluationRead:
    return EvaluationRead(
        id=evaluation.id,
        engagement_id=evaluation.engagement_id,
        program_id=evaluation.program_id,
        project_id=evaluation.project_id,
        project_number=number,
        kind=evaluation.kind,
        scores=evaluation.scores,
        summary=evaluation.summary,
        filed_by=evaluation.filed_by,
        filed_at=evaluation.filed_at,
    )


class EvaluationService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = EvaluationRepository(session)

    # --- who sees what: evaluators their own, managers their programs', admins all --------

    async def _managed_engagements(self, principal: Principal) -> sa.ColumnElement[bool]:
        return engagements_in(await managed_programs(self.session, principal))

    async def _visible_engagements(self, principal: Principal) -> sa.ColumnElement[bool]:
        managed = await self._managed_engagements(principal)
        me = _evaluator_id(principal)
        return managed if me is None else sa.or_(managed, engagements_of(me))

    async def _visible_evaluations(self, principal: Principal) -> sa.ColumnElement[bool]:
        managed = evaluations_in(await managed_programs(self.session, principal))
        me = _evaluator_id(principal)
        return managed if me is None else sa.or_(managed, evaluations_by(me))

    # --- engagements ---------------------------------------------------------------------

    async def _evaluator(self, evaluator_id: UUID) -> Principal:
        """The evaluator as the directory knows them (roles and organization, for the duties)."""
        row = await self.repo.person(evaluator_id)
        if row is None or not row.is_active or Role.evaluator not in row.roles:
            raise NotAnEvaluator()
        return Principal(
            subject=str(evaluator_id),
            roles=frozenset(row.roles),
            token_id="directory",
            org_id=row.org_id,
        )

    async def _application(self, project: Project) -> Application:
        application = await self.repo.application(project.application_id)
        assert application is not None  # a project always comes from an application
        return application

    async def engage(
        self, manager: Principal, data: EngagementCreate, now: datetime
    ) -> EngagementRead:
        evaluator = await self._evaluator(data.evaluator_id)
        project: Project | None = None
        if data.program_id is not None:
            if await self.repo.program(data.program_id) is None:
                raise ProgramNotFound()
            program_id = data.program_id
        else:
            assert data.project_id is not None  # the schema asks for exactly one
            project = await self.repo.project(data.project_id)
            if project is None or not await may_read_project(self.session, manager, project):
                raise ProjectNotFound()
            program_id = project.program_id
        await require_manager_of(self.session, manager, program_id)
        if project is not None:
            if project.status == ProjectStatus.cancelled:
                raise InvalidTransition(project.status)
            application = await self._application(project)
            # Choosing who evaluates one's own project is as much a conflict as evaluating it.
            await check_duties(self.session, manager, application)
            await check_duties(self.session, evaluator, application)
        # One active engagement per evaluator and scope, also when two managers engage the
        # same evaluator at the same moment.
        await self.repo.hold_evaluator(data.evaluator_id)
        existing = await self.repo.active_engagement_id(
            data.evaluator_id, data.program_id, data.project_id
        )
        if existing is not None:
            raise EngagementExists(extra={"engagement_id": str(existing)})
        engagement = Engagement(
            evaluator_id=data.evaluator_id,
            program_id=data.program_id,
            project_id=data.project_id,
            purpose=data.purpose,
            engaged_by=_person(manager),
            engaged_at=now,
        )
        await self.repo.add(engagement)
        await self._record_engagement(
            engagement, project, manager, EvaluatorEngagedV1.event_type, None
        )
        return await self.engagement(manager, engagement.id)

    async def end(
        self, manager: Principal, engagement_id: UUID, reason: str, now: datetime
    ) -> EngagementRead:
        engagement = await self.repo.locked_engagement(
            engagement_id, await self._managed_engagements(manager)
        )
        if engagement is None:
            raise EngagementNotFound()
        if not engagement.is_active:
            raise InvalidTransition("ended")
        engagement.ended_at = now
        await self.session.flush()
        project = await self.repo.project(engagement.project_id) if engagement.project_id else None
        await self._record_engagement(
            engagement, project, manager, EvaluatorEngagementEndedV1.event_type, reason
        )
        return await self.engagement(manager, engagement.id)

    async def _record_engagement(
        self,
        engagement: Engagement,
        project: Project | None,
        actor: Principal,
        action: str,
        reason: str | None,
    ) -> None:
        """In the history of what the engagement covers, so its story says who looked at it;
        and as an event, so that credit and funds scope the evaluator's reads the same way."""
        ended = action == EvaluatorEngagementEndedV1.event_type
        program = await self.repo.program(engagement.program_id) if engagement.program_id else None
        contract = EvaluatorEngagementEndedV1 if ended else EvaluatorEngagedV1
        await publish(
            self.session,
            events,
            contract(
                engagement_id=engagement.id,
                evaluator_id=engagement.evaluator_id,
                program_id=engagement.program_id,
                # The code too: funds names programs by code (ledgers, envelopes, schemes).
                program_code=program.code if program else None,
                project_id=engagement.project_id,
            ),
        )
        await self._record(
            project,
            engagement.program_id,
            action=action,
            actor=actor.subject,
            from_state="active" if ended else None,
            to_state="ended" if ended else "active",
            reason=reason,
            details={
                "engagement_id": str(engagement.id),
                "evaluator_id": str(engagement.evaluator_id),
                "purpose": engagement.purpose,
            },
        )

    async def _record(
        self, project: Project | None, program_id: UUID | None, **transition: Any
    ) -> None:
        if project is not None:
            await history.record(
                self.session,
                entity="project",
                entity_id=project.id,
                application_id=project.application_id,
                **transition,
            )
        else:
            assert program_id is not None  # without a project it is about a program
            await history.record(self.session, entity="program", entity_id=program_id, **transition)

    async def engagement(self, principal: Principal, engagement_id: UUID) -> EngagementRead:
        where = sa.and_(Engagement.id == engagement_id, await self._visible_engagements(principal))
        found = await self.repo.engagements(where, ONE)
        if not found:
            raise EngagementNotFound()
        return _engagement_read(*found[0])

    async def engagements(
        self, principal: Principal, where: EngagementFilter, page: PageParams
    ) -> list[EngagementRead]:
        visible = sa.and_(where.clause(), await self._visible_engagements(principal))
        return [_engagement_read(*row) for row in await self.repo.engagements(visible, page)]

    # --- evaluations ---------------------------------------------------------------------

    async def _project_in_scope(
        self, engagement: Engagement, project_id: UUID | None
    ) -> Project | None:
        """The project evaluated, if inside the engagement; 404 when outside it."""
        if engagement.project_id is not None:
            if project_id is not None and project_id != engagement.project_id:
                raise ProjectNotFound()
            project_id = engagement.project_id
        if project_id is None:
            return None
        project = await self.repo.project(project_id)
        if project is None or (
            engagement.program_id is not None and project.program_id != engagement.program_id
        ):
            raise ProjectNotFound()
        return project

    async def file(
        self, evaluator: Principal, data: EvaluationCreate, now: datetime
    ) -> EvaluationRead:
        me = _person(evaluator)
        engagement = await self.repo.active_engagement(data.engagement_id, me)
        if engagement is None:
            raise EngagementNotFound()
        project = await self._project_in_scope(engagement, data.project_id)
        if project is None and data.kind in PROJECT_KINDS:
            raise ProjectRequired()
        if project is not None:
            if project.status == ProjectStatus.cancelled:
                raise InvalidTransition(project.status)
            await check_duties(self.session, evaluator, await self._application(project))
        program_id = project.program_id if project else engagement.program_id
        evaluation = Evaluation(
            engagement_id=engagement.id,
            project_id=project.id if project else None,
            program_id=program_id,
            kind=data.kind,
            scores=dict(data.scores),
            summary=data.summary,
            filed_by=me,
            filed_at=now,
        )
        await self.repo.add(evaluation)
        await self._record(
            project,
            program_id,
            action="evaluation.filed",
            actor=evaluator.subject,
            details={
                "evaluation_id": str(evaluation.id),
                "engagement_id": str(engagement.id),
                "kind": data.kind,
            },
        )
        return _evaluation_read(evaluation, project.number if project else None)

    async def evaluation(self, principal: Principal, evaluation_id: UUID) -> EvaluationRead:
        where = sa.and_(Evaluation.id == evaluation_id, await self._visible_evaluations(principal))
        found = await self.repo.evaluations(where, ONE)
        if not found:
            raise EvaluationNotFound()
        return _evaluation_read(*found[0])

    async def evaluations(
        self, principal: Principal, where: EvaluationFilter, page: PageParams
    ) -> list[EvaluationRead]:
        visible = sa.and_(where.clause(), await self._visible_evaluations(principal))
        return [_evaluation_read(*row) for row in await self.repo.evaluations(visible, page)]
