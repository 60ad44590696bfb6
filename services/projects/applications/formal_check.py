"""The automatic rules of the agency's formal check (形式审查), run on the submitted version.

Each rule gives {rule, passed, detail}. A manager may pass the check only when every rule
passed; when the credit service could not be asked, its rule fails with "unavailable" and the
manager re-runs the check later. Credit is asked as of the submission time: what happened to
the applicant's credit since does not change what the application was entitled to.
"""

from __future__ import annotations

import asyncio
from typing import Any

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


def _acceptable(answer: EligibilityV1, min_level: str) -> bool:
    return answer.eligible and answer.level.at_least(CreditLevel(min_level))


async def _credit(
    credit: CreditClient, application: Application, call: Call
) -> tuple[RuleResult, dict[str, Any] | None]:
    at = application.submitted_at
    assert at is not None  # only submitted versions are checked
    try:
        # Both at once: the application's row stays locked while the credit service answers.
        person, organization = await asyncio.gather(
            credit.eligibility(action="apply", at=at, gateway_user_id=application.applicant_id),
            credit.eligibility(action="apply", at=at, gateway_org_id=application.org_id),
        )
    except CreditUnavailable:
        return RuleResult(rule=CREDIT, passed=False, detail="unavailable"), None
    answers = {"applicant": person, "organization": organization}
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
    kept = {who: answer.model_dump(mode="json") for who, answer in answers.items()}
    return RuleResult(rule=CREDIT, passed=not problems, detail=detail), kept


async def run(
    repository: ApplicationRepository,
    credit: CreditClient,
    application: Application,
    call: Call,
    content: dict[str, Any],
) -> FormalCheck:
    """Every automatic rule on the submitted version; the check is returned unsaved."""
    assert application.submitted_version is not None
    try:
        parsed = ApplicationContent.model_validate(content)
    except ValidationError as exc:
        # Only a version written around the API could fail here; the check says so.
        results = [
            RuleResult(rule=FIELDS, passed=False, detail=f"invalid: {exc.error_count()} errors")
        ]
        credit_result, answers = await _credit(credit, application, call)
        results.append(credit_result)
    else:
        credit_result, answers = await _credit(credit, application, call)
        results = [
            _fields(parsed),
            _attachments(parsed, call),
            _budget_range(parsed, call),
            _indirect(parsed),
            await _project_limit(repository, application, call),
            credit_result,
        ]
    return FormalCheck(
        application_id=application.id,
        version=application.submitted_version,
        results=[r.model_dump() for r in results],
        credit=answers,
        automatic_passed=all(r.passed for r in results),
    )
