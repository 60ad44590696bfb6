"""The qualified pool of a panel: who may sit on it, and why the others in the field may not.

An expert is qualified when active in the pool, in the field of at least one shortlisted
application (a shared subject code, as the written review's matching has it), available on the
meeting's day (Asia/Shanghai), allowed to review by the credit service, not already on the
panel (seated, reserve, or declined), and free of every conflict of interest with every
shortlisted application: a panel hears all of them together, so a member may not sit out one.
Conflicts are the written review's own (`rounds.conflicts`: the same rules on the same round,
overrides made there included); nothing is decided here about what a conflict is.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import Expert, PanelStage, ReviewRound
from services.projects.review.assignments.candidates import (
    available,
    expert_profile,
    item_profile,
)
from services.projects.review.panels.repository import PanelRepository
from services.projects.review.rounds.conflicts import blocked_pairs
from services.projects.review.rounds.items import RoundItem, round_items
from services.projects.review.solver.match import match
from shared.clock import in_shanghai
from shared.contracts.credit import EligibilityV1


@dataclass(frozen=True)
class Pool:
    qualified: list[UUID]  # sorted
    # in-field experts left out: {"expert_id", "reasons": [...], "conflicts": [...]}
    excluded: list[dict[str, Any]] = field(default_factory=list)

    def why_not(self, expert_id: UUID) -> dict[str, Any] | None:
        return next((e for e in self.excluded if e["expert_id"] == str(expert_id)), None)


async def in_field(
    session: AsyncSession, round_: ReviewRound, shortlist: Collection[UUID]
) -> tuple[list[Expert], list[RoundItem]]:
    """The active experts who share a subject code with a shortlisted application."""
    items = await round_items(session, round_, application_ids=shortlist) if shortlist else []
    profiles = [item_profile(item) for item in items]
    experts = [
        expert
        for expert in await PanelRepository(session).active_experts()
        if any(match(item, expert_profile(expert)) is not None for item in profiles)
    ]
    return experts, items


async def qualified_pool(
    session: AsyncSession,
    stage: PanelStage,
    round_: ReviewRound,
    shortlist: Collection[UUID],
    answers: Mapping[UUID, EligibilityV1],
    on_panel: Collection[UUID],
) -> Pool:
    """The pool as it is now; `answers` are the credit service's, asked before any lock (an
    expert nobody asked about is left out, as not known to be allowed)."""
    experts, _ = await in_field(session, round_, shortlist)
    day = in_shanghai(stage.meeting_at).date()
    reasons: dict[UUID, list[str]] = {e.user_id: [] for e in experts}
    for expert in experts:
        if expert.user_id in on_panel:
            reasons[expert.user_id].append("on_panel")
        if not available(expert.availability, day, day):
            reasons[expert.user_id].append("unavailable")
        answer = answers.get(expert.user_id)
        if answer is None:
            reasons[expert.user_id].append("credit_unknown")
        elif not answer.eligible:
            reasons[expert.user_id].append("credit")
    blocked = await blocked_pairs(
        session, round_, application_ids=shortlist, expert_ids=list(reasons)
    )
    conflicts: dict[UUID, list[dict[str, Any]]] = {}
    for (application_id, expert_id), kinds in sorted(blocked.items(), key=lambda p: str(p[0])):
        conflicts.setdefault(expert_id, []).append(
            {"application_id": str(application_id), "kinds": kinds}
        )
    for expert_id in conflicts:
        reasons[expert_id].append("conflict")
    qualified = sorted(e for e, why in reasons.items() if not why)
    excluded = [
        {"expert_id": str(e), "reasons": why, "conflicts": conflicts.get(e, [])}
        for e, why in sorted(reasons.items())
        if why and why != ["on_panel"]
    ]
    return Pool(qualified=qualified, excluded=excluded)
