"""Consortium applications (产学研联合申报): a lead organization (the applicant's) and
participating organizations, each with its share of the budget, its part of the work and its
co-PIs.

The PI (or a delegate) sets the parts while the application is a draft or returned and the
call is open; the shares must add up to the latest version's budget, and each co-PI must be
an active person of their part's organization on the team (not the PI). Each participating
organization's admin endorses (or declines) its own part before submission; a part that
changes goes back to pending. Submission needs every part endorsed (`rules.check_submittable`);
the lead organization endorses the whole application afterwards, as for any application.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.projects import history
from services.projects.applications.exceptions import ReasonRequired
from services.projects.applications.repository import ApplicationRepository
from services.projects.applications.service import EDITABLE, ApplicationService, ensure_open
from services.projects.consortium import rules
from services.projects.consortium.exceptions import (
    ConsortiumNotFound,
    InvalidCoPis,
    LeadEndorsesApplication,
    LeadMissing,
    NotYourPart,
    PartNotFound,
    UnknownOrganizations,
)
from services.projects.consortium.repository import ConsortiumRepository
from services.projects.consortium.schemas import ConsortiumWrite, PartEndorsementWrite, PartWrite
from services.projects.drafting import drafted_application
from services.projects.exceptions import ApplicationNotFound, InvalidTransition
from services.projects.models import Application, ConsortiumPart, PartEndorsement
from services.projects.scope import check_personal_duties, team_ids
from services.projects.visibility import Access, application_access
from shared.auth.tokens import Principal
from shared.errors import Text


@dataclass(frozen=True)
class Consortium:
    application: Application
    parts: Sequence[ConsortiumPart]
    org_names: dict[UUID, str]


class ConsortiumService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repository = ConsortiumRepository(session)
        self.applications = ApplicationRepository(session)

    async def read(self, principal: Principal, application_id: UUID) -> Consortium:
        """For whoever reads the application; staff only while it is in the agency's hands."""
        application, access = await ApplicationService(self.session).readable(
            principal, application_id
        )
        if access is Access.SUBMITTED and application.status in EDITABLE:
            raise ConsortiumNotFound()
        return await self._consortium(application)

    async def write(
        self, principal: Principal, application_id: UUID, data: ConsortiumWrite, now: datetime
    ) -> Consortium:
        application = await self._drafting(principal, application_id, now)
        wanted = {p.org_id: p for p in data.parts}
        if application.org_id not in wanted:
            raise LeadMissing()
        names = await self.repository.organization_names(wanted)
        unknown = [o for o in wanted if o not in names]
        if unknown:
            raise UnknownOrganizations(unknown)
        rules.check_shares(sum(p.budget_fen for p in data.parts), application.requested_budget_fen)
        content = await ApplicationService(self.session).content(application)
        await self._check_co_pis(application, data.parts, team_ids(content))

        existing = {p.org_id: p for p in await self.repository.parts(application.id)}
        reset: list[str] = []
        for write in data.parts:
            old = existing.pop(write.org_id, None)
            if old is None:
                await self.repository.add(self._new_part(application, write, principal, now))
            elif _changed(old, write):
                if old.endorsement not in (None, PartEndorsement.pending):
                    reset.append(str(old.org_id))
                _rewrite(old, write, principal, now)
        await self.repository.delete(existing.values())
        await self.session.flush()
        await self._record(
            application,
            principal,
            "consortium.set",
            details={
                "parts": [
                    {"org_id": str(p.org_id), "budget_fen": p.budget_fen, "co_pi_ids": _ids(p)}
                    for p in data.parts
                ],
                "endorsements_reset": reset,
                "removed": [str(o) for o in existing],
            },
        )
        return await self._consortium(application)

    async def dissolve(self, principal: Principal, application_id: UUID, now: datetime) -> None:
        application = await self._drafting(principal, application_id, now)
        parts = await self.repository.parts(application.id)
        if not parts:
            raise ConsortiumNotFound()
        await self.repository.delete(parts)
        await self._record(
            application,
            principal,
            "consortium.dissolve",
            details={"removed": [str(p.org_id) for p in parts]},
        )

    async def endorse_part(
        self,
        principal: Principal,
        application_id: UUID,
        org_id: UUID,
        data: PartEndorsementWrite,
        now: datetime,
    ) -> Consortium:
        """A participating organization's admin says yes (or no, with reasons) to its part."""
        application = await self.applications.locked(application_id)
        if application is None or (
            await application_access(self.session, principal, application) is not Access.WHOLE
        ):
            raise ApplicationNotFound()
        part = next(
            (p for p in await self.repository.parts(application.id) if p.org_id == org_id), None
        )
        if part is None:
            raise PartNotFound()
        if principal.org_id != org_id:
            raise NotYourPart()
        if part.is_lead:
            raise LeadEndorsesApplication()
        if application.status not in EDITABLE:
            raise InvalidTransition(application.status)
        await check_personal_duties(self.session, principal, application)
        if data.decision == "decline" and not data.reason:
            raise ReasonRequired()
        part.endorsement = (
            PartEndorsement.endorsed if data.decision == "endorse" else PartEndorsement.declined
        )
        part.endorsed_by = principal.user_id
        part.endorsed_at = now
        part.endorsed_version = application.version
        part.endorsement_reason = data.reason or None
        await self.session.flush()
        await self._record(
            application,
            principal,
            f"consortium.{data.decision}",
            reason=data.reason or None,
            details={"org_id": str(org_id), "version": application.version},
        )
        return await self._consortium(application)

    async def _drafting(
        self, principal: Principal, application_id: UUID, now: datetime
    ) -> Application:
        """Locked, for its PI or a delegate, editable, its call open."""
        application = await drafted_application(self.session, principal, application_id)
        if application.status not in EDITABLE:
            raise InvalidTransition(application.status)
        call = await self.applications.call(application.call_id)
        assert call is not None  # a foreign key
        ensure_open(call, now)
        return application

    async def _check_co_pis(
        self, application: Application, parts: Sequence[PartWrite], team: set[UUID]
    ) -> None:
        named = [u for p in parts for u in p.co_pi_ids]
        if application.applicant_id in named:
            raise InvalidCoPis(
                Text("项目负责人不能同时列为课题负责人", "the PI is not also a co-PI"),
                [application.applicant_id],
            )
        leaderless = [p.org_id for p in parts if p.org_id != application.org_id and not p.co_pi_ids]
        if leaderless:
            raise InvalidCoPis(
                Text(
                    f"每个参与单位须指定课题负责人：{'、'.join(map(str, leaderless))}",
                    f"each participating organization names a co-PI: "
                    f"{', '.join(map(str, leaderless))}",
                ),
                [],
            )
        member_of = await self.repository.organizations_of(named)
        strangers = [u for p in parts for u in p.co_pi_ids if member_of.get(u, None) != p.org_id]
        if strangers:
            raise InvalidCoPis(
                Text(
                    "课题负责人须为其所在部分的单位的在职人员",
                    "each co-PI must be an active person of their part's organization",
                ),
                strangers,
            )
        rules.check_co_pis_on_team(named, team)

    @staticmethod
    def _new_part(
        application: Application, write: PartWrite, principal: Principal, now: datetime
    ) -> ConsortiumPart:
        assert principal.user_id is not None  # the PI or a delegate
        is_lead = write.org_id == application.org_id
        return ConsortiumPart(
            application_id=application.id,
            org_id=write.org_id,
            is_lead=is_lead,
            budget_fen=write.budget_fen,
            work=write.work,
            co_pi_ids=list(write.co_pi_ids),
            endorsement=None if is_lead else PartEndorsement.pending,
            set_by=principal.user_id,
            set_at=now,
        )

    async def _consortium(self, application: Application) -> Consortium:
        parts = await self.repository.parts(application.id)
        names = await self.repository.organization_names(p.org_id for p in parts)
        return Consortium(application, parts, names)

    async def _record(
        self,
        application: Application,
        principal: Principal,
        action: str,
        *,
        reason: str | None = None,
        details: dict[str, Any],
    ) -> None:
        await history.record(
            self.session,
            entity="application",
            entity_id=application.id,
            application_id=application.id,
            action=action,
            actor=principal.subject,
            from_state=application.status,
            to_state=application.status,
            reason=reason,
            details=details,
        )


def _ids(part: PartWrite) -> list[str]:
    return [str(u) for u in part.co_pi_ids]


def _changed(old: ConsortiumPart, new: PartWrite) -> bool:
    return (old.budget_fen, old.work, sorted(old.co_pi_ids)) != (
        new.budget_fen,
        new.work,
        sorted(new.co_pi_ids),
    )


def _rewrite(part: ConsortiumPart, write: PartWrite, principal: Principal, now: datetime) -> None:
    """The part as written now; a participating organization is asked again."""
    assert principal.user_id is not None
    part.budget_fen = write.budget_fen
    part.work = write.work
    part.co_pi_ids = list(write.co_pi_ids)
    part.set_by = principal.user_id
    part.set_at = now
    if not part.is_lead:
        part.endorsement = PartEndorsement.pending
        part.endorsed_by = None
        part.endorsed_at = None
        part.endorsed_version = None
        part.endorsement_reason = None
