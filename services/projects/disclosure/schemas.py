"""What the public sees of an approved project: no ids of people, no application content."""

from __future__ import annotations

from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import BaseModel

from services.projects.schema_types import ShanghaiTime

# Every status an approved project can be in, except `cancelled` (an upheld objection undid
# the approval: the project never was).
PublicStatus = Literal[
    "in_notice", "awaiting_contract", "in_progress", "accepted", "acceptance_failed", "terminated"
]


class PublicProject(BaseModel):
    id: UUID  # what an objection names (`POST /v1/[public/]projects/{id}/objections`)
    number: str
    title: str
    call_id: UUID
    call_title: str  # the notice (公示) a project is announced in is its call's
    program_code: str
    program_name_zh: str
    program_name_en: str
    year: int
    organization_id: UUID  # an organization is a public legal entity, not a person
    organization_name: str
    pi_name: str  # the only personal data made public
    approved_budget_fen: int
    status: str  # as of now: a notice that ran out with no open objection is awaiting_contract
    notice_starts_at: ShanghaiTime
    notice_ends_at: ShanghaiTime
    starts_on: date | None
    ends_on: date | None
    contracted_at: ShanghaiTime | None
    closed_at: ShanghaiTime | None
    # Only the category (misconduct, inability, request); the reasons stay in the history,
    # which only those who may read the project see.
    termination_cause: str | None


class BulkYear(BaseModel):
    """One year's file of funded projects, in both forms."""

    year: int
    projects: int
    csv: str  # the path through the gateway
    jsonl: str
