"""The managers' overview of their calls (the portal's dashboard reads it in one request)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.calls.service import managed_call
from services.projects.decisions.schemas import EnvelopeRead
from services.projects.decisions.service import DecisionService
from services.projects.exceptions import NotManager
from services.projects.models import Call, ReviewRound
from services.projects.overview.repository import ExpertRow, OverviewRepository, PendingRow
from services.projects.scope import managed_programs
from shared.auth.tokens import Principal

PENDING_SHOWN = 100  # formal checks listed at once; the counts say how many there are
ROUNDS_SHOWN = 20  # a call has one proposal round and an acceptance round per batch of finals


@dataclass(frozen=True)
class Overview:
    call: Call
    counts: dict[str, int]
    pending: list[PendingRow]
    envelope: EnvelopeRead | None
    rounds: Sequence[ReviewRound]
    experts: dict[UUID, list[ExpertRow]]
    conflicts: dict[UUID, dict[str, tuple[int, int]]]


class OverviewService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = OverviewRepository(session)

    async def managed_calls(
        self, principal: Principal, *, limit: int, offset: int
    ) -> tuple[Sequence[Call], dict[UUID, dict[str, int]]]:
        """The calls of the programs the caller manages (an admin: all), with their counts."""
        if principal.user_id is None:
            raise NotManager()
        programs = await managed_programs(self.session, principal)
        if programs is not None and not programs:
            return [], {}
        calls = await self.repo.calls(programs, limit=limit, offset=offset)
        return calls, await self.repo.status_counts([c.id for c in calls])

    async def of_call(self, principal: Principal, call_id: UUID, now: datetime) -> Overview:
        call = await managed_call(self.session, principal, call_id)
        rounds = await self.repo.rounds(call.id, limit=ROUNDS_SHOWN)
        round_ids = [r.id for r in rounds]
        experts: dict[UUID, list[ExpertRow]] = {r.id: [] for r in rounds}
        for row in await self.repo.expert_progress(round_ids, now):
            experts[row.round_id].append(row)
        return Overview(
            call=call,
            counts=(await self.repo.status_counts([call.id])).get(call.id, {}),
            pending=await self.repo.pending_checks(call.id, limit=PENDING_SHOWN),
            envelope=await DecisionService(self.session).envelope(call.program_id, call.year),
            rounds=rounds,
            experts=experts,
            conflicts=await self.repo.conflict_counts(round_ids),
        )
