"""A program's reporting policy: which reports its projects owe and when, when the PI is
reminded, when a missing final report goes to credit, and how closely each credit level is
followed (分类管理). A program with no policy of its own follows `DEFAULT_POLICY`."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.projects.models.reporting import Supervision
from shared.contracts.vocabulary import CreditLevel

ReminderDay = Annotated[int, Field(ge=1, le=180)]
DaysAfter = Annotated[int, Field(ge=0, le=365)]


def _default_supervision() -> dict[CreditLevel, Supervision]:
    return {
        CreditLevel.A: Supervision.simplified,
        CreditLevel.B: Supervision.standard,
        CreditLevel.C: Supervision.enhanced,
        CreditLevel.D: Supervision.enhanced,
    }


class ReportPolicyWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reminder_days: Annotated[list[ReminderDay], Field(max_length=5)] = Field(
        default_factory=lambda: [30, 7],
        description="days before a due date the PI is reminded, once each",
    )
    final_overdue_days: Annotated[int, Field(ge=1, le=365)] = Field(
        30,
        description="days a final report may be missing past its due date before credit "
        "is proposed a record (MISSING_REPORT)",
    )
    annual: bool = Field(True, description="an annual report after each project year but the last")
    annual_due_days: DaysAfter = Field(30, description="days after the project year ends")
    midterm: bool = Field(True, description="a mid-term report (not for simplified supervision)")
    midterm_due_days: DaysAfter = Field(30, description="days after the project's midpoint")
    final_due_days: DaysAfter = Field(90, description="days after the project ends")
    financial: bool = Field(True, description="a financial statement, due with the final report")
    progress_months: Annotated[int, Field(ge=1, le=12)] = Field(
        6, description="enhanced supervision: a progress report every so many months"
    )
    progress_due_days: DaysAfter = Field(15, description="days after each progress period ends")
    supervision: dict[CreditLevel, Supervision] = Field(
        default_factory=_default_supervision,
        description="the supervision of a project by the worse of its PI's and organization's "
        "credit levels when the task book is signed",
    )

    @model_validator(mode="after")
    def _consistent(self) -> ReportPolicyWrite:
        if len(set(self.reminder_days)) != len(self.reminder_days):
            raise ValueError("reminder_days must not repeat")
        missing = [level.value for level in CreditLevel if level not in self.supervision]
        if missing:
            raise ValueError(f"supervision must name every credit level; missing {missing}")
        self.reminder_days.sort(reverse=True)
        return self

    def supervision_for(self, level: CreditLevel | None) -> Supervision:
        """Standard when the level is unknown (the credit service could not be asked)."""
        return Supervision.standard if level is None else self.supervision[level]


DEFAULT_POLICY = ReportPolicyWrite()


def policy_from(terms: dict[str, Any] | None) -> ReportPolicyWrite:
    return DEFAULT_POLICY if terms is None else ReportPolicyWrite.model_validate(terms)
