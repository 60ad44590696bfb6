"""The expert pool (专家库): program staff register experts from the gateway's directory;
experts keep their availability, keywords and secondary fields up to date and declare their
own conflicts of interest. Organization links (parent/subsidiary, by credit code) make
experts of linked organizations count as the same organization.

Every registration, change and declaration is in the history (entity "expert").
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.projects import history
from services.projects.models import DeclaredConflict, Expert, OrganizationLink
from services.projects.review.experts.exceptions import (
    DeclarationExists,
    ExpertNotFound,
    ExpertProfileInvalid,
    NotAnExpert,
    OrganizationLinkExists,
    UnknownPerson,
)
from services.projects.review.experts.repository import ExpertFilter, ExpertRepository
from services.projects.review.experts.schemas import (
    DeclarationCreate,
    DeclarationRead,
    ExpertPatch,
    ExpertProfile,
    ExpertRead,
    OrganizationLinkCreate,
    OrganizationLinkRead,
    Period,
)
from shared.auth.roles import Role
from shared.auth.tokens import Principal
from shared.errors import Forbidden, Text


def _person(principal: Principal) -> UUID:
    if principal.user_id is None:
        raise Forbidden(Text("仅限个人账户", "Only a person may do this"))
    return principal.user_id


def _state(active: bool) -> str:
    return "active" if active else "inactive"


def _periods(periods: Sequence[Period]) -> list[dict[str, Any]]:
    return [p.model_dump(mode="json", by_alias=True) for p in periods]


def _staff(principal: Principal) -> bool:
    return principal.has_any(Role.program_manager, Role.admin)


class ExpertService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = ExpertRepository(session)

    async def _reads(self, experts: Sequence[Expert]) -> list[ExpertRead]:
        names = await self.repo.organization_names(
            {e.org_credit_code for e in experts if e.org_credit_code}
        )
        return [
            ExpertRead(
                user_id=e.user_id,
                name=e.name,
                title=e.title,
                org_id=e.org_id,
                org_credit_code=e.org_credit_code,
                org_name=names.get(e.org_credit_code or ""),
                region=e.region,
                primary_subjects=e.primary_subjects,
                secondary_subjects=e.secondary_subjects,
                keywords=e.keywords,
                max_load=e.max_load,
                availability=[Period.model_validate(p) for p in e.availability],
                active=e.active,
                created_at=e.created_at,
                updated_at=e.updated_at,
            )
            for e in experts
        ]

    async def _declaration_reads(
        self, declarations: Sequence[DeclaredConflict]
    ) -> list[DeclarationRead]:
        people = await self.repo.person_names({d.person_id for d in declarations if d.person_id})
        orgs = await self.repo.organization_names(
            {d.credit_code for d in declarations if d.credit_code}
        )
        return [
            DeclarationRead(
                id=d.id,
                person_id=d.person_id,
                person_name=people.get(d.person_id) if d.person_id else None,
                credit_code=d.credit_code,
                org_name=orgs.get(d.credit_code) if d.credit_code else None,
                reason=d.reason,
                declared_at=d.declared_at,
            )
            for d in declarations
        ]

    async def _detail(self, expert: Expert) -> ExpertRead:
        (read,) = await self._reads([expert])
        declarations = await self.repo.declarations(expert.user_id)
        return read.model_copy(
            update={"declared_conflicts": await self._declaration_reads(declarations)}
        )

    async def _own(self, principal: Principal, *, lock: bool = False) -> Expert:
        expert = await self.repo.expert(_person(principal), lock=lock)
        if expert is None:
            raise ExpertNotFound()
        return expert

    # --- the pool -----------------------------------------------------------------------

    async def register(
        self, manager: Principal, user_id: UUID, data: ExpertProfile, now: datetime
    ) -> tuple[ExpertRead, bool]:
        """Add the person to the pool or update their entry; True when added."""
        person = await self.repo.directory_person(user_id)
        if person is None or not person["is_active"] or Role.expert not in person["roles"]:
            raise NotAnExpert()
        # Two registrations of one person at once: the second waits and updates.
        await self.repo.lock_entry(user_id)
        expert = await self.repo.expert(user_id, lock=True)
        created = expert is None
        before = None if expert is None else _state(expert.active)
        if expert is None:
            expert = Expert(user_id=user_id, created_at=now)
        expert.name = person["display_name"]
        expert.org_id = person["org_id"]
        expert.org_credit_code = person["org_credit_code"]
        expert.title = data.title
        expert.region = data.region
        expert.primary_subjects = list(data.primary_subjects)
        expert.secondary_subjects = list(data.secondary_subjects)
        expert.keywords = list(data.keywords)
        expert.max_load = data.max_load
        expert.availability = _periods(data.availability)
        expert.active = data.active
        expert.updated_at = now
        await self.repo.add(expert)
        await history.record(
            self.session,
            entity="expert",
            entity_id=user_id,
            action="registered" if created else "updated",
            actor=str(_person(manager)),
            from_state=before,
            to_state=_state(expert.active),
            details=data.model_dump(mode="json", by_alias=True)
            | {"org_credit_code": expert.org_credit_code},
        )
        return await self._detail(expert), created

    async def search(self, where: ExpertFilter, limit: int, offset: int) -> list[ExpertRead]:
        return await self._reads(await self.repo.search(where, limit, offset))

    async def get(self, reader: Principal, user_id: UUID) -> ExpertRead:
        """Staff see any entry with its declarations; an expert only their own."""
        if not _staff(reader) and reader.user_id != user_id:
            raise ExpertNotFound()
        expert = await self.repo.expert(user_id)
        if expert is None:
            raise ExpertNotFound()
        return await self._detail(expert)

    async def mine(self, principal: Principal) -> ExpertRead:
        return await self._detail(await self._own(principal))

    async def update_own(
        self, principal: Principal, data: ExpertPatch, now: datetime
    ) -> ExpertRead:
        expert = await self._own(principal, lock=True)
        changes = data.model_dump(mode="json", by_alias=True, exclude_unset=True)
        if data.secondary_subjects is not None:
            if set(data.secondary_subjects) & set(expert.primary_subjects):
                raise ExpertProfileInvalid(
                    Text("次要学科与主要学科重复", "A secondary subject is also a primary one")
                )
            expert.secondary_subjects = list(data.secondary_subjects)
        if data.keywords is not None:
            expert.keywords = list(data.keywords)
        if data.availability is not None:
            expert.availability = _periods(data.availability)
        expert.updated_at = now
        await self.session.flush()
        await history.record(
            self.session,
            entity="expert",
            entity_id=expert.user_id,
            action="updated.by_expert",
            actor=str(expert.user_id),
            details=changes,
        )
        return await self._detail(expert)

    # --- declared conflicts -------------------------------------------------------------

    async def declare(
        self, principal: Principal, data: DeclarationCreate, now: datetime
    ) -> DeclarationRead:
        # The entry stays locked, so the same declaration sent twice at once is caught.
        expert = await self._own(principal, lock=True)
        if data.person_id is not None:
            if data.person_id == expert.user_id:
                raise ExpertProfileInvalid(
                    Text("不能申报与本人的利益冲突", "A conflict with oneself is no declaration")
                )
            if await self.repo.directory_person(data.person_id) is None:
                raise UnknownPerson()
        existing = await self.repo.declaration_of(expert.user_id, data.person_id, data.credit_code)
        if existing is not None:
            raise DeclarationExists(extra={"declaration_id": str(existing.id)})
        declaration = DeclaredConflict(
            expert_id=expert.user_id,
            person_id=data.person_id,
            credit_code=data.credit_code,
            reason=data.reason,
            declared_at=now,
        )
        await self.repo.add(declaration)
        await history.record(
            self.session,
            entity="expert",
            entity_id=expert.user_id,
            action="conflict.declared",
            actor=str(expert.user_id),
            reason=data.reason,
            details={
                "declaration_id": str(declaration.id),
                "person_id": str(data.person_id) if data.person_id else None,
                "credit_code": data.credit_code,
            },
        )
        (read,) = await self._declaration_reads([declaration])
        return read

    async def own_declarations(
        self, principal: Principal, *, offset: int, limit: int
    ) -> list[DeclarationRead]:
        expert = await self._own(principal)
        return await self._declaration_reads(
            await self.repo.declarations(expert.user_id, offset=offset, limit=limit)
        )

    # --- organization links -------------------------------------------------------------

    async def _link_reads(self, links: Sequence[OrganizationLink]) -> list[OrganizationLinkRead]:
        names = await self.repo.organization_names(
            {code for link in links for code in (link.parent_code, link.child_code)}
        )
        return [
            OrganizationLinkRead(
                parent_code=link.parent_code,
                parent_name=names.get(link.parent_code),
                child_code=link.child_code,
                child_name=names.get(link.child_code),
                declared_by=link.declared_by,
                declared_at=link.declared_at,
            )
            for link in links
        ]

    async def link(
        self, manager: Principal, data: OrganizationLinkCreate, now: datetime
    ) -> OrganizationLinkRead:
        if await self.repo.link_between(data.parent_code, data.child_code) is not None:
            raise OrganizationLinkExists()
        link = OrganizationLink(
            parent_code=data.parent_code,
            child_code=data.child_code,
            declared_by=_person(manager),
            declared_at=now,
        )
        await self.repo.add_link(link)
        (read,) = await self._link_reads([link])
        return read

    async def links(self, code: str | None, limit: int, offset: int) -> list[OrganizationLinkRead]:
        return await self._link_reads(await self.repo.links(code, limit, offset))
