"""Applications to join the expert pool (专家入库申请): a person applies with the fields the pool
keeps; a program manager (or admin) other than the applicant approves or declines, with a
reason. Approval adds the person to the pool in the same transaction and publishes
`expert.admitted`, on which the gateway grants the `expert` role; a decline publishes
`expert_application.declined`. Every step is in the history (entity "admission").
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.projects import history
from services.projects.models import Expert, ExpertApplication, ExpertApplicationState, events
from services.projects.review.admissions.exceptions import (
    AlreadyAnExpert,
    ApplicationDecided,
    ApplicationPending,
    ExpertApplicationNotFound,
    OwnApplication,
    PersonUnavailable,
)
from services.projects.review.admissions.repository import ExpertApplicationRepository
from services.projects.review.admissions.schemas import (
    ExpertApplicationCreate,
    ExpertApplicationDecision,
    ExpertApplicationRead,
)
from services.projects.review.experts.repository import ExpertRepository
from shared.auth.roles import Role
from shared.auth.tokens import Principal
from shared.contracts.experts import ExpertAdmittedV1, ExpertApplicationDeclinedV1
from shared.errors import Forbidden, Text
from shared.events.outbox import publish

ENTITY = "admission"  # the history's entity names are short (12 characters at most)


def _person(principal: Principal) -> UUID:
    if principal.user_id is None:
        raise Forbidden(Text("仅限个人账户", "Only a person may do this"))
    return principal.user_id


class ExpertApplicationService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = ExpertApplicationRepository(session)
        self.pool = ExpertRepository(session)

    async def _reads(self, found: Sequence[ExpertApplication]) -> list[ExpertApplicationRead]:
        people = await self.repo.people({a.user_id for a in found})
        return [
            ExpertApplicationRead(
                id=a.id,
                user_id=a.user_id,
                name=people.get(a.user_id, (None, None))[0],
                org_name=people.get(a.user_id, (None, None))[1],
                title=a.title,
                region=a.region,
                primary_subjects=a.primary_subjects,
                secondary_subjects=a.secondary_subjects,
                keywords=a.keywords,
                statement=a.statement,
                state=a.state,
                submitted_at=a.submitted_at,
                decided_by=a.decided_by,
                decided_at=a.decided_at,
                reason=a.reason,
            )
            for a in found
        ]

    async def submit(
        self, principal: Principal, data: ExpertApplicationCreate, now: datetime
    ) -> ExpertApplicationRead:
        user_id = _person(principal)
        if Role.expert in principal.roles or await self.pool.expert(user_id) is not None:
            raise AlreadyAnExpert()
        pending = await self.repo.pending_of(user_id)
        if pending is not None:
            raise ApplicationPending(extra={"application_id": str(pending.id)})
        application = ExpertApplication(
            user_id=user_id,
            title=data.title,
            region=data.region,
            primary_subjects=list(data.primary_subjects),
            secondary_subjects=list(data.secondary_subjects),
            keywords=list(data.keywords),
            statement=data.statement,
            state=ExpertApplicationState.pending,
            submitted_at=now,
        )
        await self.repo.add(application)
        await history.record(
            self.session,
            entity=ENTITY,
            entity_id=application.id,
            action="submitted",
            actor=str(user_id),
            to_state=ExpertApplicationState.pending,
        )
        (read,) = await self._reads([application])
        return read

    async def mine(
        self, principal: Principal, *, offset: int, limit: int
    ) -> list[ExpertApplicationRead]:
        found = await self.repo.of_person(_person(principal), offset=offset, limit=limit)
        return await self._reads(found)

    async def listing(
        self, state: ExpertApplicationState | None, *, offset: int, limit: int
    ) -> list[ExpertApplicationRead]:
        return await self._reads(await self.repo.listing(state, offset=offset, limit=limit))

    async def decide(
        self,
        manager: Principal,
        application_id: UUID,
        data: ExpertApplicationDecision,
        now: datetime,
    ) -> ExpertApplicationRead:
        decider = _person(manager)
        application = await self.repo.application(application_id, lock=True)
        if application is None:
            raise ExpertApplicationNotFound()
        if application.user_id == decider:
            raise OwnApplication()
        if application.state is not ExpertApplicationState.pending:
            raise ApplicationDecided(extra={"state": application.state.value})
        if data.decision == "approve":
            await self._admit(application, decider, now)
            application.state = ExpertApplicationState.approved
        else:
            application.state = ExpertApplicationState.declined
        application.decided_by = decider
        application.decided_at = now
        application.reason = data.reason
        await self.session.flush()
        await history.record(
            self.session,
            entity=ENTITY,
            entity_id=application.id,
            action=application.state.value,
            actor=str(decider),
            from_state=ExpertApplicationState.pending,
            to_state=application.state,
            reason=data.reason,
        )
        contract = (
            ExpertAdmittedV1
            if application.state is ExpertApplicationState.approved
            else ExpertApplicationDeclinedV1
        )
        await publish(
            self.session,
            events,
            contract(
                application_id=application.id,
                user_id=application.user_id,
                decided_by=decider,
                decided_at=now,
                reason=data.reason,
            ),
        )
        (read,) = await self._reads([application])
        return read

    async def _admit(self, application: ExpertApplication, decider: UUID, now: datetime) -> None:
        """The person's pool entry, from the application and the directory."""
        user_id = application.user_id
        person = await self.pool.directory_person(user_id)
        if person is None or not person["is_active"]:
            raise PersonUnavailable()
        await self.pool.lock_entry(user_id)
        if await self.pool.expert(user_id) is not None:  # registered by staff meanwhile
            raise AlreadyAnExpert()
        await self.pool.add(
            Expert(
                user_id=user_id,
                name=person["display_name"],
                org_id=person["org_id"],
                org_credit_code=person["org_credit_code"],
                title=application.title,
                region=application.region,
                primary_subjects=list(application.primary_subjects),
                secondary_subjects=list(application.secondary_subjects),
                keywords=list(application.keywords),
                active=True,
                created_at=now,
                updated_at=now,
            )
        )
        await history.record(
            self.session,
            entity="expert",
            entity_id=user_id,
            action="registered",
            actor=str(decider),
            to_state="active",
            details={
                "application_id": str(application.id),
                "org_credit_code": person["org_credit_code"],
            },
        )
