"""Who may do what in the credit service, as dependencies visible in OpenAPI."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request, Security

from services.credit.config import CreditSettings
from shared.auth.dependencies import current_principal
from shared.auth.roles import Role
from shared.auth.tokens import Principal

# Writing credit records: agency staff and auditors (and admins).
RecordKeeper = Annotated[
    Principal,
    Security(current_principal, scopes=[Role.program_manager, Role.auditor, Role.admin]),
]
# Deciding objections, confirming, repairing, reviewing appeals, changing the catalog.
Decider = Annotated[
    Principal, Security(current_principal, scopes=[Role.program_manager, Role.admin])
]
# Searching the records, every search logged with its purpose.
Investigator = Annotated[
    Principal,
    Security(
        current_principal,
        scopes=[Role.evaluator, Role.auditor, Role.program_manager, Role.admin],
    ),
]
# Reading ratings and eligibility: staff and the other services.
RatingReader = Annotated[
    Principal,
    Security(
        current_principal,
        scopes=[
            Role.program_manager,
            Role.evaluator,
            Role.auditor,
            Role.finance_officer,
            Role.admin,
            Role.service,
        ],
    ),
]

STAFF = frozenset(
    {
        Role.program_manager,
        Role.evaluator,
        Role.auditor,
        Role.finance_officer,
        Role.admin,
        Role.service,
    }
)


async def _settings(request: Request) -> CreditSettings:
    settings: CreditSettings = request.app.state.settings
    return settings


async def _now(request: Request) -> datetime:
    """The service's clock (tests move it to cross deadlines)."""
    now: datetime = request.app.state.clock()
    return now


SettingsDep = Annotated[CreditSettings, Depends(_settings)]
NowDep = Annotated[datetime, Depends(_now)]
