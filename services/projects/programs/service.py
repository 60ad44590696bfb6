"""Programs and special funds: the five seeded basic programs and the funds added over time.

A fund is active, or retired (no new calls; what runs goes on). Basic programs are never
retired. Program managers act on the programs assigned to them, admins on all. Yearly
envelopes are the province's budget and set by admins only: a manager decides within an
envelope, so never sets it. Every change is written to the history and announced as an event
for the funds service.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects import history
from services.projects.exceptions import (
    EnvelopeExceeded,
    InvalidTransition,
    ProgramExists,
    ProgramNotFound,
)
from services.projects.models import Program, ProgramEnvelope, ProgramManager, events
from services.projects.programs.exceptions import (
    BasicProgramPermanent,
    EnvelopesAdminOnly,
    InvalidParent,
    ManagerNotAssigned,
    NotProgramManagerRole,
    YearInactive,
)
from services.projects.programs.repository import ProgramRepository
from services.projects.programs.schemas import (
    Envelope,
    ProgramCreate,
    ProgramManagerRead,
    ProgramRead,
    ProgramRef,
    Retired,
    active_in,
)
from services.projects.scope import require_manager_of
from shared.auth.roles import Role
from shared.auth.tokens import Principal
from shared.contracts.base import EventContract
from shared.contracts.programs import (
    ProgramCreatedV1,
    ProgramEnvelopeSetV1,
    ProgramManagerAssignedV1,
    ProgramManagerRemovedV1,
    ProgramRetiredV1,
    YearlyEnvelope,
)
from shared.errors import Text
from shared.events.outbox import publish
from shared.money import fen_to_yuan


def program_state(program: Program) -> str:
    return "retired" if program.is_retired else "active"


class ProgramService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repository = ProgramRepository(session)

    # --- reading ---------------------------------------------------------------------------

    async def get(self, program_id: UUID, *, lock: bool = False) -> Program:
        program = await self.repository.get(program_id, lock=lock)
        if program is None:
            raise ProgramNotFound()
        return program

    async def search(
        self, *, kind: str | None, include_retired: bool, limit: int, offset: int
    ) -> Sequence[Program]:
        return await self.repository.search(
            kind=kind, include_retired=include_retired, limit=limit, offset=offset
        )

    async def read(self, programs: Sequence[Program]) -> list[ProgramRead]:
        """Programs as the API shows them, with their parents' codes and yearly envelopes."""
        parents = await self.repository.codes(p.parent_id for p in programs if p.parent_id)
        envelopes = await self.repository.envelopes(p.id for p in programs)
        return [
            ProgramRead(
                id=p.id,
                code=p.code,
                kind="basic" if p.kind == "basic" else "special",
                name_zh=p.name_zh,
                name_en=p.name_en,
                parent=ProgramRef(id=p.parent_id, code=parents[p.parent_id])
                if p.parent_id
                else None,
                managing_agency=p.managing_agency,
                active_from_year=p.active_from_year,
                active_to_year=p.active_to_year,
                retired=Retired(
                    retired=p.retired_at is not None, at=p.retired_at, reason=p.retire_reason
                ),
                envelopes=[Envelope.model_validate(e) for e in envelopes.get(p.id, [])],
                eligibility=p.eligibility,
                review_template=p.review_template,
                created_at=p.created_at,
            )
            for p in programs
        ]

    async def read_one(self, program: Program) -> ProgramRead:
        return (await self.read([program]))[0]

    async def managers(
        self, program_id: UUID, principal: Principal, *, offset: int, limit: int
    ) -> list[ProgramManagerRead]:
        await self.get(program_id)
        await require_manager_of(self.session, principal, program_id)
        return [
            ProgramManagerRead.model_validate(dict(row._mapping))
            for row in await self.repository.managers(program_id, offset=offset, limit=limit)
        ]

    # --- changing --------------------------------------------------------------------------

    async def create(self, data: ProgramCreate, principal: Principal) -> Program:
        if data.envelopes and Role.admin not in principal.roles:
            raise EnvelopesAdminOnly()
        if data.parent_id is not None:
            parent = await self.repository.get(data.parent_id)
            if parent is None or parent.kind != "basic":
                raise InvalidParent()
        if await self.repository.code_taken(data.code):
            raise ProgramExists()
        program = Program(
            code=data.code,
            kind="special",
            name_zh=data.name_zh,
            name_en=data.name_en,
            parent_id=data.parent_id,
            managing_agency=data.managing_agency,
            active_from_year=data.active_from_year,
            active_to_year=data.active_to_year,
            eligibility=data.eligibility.model_dump(exclude_none=True),
            review_template=data.review_template.model_dump() if data.review_template else None,
            created_by=principal.user_id,
        )
        self.session.add(program)
        try:
            async with self.session.begin_nested():
                await self.session.flush()
        except IntegrityError as exc:
            raise ProgramExists() from exc  # the same code added concurrently
        self.session.add_all(
            ProgramEnvelope(program_id=program.id, year=e.year, amount_fen=e.amount_fen)
            for e in data.envelopes
        )
        # A manager who adds a fund runs it; admins run every program anyway.
        runs_it = principal.user_id if Role.admin not in principal.roles else None
        if runs_it is not None:
            self.session.add(
                ProgramManager(program_id=program.id, user_id=runs_it, granted_by=runs_it)
            )
        await self.session.flush()
        await self.session.refresh(program, ["created_at"])
        envelopes = [e.model_dump() for e in data.envelopes]
        await history.record(
            self.session,
            entity="program",
            entity_id=program.id,
            action="created",
            actor=principal.subject,
            to_state="active",
            details={
                "code": program.code,
                "parent_id": _text(data.parent_id),
                "envelopes": envelopes,
            },
        )
        await self._announce(
            ProgramCreatedV1(
                program_id=program.id,
                code=program.code,
                kind=program.kind,
                parent_id=program.parent_id,
                name_zh=program.name_zh,
                name_en=program.name_en,
                managing_agency=program.managing_agency,
                active_from_year=program.active_from_year,
                active_to_year=program.active_to_year,
                envelopes=[YearlyEnvelope.model_validate(e) for e in envelopes],
            )
        )
        if runs_it is not None:
            # Credit and funds learn who manages what only from this event: without it the
            # manager who added the fund would be a stranger to its grants and records there.
            await self._announce_manager(ProgramManagerAssignedV1, program, runs_it)
        return program

    async def set_envelope(
        self, program_id: UUID, year: int, amount_fen: int, principal: Principal
    ) -> Program:
        """Admins only (the endpoint asks for the role; checked here too, as a rule of money)."""
        if Role.admin not in principal.roles:
            raise EnvelopesAdminOnly()
        program = await self.get(program_id, lock=True)
        if not active_in(year, program.active_from_year, program.active_to_year):
            raise YearInactive()
        previous = await self.repository.envelope_amount(program_id, year)
        approved = await self.repository.committed_fen(program_id, year)
        if amount_fen < approved:
            raise EnvelopeExceeded(
                Text(
                    f"{year}年度已批准 {fen_to_yuan(approved)} 元，资金总额不能低于此数",
                    f"{fen_to_yuan(approved)} yuan are already approved for {year}",
                ),
                extra={"approved_fen": approved},
            )
        await self.repository.set_envelope(program_id, year, amount_fen)
        await history.record(
            self.session,
            entity="program",
            entity_id=program_id,
            action="envelope_set",
            actor=principal.subject,
            details={"year": year, "from_fen": previous, "to_fen": amount_fen},
        )
        await self._announce(
            ProgramEnvelopeSetV1(
                program_id=program.id,
                code=program.code,
                year=year,
                amount_fen=amount_fen,
                previous_fen=previous,
            )
        )
        return program

    async def retire(
        self, program_id: UUID, reason: str, principal: Principal, now: datetime
    ) -> Program:
        program = await self.get(program_id, lock=True)
        await require_manager_of(self.session, principal, program_id)
        if program.kind == "basic":
            raise BasicProgramPermanent()
        if program.is_retired:
            raise InvalidTransition(program_state(program))
        program.retired_at = now
        program.retired_by = principal.user_id
        program.retire_reason = reason
        await self.session.flush()
        await history.record(
            self.session,
            entity="program",
            entity_id=program_id,
            action="retired",
            actor=principal.subject,
            from_state="active",
            to_state="retired",
            reason=reason,
        )
        await self._announce(
            ProgramRetiredV1(
                program_id=program.id, code=program.code, reason=reason, retired_at=now
            )
        )
        return program

    async def assign_manager(
        self, program_id: UUID, user_id: UUID, principal: Principal
    ) -> ProgramManagerRead:
        program = await self.get(program_id, lock=True)
        roles = await self.repository.directory_roles(user_id)
        if roles is None or Role.program_manager not in roles:
            raise NotProgramManagerRole()
        if await self.repository.manager(program_id, user_id) is None:
            self.session.add(
                ProgramManager(program_id=program_id, user_id=user_id, granted_by=principal.user_id)
            )
            await self.session.flush()
            await self._announce_manager(ProgramManagerAssignedV1, program, user_id)
            await history.record(
                self.session,
                entity="program",
                entity_id=program_id,
                action="manager_assigned",
                actor=principal.subject,
                details={"user_id": str(user_id)},
            )
        rows = await self.repository.managers(program_id)
        return next(
            ProgramManagerRead.model_validate(dict(row._mapping))
            for row in rows
            if row.user_id == user_id
        )

    async def remove_manager(self, program_id: UUID, user_id: UUID, principal: Principal) -> None:
        program = await self.get(program_id, lock=True)
        assignment = await self.repository.manager(program_id, user_id)
        if assignment is None:
            raise ManagerNotAssigned()
        await self.session.delete(assignment)
        await self.session.flush()
        await self._announce_manager(ProgramManagerRemovedV1, program, user_id)
        await history.record(
            self.session,
            entity="program",
            entity_id=program_id,
            action="manager_removed",
            actor=principal.subject,
            details={"user_id": str(user_id)},
        )

    async def _announce_manager(
        self,
        contract: type[ProgramManagerAssignedV1 | ProgramManagerRemovedV1],
        program: Program,
        user_id: UUID,
    ) -> None:
        """Credit and funds keep who manages what (`shared.program_scope`) from these; the
        code too, as funds names programs by code (the basic programs were never announced)."""
        await self._announce(contract(program_id=program.id, code=program.code, user_id=user_id))

    async def _announce(self, event: EventContract) -> None:
        await publish(self.session, events, event)


def _text(value: UUID | None) -> str | None:
    return str(value) if value is not None else None
