"""Who may call the panel endpoints; which stage, call or seat is theirs is the service's check."""

from __future__ import annotations

from typing import Annotated

from fastapi import Security

from shared.auth.dependencies import current_principal
from shared.auth.roles import Role
from shared.auth.tokens import Principal

# Panel members score and read their own seats.
PanelExpert = Annotated[Principal, Security(current_principal, scopes=[Role.expert])]
# A seat is declined by its expert, or by a manager of the program on the expert's word.
SeatHolderOrManager = Annotated[
    Principal,
    Security(current_principal, scopes=[Role.expert, Role.program_manager, Role.admin]),
]
