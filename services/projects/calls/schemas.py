from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    StringConstraints,
    model_validator,
)

from services.projects.programs.terms import (
    AttachmentKinds,
    ExpertCount,
    NoticeDays,
    OrgKinds,
    ProjectLimit,
    ReviewTemplate,
    Year,
    refuse_repeats,
)
from services.projects.schema_types import Reason, ShanghaiTime
from shared.contracts.vocabulary import CreditLevel
from shared.money import NonNegativeFen

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=300)]
Guideline = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=2, max_length=100_000)
]
# Stored: draft, published, cancelled, decided. Shown: whether a published call is upcoming,
# open or closed follows from the clock.
CallStatus = Literal["draft", "upcoming", "open", "closed", "cancelled"]

TERM_FIELDS = (
    "eligible_org_kinds",
    "budget_min_fen",
    "budget_max_fen",
    "max_active_projects_per_pi",
    "min_credit_level",
    "required_attachments",
    "review_template",
    "experts_per_application",
    "notice_days",
)
# Everything `CallTerms` holds: the terms and the schedule.
CALL_TERMS = (*TERM_FIELDS, "opens_at", "closes_at")


class _Overrides(BaseModel):
    """Terms a call may set; what it leaves out comes from its program's defaults."""

    model_config = ConfigDict(extra="forbid")

    eligible_org_kinds: OrgKinds | None = None
    budget_min_fen: NonNegativeFen | None = None
    budget_max_fen: NonNegativeFen | None = None
    max_active_projects_per_pi: ProjectLimit | None = None  # 限项
    min_credit_level: CreditLevel | None = None
    required_attachments: AttachmentKinds | None = None
    review_template: ReviewTemplate | None = None
    experts_per_application: ExpertCount | None = None
    notice_days: NoticeDays | None = None

    def _check(self, opens_at: datetime | None, closes_at: datetime | None) -> None:
        refuse_repeats(self.eligible_org_kinds, "eligible_org_kinds")
        refuse_repeats(self.required_attachments, "required_attachments")
        low, high = self.budget_min_fen, self.budget_max_fen
        if low is not None and high is not None and low > high:
            raise ValueError("budget_min_fen must not exceed budget_max_fen")
        if opens_at is not None and closes_at is not None and closes_at <= opens_at:
            raise ValueError("closes_at must be after opens_at")


class CallCreate(_Overrides):
    program_id: UUID
    year: Year
    title: Title
    guideline: Guideline
    opens_at: AwareDatetime
    closes_at: AwareDatetime

    @model_validator(mode="after")
    def _consistent(self) -> CallCreate:
        self._check(self.opens_at, self.closes_at)
        return self


class CallPatch(_Overrides):
    """Changes to a draft; a field left out stays as it is (null is not a value here)."""

    year: Year | None = None
    title: Title | None = None
    guideline: Guideline | None = None
    opens_at: AwareDatetime | None = None
    closes_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _consistent(self) -> CallPatch:
        nulls = sorted(name for name in self.model_fields_set if getattr(self, name) is None)
        if nulls:
            raise ValueError("leave out what does not change; null given for: " + ", ".join(nulls))
        self._check(self.opens_at, self.closes_at)
        return self


class CallTerms(_Overrides):
    """A call's terms once the program's defaults are filled in: nothing may be missing."""

    eligible_org_kinds: OrgKinds
    budget_min_fen: NonNegativeFen
    budget_max_fen: NonNegativeFen
    max_active_projects_per_pi: ProjectLimit
    min_credit_level: CreditLevel
    required_attachments: AttachmentKinds
    review_template: ReviewTemplate
    experts_per_application: ExpertCount
    notice_days: NoticeDays
    opens_at: AwareDatetime
    closes_at: AwareDatetime

    @model_validator(mode="after")
    def _consistent(self) -> CallTerms:
        self._check(self.opens_at, self.closes_at)
        return self


class Cancellation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


class ProgramSummary(BaseModel):
    id: UUID
    code: str
    name_zh: str
    name_en: str


class CallRead(BaseModel):
    """A call as applicants see it: everything they need to decide whether and how to apply."""

    id: UUID
    program: ProgramSummary
    year: int
    title: str
    guideline: str
    state: str
    status: CallStatus
    opens_at: ShanghaiTime
    closes_at: ShanghaiTime
    eligible_org_kinds: list[str]
    budget_min_fen: int
    budget_max_fen: int
    max_active_projects_per_pi: int
    min_credit_level: CreditLevel
    required_attachments: list[str]
    review_template: dict[str, Any]
    experts_per_application: int
    notice_days: int
    published_at: ShanghaiTime | None


class CallDetail(CallRead):
    """A call as its program's managers see it."""

    created_by: UUID
    created_at: ShanghaiTime
