"""Who may do what in the credit service, as dependencies visible in OpenAPI."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Query, Request, Security

from services.credit.config import CreditSettings
from shared.auth.dependencies import current_principal
from shared.auth.roles import Role
from shared.auth.tokens import Principal

# Proposing credit records: agency staff, auditors and credit officers (and admins).
RecordKeeper = Annotated[
    Principal,
    Security(
        current_principal,
        scopes=[Role.program_manager, Role.auditor, Role.credit_officer, Role.admin],
    ),
]
# Acting on records (notice, decisions, confirmation, repair): credit officers on every record,
# program managers on their programs' (services.credit.access.acting).
Decider = Annotated[
    Principal,
    Security(current_principal, scopes=[Role.program_manager, Role.credit_officer, Role.admin]),
]
# Changing the rule catalog.
CatalogKeeper = Annotated[
    Principal, Security(current_principal, scopes=[Role.credit_officer, Role.admin])
]
# Searching the records, every search logged with its purpose and kept to what each may read.
Investigator = Annotated[
    Principal,
    Security(
        current_principal,
        scopes=[
            Role.evaluator,
            Role.auditor,
            Role.program_manager,
            Role.credit_officer,
            Role.admin,
        ],
    ),
]
# Ratings and eligibility in bulk or by key: the other services (for their decisions), and staff
# who may read any file (stating a purpose).
RatingReader = Annotated[
    Principal,
    Security(
        current_principal,
        scopes=[Role.admin, Role.credit_officer, Role.auditor, Role.service],
    ),
]
Purpose = Annotated[
    str | None,
    Query(
        min_length=5,
        max_length=500,
        description="why you read someone else's credit data (logged); not needed for your own",
    ),
]


async def _settings(request: Request) -> CreditSettings:
    settings: CreditSettings = request.app.state.settings
    return settings


async def _now(request: Request) -> datetime:
    """The service's clock (tests move it to cross deadlines)."""
    now: datetime = request.app.state.clock()
    return now


SettingsDep = Annotated[CreditSettings, Depends(_settings)]
NowDep = Annotated[datetime, Depends(_now)]
