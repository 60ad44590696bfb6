"""The projects service's events about programs, calls, evaluators and reviews.

Credit and funds keep who manages and who evaluates what from the manager and engagement events
(`shared.program_scope`); funds learns each program's code from whichever event names it first.
Fields that older events lack are optional, so that every event still in an outbox parses.
"""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from shared.contracts.base import Contract, EventContract, Moment


class _ProgramEvent(EventContract):
    aggregate_type: ClassVar[str] = "program"
    aggregate_field: ClassVar[str | None] = "program_id"

    program_id: UUID
    code: str


class YearlyEnvelope(Contract):
    year: int
    amount_fen: int


class ProgramCreatedV1(_ProgramEvent):
    """A special fund added (the five basic programs are seeded, never announced)."""

    event_type: ClassVar[str] = "program.created"

    kind: str
    parent_id: UUID | None
    name_zh: str
    name_en: str
    managing_agency: str
    active_from_year: int
    active_to_year: int | None
    envelopes: list[YearlyEnvelope]


class ProgramEnvelopeSetV1(_ProgramEvent):
    event_type: ClassVar[str] = "program.envelope_set"

    year: int
    amount_fen: int
    previous_fen: int | None


class ProgramRetiredV1(_ProgramEvent):
    event_type: ClassVar[str] = "program.retired"

    reason: str
    retired_at: Moment


class _ManagerEvent(EventContract):
    aggregate_type: ClassVar[str] = "program"
    aggregate_field: ClassVar[str | None] = "program_id"

    program_id: UUID
    code: str | None = None  # named since the events were first published
    user_id: UUID


class ProgramManagerAssignedV1(_ManagerEvent):
    event_type: ClassVar[str] = "program.manager_assigned"


class ProgramManagerRemovedV1(_ManagerEvent):
    event_type: ClassVar[str] = "program.manager_removed"


class _EngagementEvent(EventContract):
    """An evaluator engaged on a whole program or on one project (exactly one of the two)."""

    aggregate_type: ClassVar[str] = "engagement"
    aggregate_field: ClassVar[str | None] = "engagement_id"

    engagement_id: UUID
    evaluator_id: UUID
    program_id: UUID | None
    program_code: str | None = None
    project_id: UUID | None


class EvaluatorEngagedV1(_EngagementEvent):
    event_type: ClassVar[str] = "evaluator.engaged"


class EvaluatorEngagementEndedV1(_EngagementEvent):
    event_type: ClassVar[str] = "evaluator.engagement_ended"


class _CallEvent(EventContract):
    aggregate_type: ClassVar[str] = "call"
    aggregate_field: ClassVar[str | None] = "call_id"

    call_id: UUID
    program_id: UUID
    program_code: str


class CallPublishedV1(_CallEvent):
    event_type: ClassVar[str] = "call.published"

    title: str
    year: int
    opens_at: Moment
    closes_at: Moment


class CallCancelledV1(_CallEvent):
    event_type: ClassVar[str] = "call.cancelled"

    reason: str


class ReviewLateV1(EventContract):
    """An expert submitted a review after the round's deadline, or (`submitted_at` null) had
    not submitted an accepted one when the round closed; credit proposes EXPERT_LATE_REVIEW."""

    event_type: ClassVar[str] = "review.late"
    aggregate_type: ClassVar[str] = "review_round"
    aggregate_field: ClassVar[str | None] = "round_id"

    expert_id: UUID
    expert_name: str
    round_id: UUID
    call_id: UUID
    program_id: UUID | None = None  # named since the event was first published
    application_id: UUID
    deadline: Moment
    submitted_at: Moment | None
    managing_agency: str
