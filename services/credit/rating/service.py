"""Ratings from the records in the database, and announcing a change of level."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.credit.config import CreditSettings
from services.credit.models import Subject, events
from services.credit.rating.model import Rating, RatingPolicy, rate
from services.credit.rating.repository import RatingRepository
from services.credit.subjects.repository import SubjectRepository
from shared.clock import in_shanghai
from shared.contracts.credit import CreditRatingChangedV1
from shared.contracts.vocabulary import CreditLevel, EligibilityAction
from shared.events.outbox import publish


def policy_from(settings: CreditSettings) -> RatingPolicy:
    return RatingPolicy(
        base=settings.base_score,
        a_from=settings.level_a_from,
        b_from=settings.level_b_from,
        c_from=settings.level_c_from,
    )


class RatingService:
    def __init__(self, session: AsyncSession, policy: RatingPolicy) -> None:
        self.session = session
        self.repository = RatingRepository(session)
        self.policy = policy

    async def known_subjects(self, subject_ids: Sequence[UUID]) -> set[UUID]:
        return await SubjectRepository(self.session).known_ids(subject_ids)

    async def subjects_of(
        self, user_ids: Sequence[UUID], org_ids: Sequence[UUID]
    ) -> tuple[dict[UUID, UUID], dict[UUID, UUID]]:
        """The subjects of gateway users and organizations (those with none are absent)."""
        return await SubjectRepository(self.session).ids_by_gateway_keys(user_ids, org_ids)

    async def rating_of_nobody(self, at: datetime) -> Rating:
        return rate([], at, self.policy)

    async def rating(self, subject_id: UUID, at: datetime) -> Rating:
        return (await self.ratings([subject_id], at))[subject_id]

    async def ratings(self, subject_ids: Sequence[UUID], at: datetime) -> dict[UUID, Rating]:
        facts = await self.repository.facts_by_subject(subject_ids)
        return {sid: rate(facts.get(sid, []), at, self.policy) for sid in subject_ids}

    async def announce_if_changed(self, subject: Subject, now: datetime) -> Rating:
        """Publishes `credit.rating_changed` when the subject's level differs from the last one
        announced (a subject never rated before counts as the neutral level)."""
        rating = await self.rating(subject.id, now)
        previous = await self.repository.announced_level(subject.id)
        before = previous or self.policy.level(self.policy.base)
        state = {
            "level": rating.level,
            "score": rating.score,
            "next_change": rating.next_change,
            "updated_at": now,
        }
        await self.repository.save_state(subject.id, state)
        if rating.level != before:
            await publish(
                self.session,
                events,
                CreditRatingChangedV1(
                    subject_id=subject.id,
                    kind=subject.kind,
                    credit_code=subject.credit_code,
                    gateway_user_id=subject.gateway_user_id,
                    gateway_org_id=subject.gateway_org_id,
                    previous_level=CreditLevel(before),
                    level=rating.level,
                    score=rating.score,
                    restrictions=sorted({EligibilityAction(r.kind) for r in rating.restrictions}),
                    at=now,
                    model_version=rating.model_version,
                ),
            )
        return rating

    async def sweep(self, now: datetime, batch: int = 200) -> int:
        """Re-rates subjects whose rating was due to change by itself (an expiry, the end of
        a ban) and announces the new level. Replicas share the work (SKIP LOCKED)."""
        due = await self.repository.due_for_change(in_shanghai(now).date(), batch)
        for subject in due:
            await self.announce_if_changed(subject, now)
        return len(due)
