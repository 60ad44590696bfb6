from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from services.projects.models.outputs import TechReportStatus
from services.projects.schema_types import ShanghaiTime

ReportTitle = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=300)]
Abstract = Annotated[str, StringConstraints(strip_whitespace=True, min_length=20, max_length=5000)]


class TechReportCreate(BaseModel):
    """What the report is; its document follows (`PUT .../document`), which deposits it."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["annual", "final"]
    year: Annotated[int, Field(ge=2000, le=2100)] | None = Field(
        None, description="the year an annual report covers (annual reports only)"
    )
    title: ReportTitle
    abstract: Abstract
    embargo_until: date | None = Field(
        None,
        description="the day (Asia/Shanghai) the abstract becomes public; none: on deposit. "
        "From today to five years ahead",
    )

    @model_validator(mode="after")
    def _year_for_annual_reports(self) -> TechReportCreate:
        if (self.kind == "annual") != (self.year is not None):
            raise ValueError("an annual report names its year; a final report names none")
        return self


class TechReportRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    project_id: UUID
    kind: str
    year: int | None
    title: str
    abstract: str
    embargo_until: date | None
    status: TechReportStatus
    created_by: UUID
    created_at: ShanghaiTime
    filename: str | None
    content_type: str | None
    size_bytes: int | None
    sha256: str | None
    deposited_by: UUID | None
    deposited_at: ShanghaiTime | None
    abstract_public: bool = Field(description="the public reads its abstract now")


class PublicTechReport(BaseModel):
    """What the public reads of a deposited report once its embargo is over: never the
    document, nor who deposited it."""

    id: UUID
    project_number: str
    project_title: str
    program_code: str
    organization_name: str
    pi_name: str
    kind: str
    year: int | None
    title: str
    abstract: str
    deposited_on: date
    public_from: date
