"""Who may do what in the funds service, as dependencies visible in OpenAPI."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request, Security

from services.funds.config import FundsSettings
from shared.auth.dependencies import current_principal
from shared.auth.roles import Role
from shared.auth.tokens import Principal
from shared.credit_client import CreditDep as CreditDep

# Opening accounts, making and approving payment orders.
FinanceOfficer = Annotated[
    Principal, Security(current_principal, scopes=[Role.finance_officer, Role.admin])
]
# Moving money: finance staff, and the other services (grant and voucher events).
TransferPoster = Annotated[
    Principal,
    Security(current_principal, scopes=[Role.finance_officer, Role.admin, Role.service]),
]
# Reading balances, statements and reports.
LedgerReader = Annotated[
    Principal,
    Security(
        current_principal,
        scopes=[
            Role.finance_officer,
            Role.auditor,
            Role.evaluator,
            Role.program_manager,
            Role.admin,
            Role.service,
        ],
    ),
]

# The whole ledger at once (the integrity check): finance, audit and the services.
LedgerAuditor = Annotated[
    Principal,
    Security(
        current_principal,
        scopes=[Role.finance_officer, Role.auditor, Role.admin, Role.service],
    ),
]


async def _settings(request: Request) -> FundsSettings:
    settings: FundsSettings = request.app.state.settings
    return settings


async def _now(request: Request) -> datetime:
    """The service's clock (tests move it across hold timeouts)."""
    now: datetime = request.app.state.clock()
    return now


SettingsDep = Annotated[FundsSettings, Depends(_settings)]
NowDep = Annotated[datetime, Depends(_now)]
