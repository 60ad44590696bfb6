"""Who may call the scoring endpoints; which sheet or round is theirs is the service's check."""

from __future__ import annotations

from typing import Annotated

from fastapi import Security

from shared.auth.dependencies import current_principal
from shared.auth.roles import Role
from shared.auth.tokens import Principal

# Review experts write their own sheets.
ExpertCaller = Annotated[Principal, Security(current_principal, scopes=[Role.expert])]
# A sheet is read by its expert and by the managers of the program.
SheetReader = Annotated[
    Principal,
    Security(current_principal, scopes=[Role.expert, Role.program_manager, Role.admin]),
]
