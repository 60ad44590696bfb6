"""Calls for applications (申报指南).

draft -> published -> decided (by the decisions package, at its first decision batch);
draft or published -> cancelled, the latter only while no application has been submitted. A
draft is seen only by its program's managers; once published a call is public, and whether it
is upcoming, open or closed follows from the clock (`Call.is_open`: opens_at <= now <
closes_at), never from a stored flag. A decided call is closed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects import history
from services.projects.calls.exceptions import (
    CallDeadlinePassed,
    CallHasApplications,
    CallIncomplete,
    CallTermsInvalid,
    CallYearInactive,
)
from services.projects.calls.repository import CallRepository
from services.projects.calls.schemas import (
    CALL_TERMS,
    TERM_FIELDS,
    CallCreate,
    CallPatch,
    CallRead,
    CallStatus,
    CallTerms,
    ProgramSummary,
)
from services.projects.exceptions import (
    CallNotFound,
    InvalidTransition,
    NotManager,
    ProgramNotFound,
    ProgramRetired,
)
from services.projects.models import Call, Program, events
from services.projects.models.calls import PUBLIC_CALL_STATES, CallPhase, CallState
from services.projects.programs.schemas import active_in
from services.projects.scope import manages
from shared.auth.tokens import Principal
from shared.clock import in_shanghai
from shared.contracts.programs import CallCancelledV1, CallPublishedV1
from shared.errors import Text
from shared.events.outbox import publish

View = TypeVar("View", bound=CallRead)


def call_status(call: Call, now: datetime) -> CallStatus:
    """Where a call stands for applicants at `now`: at closes_at exactly it is closed."""
    if call.state == CallState.draft:
        return "draft"
    if call.state == CallState.cancelled:
        return "cancelled"
    if call.is_upcoming(now):
        return "upcoming"
    if call.is_open(now):
        return "open"
    return "closed"


def program_defaults(program: Program) -> dict[str, Any]:
    defaults = {k: v for k, v in program.eligibility.items() if k in TERM_FIELDS}
    if program.review_template is not None:
        defaults["review_template"] = program.review_template
    return defaults


def complete_terms(values: dict[str, Any]) -> CallTerms:
    """The terms of a call, refused (422) when one is missing or they contradict each other."""
    missing = [name for name in CALL_TERMS if values.get(name) is None]
    if missing:
        raise CallIncomplete(missing)
    try:
        return CallTerms.model_validate({name: values[name] for name in CALL_TERMS})
    except ValidationError as exc:
        errors = [
            {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]}
            for e in exc.errors(include_url=False, include_context=False, include_input=False)
        ]
        raise CallTermsInvalid(
            Text("条款有误，见 errors", "See errors"), extra={"errors": errors}
        ) from exc


async def managed_call(
    session: AsyncSession, principal: Principal, call_id: UUID, *, lock: bool = False
) -> Call:
    """The call, for one of its program's managers (or an admin): the one rule for every
    package acting on a call.

    Someone who may not read it (a draft or cancelled call of another program) is told it does
    not exist (404); a public call they may read but not act on (403).
    """
    call = await CallRepository(session).get(call_id, lock=lock)
    if call is None:
        raise CallNotFound()
    if not await manages(session, principal, call.program_id):
        if call.state in PUBLIC_CALL_STATES:
            raise NotManager()
        raise CallNotFound()
    return call


class CallService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repository = CallRepository(session)

    # --- reading ---------------------------------------------------------------------------

    async def public(self, call_id: UUID) -> Call:
        call = await self.repository.get(call_id)
        if call is None or call.state not in PUBLIC_CALL_STATES:
            raise CallNotFound()
        return call

    async def search_public(
        self,
        *,
        now: datetime,
        status: CallPhase | None,
        program_id: UUID | None,
        year: int | None,
        limit: int,
        offset: int,
    ) -> Sequence[Call]:
        return await self.repository.public(
            now=now, status=status, program_id=program_id, year=year, limit=limit, offset=offset
        )

    async def of_program(
        self, program_id: UUID, principal: Principal, *, limit: int, offset: int
    ) -> Sequence[Call]:
        if not await self.repository.programs({program_id}):
            raise ProgramNotFound()
        if not await manages(self.session, principal, program_id):
            raise NotManager()
        return await self.repository.of_program(program_id, limit=limit, offset=offset)

    async def read(self, calls: Sequence[Call], now: datetime, view: type[View]) -> list[View]:
        programs = await self.repository.programs({c.program_id for c in calls})
        return [
            view.model_validate(
                {
                    **{
                        name: getattr(call, name)
                        for name in view.model_fields
                        if hasattr(call, name)
                    },
                    "program": ProgramSummary.model_validate(
                        programs[call.program_id], from_attributes=True
                    ),
                    "status": call_status(call, now),
                }
            )
            for call in calls
        ]

    async def read_one(self, call: Call, now: datetime, view: type[View]) -> View:
        return (await self.read([call], now, view))[0]

    # --- changing --------------------------------------------------------------------------

    async def create(self, data: CallCreate, principal: Principal) -> Call:
        if principal.user_id is None:
            raise NotManager()
        program = await self._program_taking_calls(data.program_id, principal, data.year)
        given = data.model_dump(include=set(CALL_TERMS), exclude_none=True)
        terms = complete_terms({**program_defaults(program), **given})
        call = Call(
            program_id=program.id,
            year=data.year,
            title=data.title,
            guideline=data.guideline,
            state=CallState.draft,
            created_by=principal.user_id,
            **terms.model_dump(),
        )
        self.session.add(call)
        await self.session.flush()
        await self.session.refresh(call, ["created_at"])
        await history.record(
            self.session,
            entity="call",
            entity_id=call.id,
            action="created",
            actor=principal.subject,
            to_state=CallState.draft,
            details={"program_id": str(program.id), "year": call.year},
        )
        return call

    async def update(self, call_id: UUID, data: CallPatch, principal: Principal) -> Call:
        call = await self._managed(call_id, principal)
        if call.state != CallState.draft:
            raise InvalidTransition(call.state)
        changes = data.model_dump(exclude_unset=True)
        if "year" in changes:
            await self._program_taking_calls(call.program_id, principal, changes["year"])
        current = {name: getattr(call, name) for name in CALL_TERMS}
        terms = complete_terms({**current, **changes})
        for name, value in {**changes, **terms.model_dump()}.items():
            setattr(call, name, value)
        await self.session.flush()
        await history.record(
            self.session,
            entity="call",
            entity_id=call.id,
            action="updated",
            actor=principal.subject,
            from_state=CallState.draft,
            to_state=CallState.draft,
            details={"fields": sorted(changes)},
        )
        return call

    async def publish(self, call_id: UUID, principal: Principal, now: datetime) -> Call:
        call = await self._managed(call_id, principal)
        if call.state != CallState.draft:
            raise InvalidTransition(call.state)
        program = await self._program_taking_calls(call.program_id, principal, call.year, call)
        if call.closes_at <= now:
            raise CallDeadlinePassed(call.state)
        call.state = CallState.published
        call.published_at = now
        await self.session.flush()
        await history.record(
            self.session,
            entity="call",
            entity_id=call.id,
            action="published",
            actor=principal.subject,
            from_state=CallState.draft,
            to_state=CallState.published,
        )
        await publish(
            self.session,
            events,
            CallPublishedV1(
                call_id=call.id,
                program_id=program.id,
                program_code=program.code,
                title=call.title,
                year=call.year,
                opens_at=in_shanghai(call.opens_at),
                closes_at=in_shanghai(call.closes_at),
            ),
        )
        return call

    async def cancel(self, call_id: UUID, reason: str, principal: Principal) -> Call:
        call = await self._managed(call_id, principal)
        if call.state not in (CallState.draft, CallState.published):
            raise InvalidTransition(call.state)
        if call.state == CallState.published:
            submitted = await self.repository.submitted_applications(call.id)
            if submitted:
                raise CallHasApplications(call.state, submitted)
        previous = call.state
        call.state = CallState.cancelled
        await self.session.flush()
        await history.record(
            self.session,
            entity="call",
            entity_id=call.id,
            action="cancelled",
            actor=principal.subject,
            from_state=previous,
            to_state=CallState.cancelled,
            reason=reason,
        )
        if previous == CallState.published:
            program = (await self.repository.programs({call.program_id}))[call.program_id]
            await publish(
                self.session,
                events,
                CallCancelledV1(
                    call_id=call.id, program_id=program.id, program_code=program.code, reason=reason
                ),
            )
        return call

    # --- rules -----------------------------------------------------------------------------

    async def _managed(self, call_id: UUID, principal: Principal) -> Call:
        """The call, locked, for one of its program's managers (or an admin)."""
        return await managed_call(self.session, principal, call_id, lock=True)

    async def _program_taking_calls(
        self, program_id: UUID, principal: Principal, year: int, call: Call | None = None
    ) -> Program:
        program = await self.repository.program_for_calls(program_id)
        if program is None:
            raise ProgramNotFound()
        if not await manages(self.session, principal, program_id):
            raise NotManager()
        state = {"state": call.state} if call is not None else {}
        if program.is_retired:
            raise ProgramRetired(extra=state)
        if not active_in(year, program.active_from_year, program.active_to_year):
            raise CallYearInactive(extra=state)
        return program
