"""Who may do what with grant money, as dependencies visible in OpenAPI."""

from __future__ import annotations

from typing import Annotated

from fastapi import Security

from shared.auth.dependencies import current_principal
from shared.auth.roles import Role
from shared.auth.tokens import Principal

# Program-level figures (envelopes, execution): finance and oversight, not organizations.
GrantOverseer = Annotated[
    Principal,
    Security(
        current_principal,
        scopes=[
            Role.finance_officer,
            Role.auditor,
            Role.evaluator,
            Role.program_manager,
            Role.admin,
        ],
    ),
]
# One grant or a list of grants: also an org_admin (their organization's grants) and a PI
# (their own grant); which grants each reads is `services.funds.access.scope`.
GrantReader = Annotated[
    Principal,
    Security(
        current_principal,
        scopes=[
            Role.finance_officer,
            Role.auditor,
            Role.evaluator,
            Role.program_manager,
            Role.admin,
            Role.org_admin,
            Role.applicant,
        ],
    ),
]
# Reporting expenditure: the organization's admin (of that grant) or finance staff.
ExpenditureReporter = Annotated[
    Principal,
    Security(current_principal, scopes=[Role.finance_officer, Role.admin, Role.org_admin]),
]

FINANCE_ROLES = (Role.finance_officer, Role.admin)
