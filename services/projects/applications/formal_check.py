"""The automatic rules of the agency's formal check (形式审查), run on the submitted version.

Each rule gives {rule, passed, detail}. A manager may pass the check only when every rule
passed; when the credit service could not be asked, its rule fails with "unavailable" and the
manager re-runs the check later. Credit is asked as of the submission time: what happened to
the applicant's credit since does not change what the application was entitled to. It is asked
before the application is locked (`ask_credit`); the caller then locks it and checks that the
question still fits it (`CreditQuestion.of`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from services.projects.applications import budget as budget_rules
from services.projects.applications.repository import ApplicationRepository
from services.projects.applications.schemas import ApplicationContent, RuleResult
from services.projects.models import Application, Call, FormalCheck
from shared.contracts.credit import EligibilityV1
from shared.contracts.vocabulary import CreditLevel
from shared.credit_client import CreditClient, CreditUnavailable

FIELDS = "fields.required"
ATTACHMENTS = "attachments.required"
BUDGET_RANGE = "budget.within_range"
INDIRECT = "budget.indirect_within_tiers"
PROJECT_LIMIT = "projects.limit"
CREDIT = "credit.eligible"
REPORTS = "reports.none_overdue"


def missing_fields(content: ApplicationContent) -> list[str]:
    """What a submitted application must have beyond what any saved draft has."""
    missing = []
    if not content.abstract:
        missing.append("abstract")
    if not content.milestones:
        missing.append("milestones")
    if not content.indicators:
        missing.append("indicators")
    if content.budget.total <= 0:
        missing.append("budget")
    return missing


def _fields(content: ApplicationContent) -> RuleResult:
    missing = missing_fields(content)
    detail = "missing: " + ", ".join(missing) if missing else "complete"
    return RuleResult(rule=FIELDS, passed=not missing, detail=detail)


def _attachments(content: ApplicationContent, call: Call) -> RuleResult:
    present = {a.kind for a in content.attachments}
    missing = [kind for kind in call.required_attachments if kind not in present]
    detail = "missing: " + ", ".join(missing) if missing else "all present"
    return RuleResult(rule=ATTACHMENTS, passed=not missing, detail=detail)


def _budget_range(content: ApplicationContent, call: Call) -> RuleResult:
    total = content.budget.total
    passed = call.budget_min_fen <= total <= call.budget_max_fen
    return RuleResult(
        rule=BUDGET_RANGE,
        passed=passed,
        detail=f"total {total} fen; the call allows {call.budget_min_fen}..{call.budget_max_fen}",
    )


def _indirect(content: ApplicationContent) -> RuleResult:
    indirect = budget_rules.check_indirect(content.budget.model_dump())
    return RuleResult(
        rule=INDIRECT,
        passed=indirect.within,
        detail=f"indirect {indirect.indirect_fen} fen; at most {indirect.limit_fen}",
    )


async def _project_limit(
    repository: ApplicationRepository, application: Application, call: Call
) -> RuleResult:
    running = await repository.active_projects_led_by(application.applicant_id)
    return RuleResult(
        rule=PROJECT_LIMIT,
        passed=running < call.max_active_projects_per_pi,
        detail=f"leads {running} active projects; the call allows fewer than "
        f"{call.max_active_projects_per_pi}",
    )


def _reports(overdue: list[dict[str, Any]]) -> RuleResult:
    """No report of a project the applicant leads is overdue at the check (each one named)."""
    named = [
        f"{r['project_number']} {r['kind']}{' ' + r['period'] if r['period'] else ''} "
        f"due {r['due_on']}"
        for r in overdue
    ]
    detail = "overdue: " + "; ".join(named) if named else "none overdue"
    return RuleResult(rule=REPORTS, passed=not named, detail=detail)


def _acceptable(answer: EligibilityV1, min_level: str) -> bool:
    return answer.eligible and answer.level.at_least(CreditLevel(min_level))


@dataclass(frozen=True)
class CreditQuestion:
    """Whom the check asks about, as of when: the applicant and their organization at the
    submission. The same question gets the same answer, whenever it is asked."""

    applicant_id: UUID
    org_id: UUID
    at: datetime

    @classmethod
    def of(cls, application: Application) -> CreditQuestion:
        assert application.submitted_at is not None  # only submitted versions are checked
        return cls(application.applicant_id, application.org_id, application.submitted_at)


@dataclass(frozen=True)
class CreditAnswers:
    question: CreditQuestion
    # {"applicant": ..., "organization": ...}; None when the credit service could not be asked
    answers: dict[str, EligibilityV1] | None

    def kept(self) -> dict[str, Any] | None:
        """The answers as the check keeps them (JSON)."""
        if self.answers is None:
            return None
        return {who: answer.model_dump(mode="json") for who, answer in self.answers.items()}


async def ask_credit(credit: CreditClient, question: CreditQuestion) -> CreditAnswers:
    """Both questions at once; call it holding no lock nor transaction (it may be slow)."""
    try:
        person, organization = await asyncio.gather(
            credit.eligibility(
                action="apply", at=question.at, gateway_user_id=question.applicant_id
            ),
            credit.eligibility(action="apply", at=question.at, gateway_org_id=question.org_id),
        )
    except CreditUnavailable:
        return CreditAnswers(question, None)
    return CreditAnswers(question, {"applicant": person, "organization": organization})


def _credit(asked: CreditAnswers, call: Call) -> RuleResult:
    answers = asked.answers
    if answers is None:
        return RuleResult(rule=CREDIT, passed=False, detail="unavailable")
    person, organization = answers["applicant"], answers["organization"]
    problems = [
        f"{who} level {answer.level}, eligible={answer.eligible}"
        for who, answer in answers.items()
        if not _acceptable(answer, call.min_credit_level)
    ]
    detail = (
        "; ".join(problems) + f" (at least {call.min_credit_level} needed)"
        if problems
        else f"applicant {person.level}, organization {organization.level}"
    )
    return RuleResult(rule=CREDIT, passed=not problems, detail=detail)


async def run(
    repository: ApplicationRepository,
    asked: CreditAnswers,
    application: Application,
    call: Call,
    content: dict[str, Any],
    overdue: list[dict[str, Any]],
) -> FormalCheck:
    """Every automatic rule on the submitted version, with the credit service's answers about
    it (`asked` must be about this application) and the applicant's overdue reports at the
    check; the check is returned unsaved."""
    assert application.submitted_version is not None
    assert asked.question == CreditQuestion.of(application)
    credit_result = _credit(asked, call)
    try:
        parsed = ApplicationContent.model_validate(content)
    except ValidationError as exc:
        # Only a version written around the API could fail here; the check says so.
        results = [
            RuleResult(rule=FIELDS, passed=False, detail=f"invalid: {exc.error_count()} errors"),
            credit_result,
            _reports(overdue),
        ]
    else:
        results = [
            _fields(parsed),
            _attachments(parsed, call),
            _budget_range(parsed, call),
            _indirect(parsed),
            await _project_limit(repository, application, call),
            credit_result,
            _reports(overdue),
        ]
    return FormalCheck(
        application_id=application.id,
        version=application.submitted_version,
        results=[r.model_dump() for r in results],
        credit=asked.kept(),
        automatic_passed=all(r.passed for r in results),
    )
