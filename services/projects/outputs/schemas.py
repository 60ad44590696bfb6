"""Outputs as registered, read, judged and counted.

Each kind of output is its own body (`kind` tells which); what makes it unique (a DOI, a
patent or standard number, a contract number) is validated and normalized here, so the same
output written two ways is still the same one.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from services.projects.execution.schemas import Measure, PositiveFen
from services.projects.models.outputs import OutputKind, OutputStatus
from services.projects.schema_types import Name, Reason, ShanghaiTime

_DOI = re.compile(r"^10\.\d{4,9}/\S{1,180}$")
_DOI_PREFIXES = ("https://doi.org/", "http://doi.org/", "https://dx.doi.org/", "doi:")
_PATENT = re.compile(r"^[A-Z0-9][A-Z0-9./-]{5,39}$")
_STANDARD = re.compile(r"^[A-Z][A-Z0-9/ .:-]{3,59}$")
_SOFTWARE = re.compile(r"^[0-9A-Z]{6,30}$")


def _doi(raw: str) -> str:
    """A DOI (`10.prefix/suffix`), also given as a doi.org link or `doi:`; DOIs ignore case,
    so it is kept in lower case."""
    text = raw.strip()
    for prefix in _DOI_PREFIXES:
        if text.lower().startswith(prefix):
            text = text[len(prefix) :]
            break
    text = text.lower()
    if not _DOI.match(text):
        raise ValueError(
            "not a DOI: expected 10.<registrant>/<suffix>, e.g. 10.1016/j.agwat.2026.01.001"
        )
    return text


def _patent_number(raw: str) -> str:
    text = re.sub(r"\s+", "", raw).upper()
    if not _PATENT.match(text):
        raise ValueError("not a patent number, e.g. CN202610123456.7 or ZL202610123456.7")
    return text


def _standard_number(raw: str) -> str:
    text = re.sub(r"\s+", " ", raw).strip().upper()
    if not _STANDARD.match(text):
        raise ValueError("not a standard number, e.g. GB/T 43210-2026 or DB62/T 4321-2026")
    return text


def _software_number(raw: str) -> str:
    text = re.sub(r"\s+", "", raw).upper()
    if not _SOFTWARE.match(text):
        raise ValueError("not a software registration number, e.g. 2026SR0123456")
    return text


def _collapsed(raw: str) -> str:
    return re.sub(r"\s+", " ", raw).strip()


Doi = Annotated[str, StringConstraints(max_length=300), AfterValidator(_doi)]
PatentNumber = Annotated[str, StringConstraints(max_length=60), AfterValidator(_patent_number)]
StandardNumber = Annotated[str, StringConstraints(max_length=80), AfterValidator(_standard_number)]
SoftwareNumber = Annotated[str, StringConstraints(max_length=40), AfterValidator(_software_number)]
ContractNumber = Annotated[
    str, StringConstraints(min_length=2, max_length=100), AfterValidator(_collapsed)
]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=500)]
Link = Annotated[str, StringConstraints(strip_whitespace=True, min_length=4, max_length=300)]


class _Output(BaseModel):
    """What every output has: a title, the day it came about (its year counts in the
    statistics) and, optionally, the task book indicator it counts toward."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    achieved_on: date = Field(description="published, filed, issued, released or signed on")
    indicator: Name | None = Field(
        None, description="the task book indicator it counts toward (its exact name)"
    )

    def identifier(self) -> str | None:
        return None

    def contract_amount(self) -> int | None:
        return None

    def details(self) -> dict[str, Any]:
        """What its kind adds (the common fields and a transfer's amount have columns)."""
        common = {"kind", "title", "achieved_on", "indicator", "amount_fen"}
        return self.model_dump(mode="json", exclude=common)


class PaperOutput(_Output):
    kind: Literal["paper"]
    doi: Doi
    journal: Name
    authors: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] = ""

    def identifier(self) -> str:
        return self.doi


class PatentOutput(_Output):
    kind: Literal["patent"]
    number: PatentNumber = Field(description="the application (or grant) number")
    patent_status: Literal["applied", "granted", "lapsed"]
    patent_type: Literal["invention", "utility_model", "design", "other"] = "invention"

    def identifier(self) -> str:
        return self.number


class StandardOutput(_Output):
    kind: Literal["standard"]
    number: StandardNumber
    level: Literal["international", "national", "industry", "local", "group", "enterprise"]

    def identifier(self) -> str:
        return self.number


class SoftwareOutput(_Output):
    kind: Literal["software"]
    registration_number: SoftwareNumber | None = Field(None, description="软件著作权登记号")

    def identifier(self) -> str | None:
        return self.registration_number


class DatasetOutput(_Output):
    kind: Literal["dataset"]
    repository: Name
    link: Link | None = Field(None, description="a DOI or address where it is kept")

    def identifier(self) -> str | None:
        return self.link


class AwardOutput(_Output):
    kind: Literal["award"]
    level: Literal["national", "provincial", "ministerial", "municipal", "other"]
    grade: Literal["special", "first", "second", "third", "other"]
    awarded_by: Name


class TransferOutput(_Output):
    """成果转化: results passed on under a contract (assignment, license, equity)."""

    kind: Literal["transfer"]
    contract_number: ContractNumber
    licensee: Name
    amount_fen: PositiveFen
    mode: Literal["assignment", "license", "equity", "other"]

    def identifier(self) -> str:
        return self.contract_number

    def contract_amount(self) -> int:
        return self.amount_fen


OutputCreate = Annotated[
    PaperOutput
    | PatentOutput
    | StandardOutput
    | SoftwareOutput
    | DatasetOutput
    | AwardOutput
    | TransferOutput,
    Field(discriminator="kind"),
]


class OutputRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    project_id: UUID
    kind: OutputKind
    title: str
    achieved_on: date
    identifier: str | None = Field(description="DOI, patent, standard or contract number")
    details: dict[str, Any]
    amount_fen: int | None = Field(description="a transfer's contract amount")
    indicator: str | None
    status: OutputStatus
    registered_by: UUID
    registered_at: ShanghaiTime
    decided_by: UUID | None
    decided_at: ShanghaiTime | None
    rejection_reason: str | None


class OutputDecision(BaseModel):
    """The organization's word on an output: verified, or rejected with the reason."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["verify", "reject"]
    reason: Reason | None = None

    @model_validator(mode="after")
    def _reason_for_a_rejection(self) -> OutputDecision:
        if self.decision == "reject" and self.reason is None:
            raise ValueError("a rejection says why (reason)")
        return self


# --- the acceptance view ---------------------------------------------------------------------


class IndicatorProgress(BaseModel):
    """A promised indicator of the task book next to the outputs counting toward it."""

    name: str
    target: Measure | None
    unit: str
    reported: Measure | None = Field(description="what the latest final report says")
    verified: int = Field(description="verified outputs counting toward it")
    pending: int = Field(description="registered outputs not yet verified")
    met: bool | None = Field(
        description="verified >= target; None for a qualitative target (the reviewer judges)"
    )


class PromisedVsAchieved(BaseModel):
    project_id: UUID
    project_status: str
    as_of: ShanghaiTime | None = Field(
        description="a closed project is judged on the outputs verified by its acceptance"
    )
    indicators: list[IndicatorProgress]
    verified_by_kind: dict[OutputKind, int]
    verified_unlinked: int = Field(description="verified outputs that name no indicator")


# --- statistics ------------------------------------------------------------------------------


class TransferTotals(BaseModel):
    count: int
    amount_fen: int


class YearOutputs(BaseModel):
    """Verified outputs of one year (the year of `achieved_on`)."""

    year: int
    outputs: dict[OutputKind, int]
    transfers: TransferTotals


class ProgramYearOutputs(YearOutputs):
    pending: dict[OutputKind, int] = Field(description="registered, awaiting verification")
    projects: int = Field(description="projects with at least one verified output that year")


class ProgramOutputStatistics(BaseModel):
    program_id: UUID
    years: list[ProgramYearOutputs]


class PublicOutputStatistics(BaseModel):
    program: str | None = Field(description="the program asked for (its code), or all")
    years: list[YearOutputs]
