"""Who may do what in the projects service, as dependencies visible in OpenAPI.

Roles say what kind of thing someone may do; the object checks (whose application, which
program, which engagement) live in `scope.py` and in the domain services.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request, Security

from services.projects.config import ProjectsSettings
from shared.auth.dependencies import current_principal
from shared.auth.roles import Role
from shared.auth.tokens import Principal
from shared.credit_client import CreditDep as CreditDep

# Agency staff running programs, calls and decisions (admins may too).
Manager = Annotated[
    Principal, Security(current_principal, scopes=[Role.program_manager, Role.admin])
]
# Adding and retiring programs and special funds, assigning managers.
Admin = Annotated[Principal, Security(current_principal, scopes=[Role.admin])]
# Drafting and submitting applications, reporting on one's projects.
Applicant = Annotated[Principal, Security(current_principal, scopes=[Role.applicant])]
# Drafting an application: its PI, or a research administrator the PI delegated.
Drafter = Annotated[Principal, Security(current_principal, scopes=[Role.applicant, Role.org_admin])]
# Endorsing applications of one's own organization and signing its task books.
OrgAdmin = Annotated[Principal, Security(current_principal, scopes=[Role.org_admin])]
# Third-party evaluators, on what they are engaged on.
Evaluator = Annotated[Principal, Security(current_principal, scopes=[Role.evaluator])]


async def _settings(request: Request) -> ProjectsSettings:
    settings: ProjectsSettings = request.app.state.settings
    return settings


async def _now(request: Request) -> datetime:
    """The service's clock (tests move it across deadlines)."""
    now: datetime = request.app.state.clock()
    return now


SettingsDep = Annotated[ProjectsSettings, Depends(_settings)]
NowDep = Annotated[datetime, Depends(_now)]
