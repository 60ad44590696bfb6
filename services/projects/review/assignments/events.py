"""The events that tell an expert they were invited to review, taken off a review, or done with
it (submitted, or declined), with their contracts in `shared/contracts/review.py`, published
with the change."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import Assignment, Call, ReviewRound, events
from services.projects.review.assignments.repository import AssignmentRepository
from shared.contracts.review import (
    ReviewAssignedV1,
    ReviewDeclinedV1,
    ReviewSubmittedV1,
    ReviewUnassignedV1,
)
from shared.events import outbox


async def assigned(
    session: AsyncSession, round_: ReviewRound, assignments: Sequence[Assignment]
) -> None:
    if not assignments:
        return
    repo = AssignmentRepository(session)
    call = await repo.call(round_.call_id)
    titles = await repo.titles({a.application_id for a in assignments})
    await outbox.publish_all(
        session,
        events,
        [
            ReviewAssignedV1.model_validate(
                {
                    **_about(round_, call, assignment, titles[assignment.application_id]),
                    "assigned_at": assignment.assigned_at,
                }
            )
            for assignment in assignments
        ],
    )


async def unassigned(
    session: AsyncSession, round_: ReviewRound, assignment: Assignment, reason: str, now: datetime
) -> None:
    repo = AssignmentRepository(session)
    call = await repo.call(round_.call_id)
    titles = await repo.titles({assignment.application_id})
    about = _about(round_, call, assignment, titles[assignment.application_id])
    await outbox.publish(
        session,
        events,
        ReviewUnassignedV1.model_validate({**about, "reason": reason, "removed_at": now}),
    )


async def submitted(
    session: AsyncSession, round_: ReviewRound, assignment: Assignment, *, late: bool, now: datetime
) -> None:
    """The expert's score sheet was submitted: reminders of the review stop."""
    repo = AssignmentRepository(session)
    call = await repo.call(round_.call_id)
    titles = await repo.titles({assignment.application_id})
    about = _about(round_, call, assignment, titles[assignment.application_id])
    await outbox.publish(
        session,
        events,
        ReviewSubmittedV1.model_validate({**about, "submitted_at": now, "late": late}),
    )


async def declined(
    session: AsyncSession, round_: ReviewRound, assignment: Assignment, reason: str, now: datetime
) -> None:
    repo = AssignmentRepository(session)
    call = await repo.call(round_.call_id)
    titles = await repo.titles({assignment.application_id})
    about = _about(round_, call, assignment, titles[assignment.application_id])
    await outbox.publish(
        session,
        events,
        ReviewDeclinedV1.model_validate({**about, "reason": reason, "declined_at": now}),
    )


def _about(round_: ReviewRound, call: Call, assignment: Assignment, title: str) -> dict[str, Any]:
    return {
        "assignment_id": assignment.id,
        "expert_id": assignment.expert_id,
        "round_id": round_.id,
        "round_kind": round_.kind,
        "application_id": assignment.application_id,
        "application_title": title,
        "call_id": call.id,
        "call_title": call.title,
        "program_id": call.program_id,
        "due_at": round_.deadline,
    }
