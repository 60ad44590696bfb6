"""The projects service's events about one application, for the people who act on it next.

Every event names the applicant (`applicant_id`) and the organization (`org_id`) by the gateway's
ids, and the application and its call by id and title, so that a notice can be written from the
event alone:

- `application.draft_created`: a draft exists; `call_closes_at` lets reminders be sent before
  the call closes;
- `application.submitted`: the applicant's receipt;
- `application.endorsement_requested`: the organization's administrators endorse or return it;
- `application.returned`: the organization returned it (the agency's return after the formal
  check is `application.formal_check_done` with `passed` false);
- `application.formal_check_done`: the agency's formal check decided, passed or returned;
- `application.decided`: the formal notice of the decision (approved, reserved or rejected).
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal
from uuid import UUID

from pydantic import Field

from shared.contracts.base import EventContract, Moment

Fen = Annotated[int, Field(ge=0)]


class _ApplicationEvent(EventContract):
    aggregate_type: ClassVar[str] = "application"
    aggregate_field: ClassVar[str | None] = "application_id"

    application_id: UUID
    title: str
    applicant_id: UUID
    org_id: UUID
    call_id: UUID
    call_title: str
    program_id: UUID
    call_closes_at: Moment


class ApplicationDraftCreatedV1(_ApplicationEvent):
    event_type: ClassVar[str] = "application.draft_created"

    created_at: Moment


class ApplicationSubmittedV1(_ApplicationEvent):
    event_type: ClassVar[str] = "application.submitted"

    submitted_version: int
    submitted_at: Moment


class ApplicationEndorsementRequestedV1(_ApplicationEvent):
    """Published with `application.submitted`: the administrators of `org_id` act next."""

    event_type: ClassVar[str] = "application.endorsement_requested"

    submitted_version: int
    submitted_at: Moment


class ApplicationReturnedV1(_ApplicationEvent):
    """Returned by the organization's administrator; the applicant may edit it and submit it
    again until `call_closes_at`."""

    event_type: ClassVar[str] = "application.returned"

    reason: str
    returned_at: Moment


class ApplicationFormalCheckDoneV1(_ApplicationEvent):
    """Passed (the application goes to review) or not (returned to the applicant, who may
    submit again until `call_closes_at`). `failed_rules` are the automatic rules it failed."""

    event_type: ClassVar[str] = "application.formal_check_done"

    passed: bool
    reason: str | None
    failed_rules: list[str]
    decided_at: Moment


class ApplicationDecidedV1(_ApplicationEvent):
    """A formal notice. An approval names the project (and its budget); a reserved application
    may later be approved, which is published again with `outcome` approved."""

    event_type: ClassVar[str] = "application.decided"

    outcome: Literal["approved", "reserved", "rejected"]
    reason: str | None
    approved_budget_fen: Fen | None
    project_id: UUID | None
    project_number: str | None
    decided_at: Moment
