"""The random draw of the written review's experts (随机抽取), for calls whose terms require it
instead of the optimal assignment run.

A call sets its `assignment_method` (`optimal`, the default, or `random_draw`) while it is a
draft or open; it is fixed once the call closes, so that nobody who has seen the applications
can swap a required draw for a chosen assignment. A round of a `random_draw` call refuses the
optimal run (409 `assignment.draw_required`) and a round of an `optimal` call refuses the draw
(409 `assignment.optimal_required`).

Each application's qualified pool is what the optimal run could choose from for it, found by
the same code (`candidates.snapshot` and `build`): active experts available until the deadline,
in its field, allowed to review by the credit service (asked before the round is locked), with
load left in the round, free of conflicts of interest (refreshed and stored as a dry run
stores them), never on it before (declined or removed), and of no organization already on it
when the round allows one per organization. The draw (`review/draw.py`) is applied at once:
a dry run to look at first would let a manager draw again until the draw suited them, and for
the same reason the seed is chosen by the service. The record keeps everything needed to run it
again: the seed, the algorithm version, each application's pool and its hash, the loads left,
the order walked, who was drawn, passed over (and why) or kept in reserve, and who in the field
was left out of the pool (and why). When an expert declines, the application's reserves take
their place in draw order (`replacement.from_reserves`).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.projects import history
from services.projects.calls.service import managed_call
from services.projects.exceptions import ChangedMeanwhile, InvalidTransition
from services.projects.models import Assignment, AssignmentDraw, ReviewRound, ReviewSettings
from services.projects.models.calls import CallState
from services.projects.models.review import AssignmentMethod, AssignmentStatus, RoundState
from services.projects.review import draw
from services.projects.review.assignments import events as assignment_events
from services.projects.review.assignments.access import managed_round, manager_id, require_method
from services.projects.review.assignments.candidates import (
    Candidates,
    Snapshot,
    build,
    eligibility,
    snapshot,
    to_ask,
)
from services.projects.review.assignments.exceptions import (
    DrawNotFound,
    NoDrawNeeded,
    ReviewSettingsFixed,
)
from services.projects.review.assignments.repository import AssignmentRepository
from services.projects.review.assignments.runs import start_reviewing
from services.projects.review.assignments.schemas import (
    ApplicationDrawCheck,
    AssignmentDrawVerification,
    ReviewSettingsRead,
    ReviewSettingsWrite,
)
from services.projects.review.rounds.conflicts import store
from services.projects.review.rounds.exceptions import RoundNotFound
from shared.auth.tokens import Principal
from shared.credit_client import CreditClient
from shared.errors import Text

# `build`'s reasons, as a draw records them
LEFT_OUT = {
    "excluded": "was_on",
    "conflicted": "conflict",
    "no_load_left": "no_load_left",
    "same_organization": "same_organization",
    "not_eligible": "credit",
    "not_asked": "credit_unknown",
}


def settings_read(call_id: UUID, row: ReviewSettings | None) -> ReviewSettingsRead:
    return ReviewSettingsRead(
        call_id=call_id,
        assignment_method=row.assignment_method if row else AssignmentMethod.optimal,
        set_by=row.set_by if row else None,
        set_at=row.set_at if row else None,
    )


class DrawService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = AssignmentRepository(session)

    # --- the call's setting ----------------------------------------------------------------

    async def settings(self, principal: Principal, call_id: UUID) -> ReviewSettingsRead:
        call = await managed_call(self.session, principal, call_id)
        return settings_read(call.id, await self.repo.review_settings(call.id))

    async def set_settings(
        self, principal: Principal, call_id: UUID, data: ReviewSettingsWrite, now: datetime
    ) -> ReviewSettingsRead:
        call = await managed_call(self.session, principal, call_id, lock=True)
        if call.state not in (CallState.draft, CallState.published):
            raise InvalidTransition(call.state)
        if call.has_closed(now):
            raise ReviewSettingsFixed()
        row = await self.repo.review_settings(call.id)
        before = settings_read(call.id, row).assignment_method
        if row is None:
            row = ReviewSettings(call_id=call.id)
            await self.repo.add_review_settings(row)
        row.assignment_method = data.assignment_method
        row.set_by, row.set_at = manager_id(principal), now
        await self.session.flush()
        await history.record(
            self.session,
            entity="call",
            entity_id=call.id,
            action="review_settings.set",
            actor=principal.subject,
            details={
                "before": {"assignment_method": before},
                "after": {"assignment_method": data.assignment_method},
            },
        )
        return settings_read(call.id, row)

    # --- the draw --------------------------------------------------------------------------

    async def run(
        self,
        principal: Principal,
        round_id: UUID,
        reserves: int,
        credit: CreditClient,
        now: datetime,
        sessions: async_sessionmaker[AsyncSession],
    ) -> AssignmentDraw:
        """Draws the experts each application of the round lacks, and invites them."""
        async with sessions() as reading:
            round_, _ = await managed_round(reading, principal, round_id)
            _assigning(round_)
            await require_method(reading, round_, AssignmentMethod.random_draw)
            asked = await to_ask(reading, round_, now)
        answers = await eligibility(credit, asked, now)
        round_, _ = await managed_round(self.session, principal, round_id, lock=True)
        _assigning(round_)
        await require_method(self.session, round_, AssignmentMethod.random_draw)
        snap = await snapshot(self.session, round_, now)
        ever_on = await self.repo.ever_on_round(round_.id)
        candidates = build(snap, answers, exclude=ever_on, why_out=True)
        if candidates.unasked:
            raise ChangedMeanwhile(
                Text(
                    "查询信用期间专家库或申报书发生了变化，请重新抽取",
                    "Experts or applications came in while the credit service was asked; "
                    "draw again",
                ),
                extra={"experts_not_asked": sorted(str(e) for e in candidates.unasked)},
            )
        assert snap.found is not None  # a whole round
        await store(self.session, round_, snap.found, now)
        problem = candidates.problem
        if not problem.items:
            raise NoDrawNeeded()
        pools: dict[str, list[str]] = {a: [] for a in problem.items}
        for i, e in zip(problem.pair_item.tolist(), problem.pair_expert.tolist(), strict=True):
            pools[problem.items[i]].append(problem.experts[e])
        load_left = dict(zip(problem.experts, problem.capacity.tolist(), strict=True))
        organizations, taken = _organizations(candidates, snap)
        seed = draw.new_seed()
        drawn = draw.draw_per_application(
            pools, candidates.demand, seed, reserves, load_left, organizations, taken
        )
        record = AssignmentDraw(
            round_id=round_.id,
            algorithm=draw.PER_APPLICATION,
            seed=seed,
            reserves=reserves,
            inputs={"load_left": load_left, "organizations": organizations, "taken": taken},
            applications=[
                {
                    **found.as_dict(),
                    "left_out": _left_out(candidates, UUID(found.application_id)),
                    "short_by": found.wanted - len(found.drawn),
                }
                for found in drawn
            ],
            drawn_by=manager_id(principal),
            drawn_at=now,
        )
        await self.repo.add_draw(record)
        created: list[Assignment] = []
        for found in drawn:
            for expert in found.drawn:
                why = candidates.explain(found.application_id, expert)
                created.append(
                    Assignment(
                        round_id=round_.id,
                        application_id=UUID(found.application_id),
                        expert_id=UUID(expert),
                        status=AssignmentStatus.invited,
                        match_score=why["score"],
                        explanation=why,
                        source=f"draw:{record.id}",
                        assigned_by=manager_id(principal),
                        assigned_at=now,
                    )
                )
        await self.repo.add(created)
        await assignment_events.assigned(self.session, round_, created)
        await self._record(principal, round_, record, created)
        if not any(a["short_by"] for a in record.applications):
            await start_reviewing(
                self.session, principal.subject, round_, {"draw_id": str(record.id)}
            )
        return record

    async def _record(
        self,
        principal: Principal,
        round_: ReviewRound,
        record: AssignmentDraw,
        created: list[Assignment],
    ) -> None:
        # The applicant reads the application's history: how many experts, never who.
        counts = Counter(a.application_id for a in created)
        for application_id, count in sorted(counts.items()):
            await history.record(
                self.session,
                entity="application",
                entity_id=application_id,
                application_id=application_id,
                action="experts_assigned",
                actor=principal.subject,
                details={"count": count, "source": "random_draw"},
            )
        await history.record(
            self.session,
            entity="round",
            entity_id=round_.id,
            action="experts_drawn",
            actor=principal.subject,
            details={
                "draw_id": str(record.id),
                "algorithm": record.algorithm,
                "seed": str(record.seed),
                "assignments": [
                    {
                        "id": str(a.id),
                        "application_id": str(a.application_id),
                        "expert_id": str(a.expert_id),
                    }
                    for a in created
                ],
                "short": [
                    {"application_id": a["application_id"], "short_by": a["short_by"]}
                    for a in record.applications
                    if a["short_by"]
                ],
            },
        )

    async def draw(self, principal: Principal, draw_id: UUID) -> AssignmentDraw:
        """The draw, for its round's managers (others: not found, or not theirs)."""
        record = await self.repo.draw(draw_id)
        if record is None:
            raise DrawNotFound()
        try:
            await managed_round(self.session, principal, record.round_id)
        except RoundNotFound as exc:
            raise DrawNotFound() from exc
        return record

    async def verify(self, principal: Principal, draw_id: UUID) -> AssignmentDrawVerification:
        """The draw run again on its recorded inputs, by the algorithm it names."""
        record = await self.draw(principal, draw_id)
        recorded = {a["application_id"]: a for a in record.applications}
        again = draw.draw_per_application(
            {a: found["pool"] for a, found in recorded.items()},
            {a: found["wanted"] for a, found in recorded.items()},
            record.seed,
            record.reserves,
            record.inputs["load_left"],
            record.inputs["organizations"],
            record.inputs["taken"],
        )
        checks = [
            ApplicationDrawCheck(
                application_id=UUID(found.application_id),
                pool_hash_matches=draw.pool_hash(recorded[found.application_id]["pool"])
                == recorded[found.application_id]["pool_hash"],
                matches=_same(found.as_dict(), recorded[found.application_id]),
            )
            for found in again
        ]
        return AssignmentDrawVerification(
            draw_id=record.id,
            algorithm=record.algorithm,
            seed=str(record.seed),
            pool_hashes_match=all(c.pool_hash_matches for c in checks),
            matches=record.algorithm == draw.PER_APPLICATION and all(c.matches for c in checks),
            applications=checks,
        )


def _same(again: dict[str, Any], recorded: dict[str, Any]) -> bool:
    keys = ("order", "drawn", "reserves", "passed_over")
    return all(again[k] == recorded[k] for k in keys)


def _assigning(round_: ReviewRound) -> None:
    if round_.state != RoundState.assigning:
        raise InvalidTransition(round_.state)


def _left_out(candidates: Candidates, application_id: UUID) -> list[dict[str, Any]]:
    reasons: dict[UUID, list[str]] = {}
    for expert_id, reason in candidates.left_out.get(application_id, []):
        reasons.setdefault(expert_id, []).append(LEFT_OUT[reason])
    return [{"expert_id": str(e), "reasons": why} for e, why in sorted(reasons.items())]


def _organizations(
    candidates: Candidates, snap: Snapshot
) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    """The pooled experts' organizations and those already on each application, when the round
    allows one expert per organization (the draw must not draw two of one)."""
    if not snap.one_per_organization:
        return None, None
    organizations = {
        e: code
        for e in candidates.problem.experts
        if (code := candidates.experts[e].org_credit_code)
    }
    live_on = snap.live_on()
    taken = {
        a: sorted({code for e in live_on.get(UUID(a), ()) if (code := snap.live_orgs.get(e))})
        for a in candidates.problem.items
    }
    return organizations, taken
