"""The roles a person or a service account can hold."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    applicant = "applicant"
    org_admin = "org_admin"
    expert = "expert"
    program_manager = "program_manager"
    finance_officer = "finance_officer"
    evaluator = "evaluator"
    provider = "provider"
    enterprise = "enterprise"
    auditor = "auditor"
    # agency staff who keep credit records for every program (program managers only for theirs)
    credit_officer = "credit_officer"
    admin = "admin"
    # held only by service accounts (client_credentials), never granted to a person
    service = "service"


PERSON_ROLES = frozenset(r for r in Role if r is not Role.service)

ROLE_DESCRIPTIONS: dict[str, str] = {
    Role.applicant: "researcher or PI who applies for projects",
    Role.org_admin: "administrator of an organization (endorses, signs)",
    Role.expert: "review expert",
    Role.program_manager: "agency staff running programs and calls",
    Role.finance_officer: "finance officer (budgets, payments)",
    Role.evaluator: "third-party evaluator (read-only queries)",
    Role.provider: "registered innovation-voucher service provider",
    Role.enterprise: "enterprise holding innovation vouchers",
    Role.auditor: "auditor",
    Role.credit_officer: "credit officer (credit records across programs)",
    Role.admin: "platform administrator",
    Role.service: "another SciPlan service",
}
