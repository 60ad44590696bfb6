"""The projects service's events about an expert's review assignments, for the expert.

`expert_id` is the expert's gateway user id; `due_at` is the round's deadline. A swap of experts
is published as `review.unassigned` for the one and `review.assigned` for the other; the expert's
score sheet submitted is `review.submitted` (again after a manager reopened it); an invitation the
expert declined is `review.declined`.
"""

from __future__ import annotations

from typing import ClassVar, Literal
from uuid import UUID

from shared.contracts.base import EventContract, Moment


class _AssignmentEvent(EventContract):
    aggregate_type: ClassVar[str] = "assignment"
    aggregate_field: ClassVar[str | None] = "assignment_id"

    assignment_id: UUID
    expert_id: UUID
    round_id: UUID
    round_kind: Literal["proposal", "acceptance"]
    application_id: UUID
    application_title: str
    call_id: UUID
    call_title: str
    program_id: UUID
    due_at: Moment


class ReviewAssignedV1(_AssignmentEvent):
    """The expert is invited to review (they accept or decline)."""

    event_type: ClassVar[str] = "review.assigned"

    assigned_at: Moment


class ReviewUnassignedV1(_AssignmentEvent):
    """The program manager removed the expert from the application, with a reason."""

    event_type: ClassVar[str] = "review.unassigned"

    reason: str
    removed_at: Moment


class ReviewSubmittedV1(_AssignmentEvent):
    """The expert submitted the score sheet of the assignment: nothing more is due from them
    unless a manager reopens it."""

    event_type: ClassVar[str] = "review.submitted"

    submitted_at: Moment
    late: bool


class ReviewDeclinedV1(_AssignmentEvent):
    """The expert declined the invitation (a replacement, if any, is a `review.assigned`)."""

    event_type: ClassVar[str] = "review.declined"

    reason: str
    declined_at: Moment
