"""The projects service's events about applications to join the expert pool.

`user_id` is the person's gateway user id; `decided_by` the program manager's (or admin's).
The gateway grants the `expert` role on `expert.admitted`; notify tells the person either way.
"""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from shared.contracts.base import EventContract, Moment


class _ApplicationDecided(EventContract):
    aggregate_type: ClassVar[str] = "expert_application"
    aggregate_field: ClassVar[str | None] = "application_id"

    application_id: UUID
    user_id: UUID
    decided_by: UUID
    decided_at: Moment
    reason: str


class ExpertAdmittedV1(_ApplicationDecided):
    """The application was approved: the person is in the expert pool from now on."""

    event_type: ClassVar[str] = "expert.admitted"


class ExpertApplicationDeclinedV1(_ApplicationDecided):
    """The application was declined, with the reason the person is told."""

    event_type: ClassVar[str] = "expert_application.declined"
