"""Which rounds a caller may assign experts in: those of the calls of programs they manage."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.calls.service import managed_call
from services.projects.exceptions import CallNotFound, NotManager
from services.projects.models import Call, ReviewRound
from services.projects.models.review import AssignmentMethod
from services.projects.review.assignments.exceptions import DrawRequired, OptimalRequired
from services.projects.review.assignments.repository import AssignmentRepository
from services.projects.review.rounds.exceptions import RoundNotFound
from shared.auth.tokens import Principal


async def managed_round(
    session: AsyncSession, principal: Principal, round_id: UUID, *, lock: bool = False
) -> tuple[ReviewRound, Call]:
    """The round and its call, for a manager of the call's program (or an admin); locked
    FOR UPDATE when asked, so writers of its assignments take turns.

    A round of a call the caller may not read is not found (404); of a public call of
    another program, not theirs to act on (403).
    """
    if principal.user_id is None:
        raise NotManager()
    repo = AssignmentRepository(session)
    round_ = await repo.round(round_id)
    if round_ is None:
        raise RoundNotFound()
    try:
        call = await managed_call(session, principal, round_.call_id)
    except CallNotFound as exc:
        raise RoundNotFound() from exc
    if lock:
        locked = await repo.round(round_id, lock=True)
        assert locked is not None  # rounds are never deleted
        round_ = locked
    return round_, call


def manager_id(principal: Principal) -> UUID:
    """The acting person (managed_round has refused callers who are not one)."""
    assert principal.user_id is not None
    return principal.user_id


async def require_method(
    session: AsyncSession, round_: ReviewRound, method: AssignmentMethod
) -> None:
    """Refuses to find a round's experts by any method but its call's (the optimal run for a
    call that requires the random draw, or the other way round)."""
    used = await AssignmentRepository(session).method_of(round_.call_id)
    if used != method:
        raise DrawRequired() if used == AssignmentMethod.random_draw else OptimalRequired()
