"""Who reads someone else's credit data, with what their role and programs allow."""

from __future__ import annotations

from dataclasses import dataclass

from shared.auth.roles import Role
from shared.auth.tokens import Principal
from shared.program_scope import StaffScope

FULL_READERS = (Role.admin, Role.credit_officer, Role.auditor)


@dataclass(frozen=True)
class Reader:
    """A person reading someone else's credit data, with what their role and programs allow."""

    principal: Principal
    scope: StaffScope
    full: bool

    @property
    def reads_anything(self) -> bool:
        return self.full or bool(self.scope.programs or self.scope.engaged_projects)
