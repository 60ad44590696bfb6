"""Who may ask to join the expert pool, and who decides."""

from __future__ import annotations

from typing import Annotated

from fastapi import Security

from shared.auth.dependencies import current_principal
from shared.auth.roles import Role
from shared.auth.tokens import Principal

# People who do research, agency staff among them (a program manager may review elsewhere).
# Experts pass too, to be told they are in the pool already (409) rather than refused.
Researcher = Annotated[
    Principal,
    Security(
        current_principal,
        scopes=[
            Role.applicant,
            Role.org_admin,
            Role.expert,
            Role.program_manager,
            Role.evaluator,
        ],
    ),
]
