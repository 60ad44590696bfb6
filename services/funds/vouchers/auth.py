"""Who may do what with vouchers; object rules (whose voucher, whose order) live in the service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Security

from shared.auth.dependencies import current_principal
from shared.auth.roles import Role
from shared.auth.tokens import Principal

# Staff who read vouchers, orders and registrations: which ones is `visibility.py`.
STAFF_ROLES = frozenset(
    {
        Role.finance_officer,
        Role.auditor,
        Role.evaluator,
        Role.program_manager,
        Role.admin,
    }
)

ProgramMaker = Annotated[
    Principal, Security(current_principal, scopes=[Role.admin, Role.finance_officer])
]
# Admitting and suspending providers: managers of a program running a scheme (`visibility.py`).
ProviderReviewer = Annotated[
    Principal, Security(current_principal, scopes=[Role.program_manager, Role.admin])
]
ProviderUser = Annotated[Principal, Security(current_principal, scopes=[Role.provider])]
EnterpriseUser = Annotated[Principal, Security(current_principal, scopes=[Role.enterprise])]
# Redemptions and fraud: the finance side (admin as the platform's last resort).
VoucherFinance = Annotated[
    Principal, Security(current_principal, scopes=[Role.finance_officer, Role.admin])
]
# Reads with object rules: parties see their own, staff what they oversee.
VoucherReader = Annotated[
    Principal,
    Security(
        current_principal,
        scopes=[*sorted(STAFF_ROLES), Role.provider, Role.enterprise],
    ),
]
