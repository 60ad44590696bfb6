"""The projects service's events about a project's life, which funds and credit act on.

- `project.approved`: a number was given (disclosure; credit and funds scope reads by it);
- `project.contracted`: funds opens the budget and pays the `signing` tranche;
- `project.midterm_passed`: funds pays the `midterm` tranche;
- `project.accepted` / `project.acceptance_failed`: post-subsidy, or recovery;
- `project.terminated`: funds recovers money; credit proposes a record when `at_fault`;
- `project.changed`: an approved change (a budget reallocation moves money between categories);
- `project.public_notice_started`, `objection.decided.v2`, `task_book.ready_to_sign`: for the
  people concerned (the PI, the organization, whoever objected under an account), by the
  gateway's ids (`objection.decided`, V1, is what was published before objections without an
  account).

Fields that older events lack are optional, so that every event still in an outbox parses.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer, model_validator

from shared.contracts.base import Contract, EventContract, Moment
from shared.contracts.vocabulary import (
    AcceptanceResult,
    ChangeKind,
    TerminationCause,
    TrancheMilestone,
)

Fen = Annotated[int, Field(ge=0)]


class _ProjectEvent(EventContract):
    aggregate_type: ClassVar[str] = "project"
    aggregate_field: ClassVar[str | None] = "project_id"

    project_id: UUID
    project_number: str


class ProjectOrganization(Contract):
    id: UUID
    name: str
    credit_code: str | None


class ProjectPerson(Contract):
    id: UUID
    name: str


class Budget(Contract):
    """The approved budget by category, in fen."""

    equipment: Fen
    business: Fen
    labour: Fen
    indirect: Fen

    @property
    def total(self) -> int:
        return self.equipment + self.business + self.labour + self.indirect


class Tranche(Contract):
    name: str
    amount_fen: Annotated[int, Field(gt=0)]
    on: TrancheMilestone


class ProjectApprovedV1(_ProjectEvent):
    event_type: ClassVar[str] = "project.approved"

    application_id: UUID
    program_id: UUID | None = None  # named since the event was first published
    program_code: str
    year: int
    org_id: UUID
    pi_id: UUID
    approved_budget_fen: Fen


class ProjectContractedV1(_ProjectEvent):
    """The task book is signed: the budget by category and the schedule of tranches, which
    add up to the approved budget (money is never paid on a schedule that does not)."""

    event_type: ClassVar[str] = "project.contracted"

    program_id: UUID
    program_code: str
    year: int
    org: ProjectOrganization
    pi: ProjectPerson
    approved_budget_fen: Fen
    budget: Budget
    tranches: list[Tranche]
    starts_on: date
    ends_on: date

    @model_validator(mode="after")
    def _adds_up(self) -> ProjectContractedV1:
        if self.budget.total != self.approved_budget_fen:
            raise ValueError("the budget does not add up to the approved budget")
        if sum(t.amount_fen for t in self.tranches) != self.approved_budget_fen:
            raise ValueError("the tranches do not add up to the approved budget")
        return self


class ProjectMidtermPassedV1(_ProjectEvent):
    event_type: ClassVar[str] = "project.midterm_passed"

    report_id: UUID


class _ProjectSummary(_ProjectEvent):
    program_id: UUID
    program_code: str
    year: int
    approved_budget_fen: Fen
    org: ProjectOrganization
    pi: ProjectPerson


class ProjectAcceptedV1(_ProjectSummary):
    event_type: ClassVar[str] = "project.accepted"

    result: AcceptanceResult
    conditions: str | None


class ProjectAcceptanceFailedV1(_ProjectSummary):
    event_type: ClassVar[str] = "project.acceptance_failed"

    reason: str


class CreditPerson(Contract):
    """A person as the credit service finds them: by the gateway's id."""

    name: str
    gateway_user_id: UUID


class CreditOrganization(Contract):
    """An organization as the credit service finds it: by the gateway's id or credit code."""

    name: str
    gateway_org_id: UUID
    credit_code: str | None


class ProjectTerminatedV1(_ProjectEvent):
    """Ended early. Only a termination for misconduct (`at_fault`) names a credit rule."""

    event_type: ClassVar[str] = "project.terminated"

    program_id: UUID | None = None  # named since the event was first published
    cause: TerminationCause
    at_fault: bool
    reason: str
    managing_agency: str
    pi: CreditPerson
    organization: CreditOrganization
    rule_code: str | None = Field(None, description="absent unless at_fault")

    @model_serializer(mode="wrap")
    def _rule_only_when_at_fault(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if data.get("rule_code") is None:
            data.pop("rule_code", None)
        return data


class ProjectChangedV1(_ProjectEvent):
    """`details` are the change's as projects recorded them, by kind: `new_ends_on`
    (extension), `new_pi_id` and `new_pi_name` (pi_change), `budget` (budget_reallocation)."""

    event_type: ClassVar[str] = "project.changed"

    change_id: UUID
    kind: ChangeKind
    details: dict[str, Any]


class ProjectPublicNoticeStartedV1(_ProjectEvent):
    """An approved project is publicly announced (公示): anyone may object until
    `notice_ends_at`; the task book is signed only after it."""

    event_type: ClassVar[str] = "project.public_notice_started"

    title: str
    program_id: UUID
    application_id: UUID
    org: ProjectOrganization
    pi: ProjectPerson
    approved_budget_fen: Fen
    notice_starts_at: Moment
    notice_ends_at: Moment


class ObjectionDecidedV1(_ProjectEvent):
    """An objection to a project in its public notice, decided. `objector_id` is the gateway
    id of the person who filed it; an upheld objection cancels the project
    (`project_cancelled`)."""

    event_type: ClassVar[str] = "objection.decided"

    objection_id: UUID
    title: str
    org: ProjectOrganization
    pi: ProjectPerson
    objector_id: UUID
    outcome: Literal["upheld", "dismissed"]
    resolution: str
    project_cancelled: bool
    decided_at: Moment


class ObjectionDecidedV2(_ProjectEvent):
    """An objection to a project in its public notice, decided. `objector_id` is the gateway
    id of the person who filed it under their account, and null for a real-name objection
    lodged without one (the agency reaches that objector through the contact they left, which
    stays in projects); an upheld objection cancels the project (`project_cancelled`)."""

    event_type: ClassVar[str] = "objection.decided.v2"

    objection_id: UUID
    title: str
    org: ProjectOrganization
    pi: ProjectPerson
    objector_id: UUID | None
    outcome: Literal["upheld", "dismissed"]
    resolution: str
    project_cancelled: bool
    decided_at: Moment


class TaskBookReadyToSignV1(_ProjectEvent):
    """The agency drafted (or redrafted) the task book: the organization's administrators sign
    it, from `signable_from` (the end of the public notice)."""

    event_type: ClassVar[str] = "task_book.ready_to_sign"

    title: str
    org: ProjectOrganization
    pi: ProjectPerson
    approved_budget_fen: Fen
    starts_on: date
    ends_on: date
    signable_from: Moment
    drafted_at: Moment
