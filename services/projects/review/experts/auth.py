"""Who may read and change the expert pool."""

from __future__ import annotations

from typing import Annotated

from fastapi import Security

from shared.auth.dependencies import current_principal
from shared.auth.roles import Role
from shared.auth.tokens import Principal

# A review expert acting on their own pool entry, declarations and assignments.
ExpertRole = Annotated[Principal, Security(current_principal, scopes=[Role.expert])]
# Program staff (the whole pool) and experts (their own entry only).
PoolReader = Annotated[
    Principal,
    Security(current_principal, scopes=[Role.program_manager, Role.admin, Role.expert]),
]
