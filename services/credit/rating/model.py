"""The rating model: a pure function of a subject's records and a moment in time.

Score = neutral base + the effects of records that are confirmed and in force at that moment.
Any restriction in force forces level D whatever the score. Because everything is derived from
the records' dates and their confirmation, withdrawal and repair times, the rating as of any
past moment is computed the same way as today's. The rules a record counts by have a SQL twin
beside them (`stands_in_sql`, `unrepaired_in_sql`) for the lists that filter records by them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID

import sqlalchemy as sa

from services.credit.models import CreditRecord
from shared.clock import in_shanghai
from shared.contracts.vocabulary import CreditLevel

MODEL_VERSION = "sciplan-credit-2026.1"


@dataclass(frozen=True)
class RatingPolicy:
    base: int = 80
    a_from: int = 90
    b_from: int = 75
    c_from: int = 60
    max_reasons: int = 4

    def level(self, score: int) -> CreditLevel:
        if score >= self.a_from:
            return CreditLevel.A
        if score >= self.b_from:
            return CreditLevel.B
        if score >= self.c_from:
            return CreditLevel.C
        return CreditLevel.D


@dataclass(frozen=True)
class RecordFacts:
    id: UUID
    rule_code: str
    tier: str
    score_effect: int
    restrictions: Sequence[str]
    effective_from: date
    valid_until: date
    restriction_until: date | None
    restriction_permanent: bool
    confirmed_at: datetime | None
    withdrawn_at: datetime | None
    repaired_at: datetime | None

    def stands_at(self, at: datetime) -> bool:
        """Confirmed by then and not withdrawn by then."""
        return (
            self.confirmed_at is not None
            and self.confirmed_at <= at
            and (self.withdrawn_at is None or self.withdrawn_at > at)
        )

    def unrepaired_at(self, at: datetime) -> bool:
        """Not repaired by then (repair ends the effect on the score, not a ban)."""
        return self.repaired_at is None or self.repaired_at > at

    def scores_at(self, at: datetime) -> bool:
        day = in_shanghai(at).date()
        return (
            self.stands_at(at)
            and self.unrepaired_at(at)
            and self.effective_from <= day < self.valid_until
        )

    def restricts_at(self, at: datetime) -> bool:
        day = in_shanghai(at).date()
        if not self.restrictions or not self.stands_at(at) or day < self.effective_from:
            return False
        return self.restriction_permanent or (
            self.restriction_until is not None and day < self.restriction_until
        )

    def coming_changes(self, at: datetime) -> list[date]:
        """Dates after `at` on which this record starts or stops counting by itself."""
        if not self.stands_at(at):
            return []
        day = in_shanghai(at).date()
        dates = [self.effective_from]
        if self.unrepaired_at(at):
            dates.append(self.valid_until)
        if self.restrictions and not self.restriction_permanent and self.restriction_until:
            dates.append(self.restriction_until)
        return [d for d in dates if d > day]


def stands_in_sql(at: datetime) -> sa.ColumnElement[bool]:
    """`RecordFacts.stands_at` over the records table."""
    return sa.and_(
        CreditRecord.confirmed_at <= at,
        sa.or_(CreditRecord.withdrawn_at.is_(None), CreditRecord.withdrawn_at > at),
    )


def unrepaired_in_sql(at: datetime) -> sa.ColumnElement[bool]:
    """`RecordFacts.unrepaired_at` over the records table."""
    return sa.or_(CreditRecord.repaired_at.is_(None), CreditRecord.repaired_at > at)


@dataclass(frozen=True)
class Reason:
    record_id: UUID
    rule_code: str
    tier: str
    contribution: int


@dataclass(frozen=True)
class Restriction:
    kind: str
    record_id: UUID
    rule_code: str
    until: date | None  # None: permanent


@dataclass(frozen=True)
class Rating:
    as_of: datetime
    score: int
    level: CreditLevel
    restrictions: list[Restriction]
    reasons: list[Reason]
    next_change: date | None
    model_version: str = MODEL_VERSION
    active_records: list[UUID] = field(default_factory=list)

    def restricted(self, kind: str) -> list[Restriction]:
        return [r for r in self.restrictions if r.kind == kind]


def rate(records: Iterable[RecordFacts], at: datetime, policy: RatingPolicy) -> Rating:
    records = list(records)
    scoring = [r for r in records if r.scores_at(at)]
    score = max(0, min(100, policy.base + sum(r.score_effect for r in scoring)))
    restrictions = [
        Restriction(
            kind=kind,
            record_id=r.id,
            rule_code=r.rule_code,
            until=None if r.restriction_permanent else r.restriction_until,
        )
        for r in records
        if r.restricts_at(at)
        for kind in r.restrictions
    ]
    # The records that weigh most, bad before good: an adverse rating always says why.
    ranked = sorted(scoring, key=lambda r: (r.score_effect > 0, -abs(r.score_effect), r.id))
    reasons = [
        Reason(r.id, r.rule_code, r.tier, r.score_effect) for r in ranked[: policy.max_reasons]
    ]
    changes = [d for r in records for d in r.coming_changes(at)]
    return Rating(
        as_of=at,
        score=score,
        level=CreditLevel.D if restrictions else policy.level(score),
        restrictions=sorted(restrictions, key=lambda r: (r.kind, r.until or date.max)),
        reasons=reasons,
        next_change=min(changes) if changes else None,
        active_records=[r.id for r in scoring],
    )
