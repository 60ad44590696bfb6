"""Who may read engagements and evaluations: the evaluators themselves and program staff."""

from __future__ import annotations

from typing import Annotated

from fastapi import Security

from shared.auth.dependencies import current_principal
from shared.auth.roles import Role
from shared.auth.tokens import Principal

EvaluationReader = Annotated[
    Principal,
    Security(current_principal, scopes=[Role.evaluator, Role.program_manager, Role.admin]),
]
