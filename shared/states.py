"""States kept as text: one `StrEnum` per state machine, next to its model, used by the model's
column, its CHECK constraint and every comparison, so a state is never a bare string.

The column stays VARCHAR (no PostgreSQL enum type: adding a state is a CHECK change, not an
ALTER TYPE) and reads back as the enum.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any, Literal, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

State = TypeVar("State", bound=StrEnum)


def one_of(column: str, values: Iterable[str]) -> str:
    """SQL for a CHECK that keeps `column` within `values` (an enum: its values, in order)."""
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class StateType(sa.types.TypeDecorator[State]):
    """A VARCHAR column holding one `StrEnum`'s values (its CHECK refuses any other)."""

    impl = sa.String
    cache_ok = True

    def __init__(self, enum: type[State], length: int) -> None:
        super().__init__(length)
        self.enum = enum
        self.length = length

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        # Not validated here: a filter on an unknown state finds nothing rather than failing.
        return None if value is None else str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> State | None:
        return None if value is None else self.enum(value)


def render_state_type(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Alembic autogenerate writes a state column as the VARCHAR it is."""
    if type_ == "type" and isinstance(obj, StateType):
        autogen_context.imports.add("import sqlalchemy as sa")
        return f"sa.String(length={obj.length})"
    return False
