"""What every contract is: a versioned Pydantic model that producer and consumer share.

A contract's class name ends with its version (`ProjectContractedV1`). A published version never
changes meaning: its JSON Schema is kept in `docs/contracts/<Name>.json` and a test refuses any
difference. A new meaning is a new class (`...V2`); an event's V2 is published under its own
type (`project.contracted.v2`), so consumers that know only V1 go on reading V1.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, PlainSerializer

_VERSIONED = re.compile(r"V(\d+)$")


def _isoformat(moment: datetime) -> str:
    return moment.isoformat()


# An aware moment written as Python's isoformat ("2026-03-01T18:00:00+08:00"): the offset the
# producer chose is kept, as the events published before the contracts wrote it.
Moment = Annotated[AwareDatetime, PlainSerializer(_isoformat, return_type=str, when_used="json")]


class Contract(BaseModel):
    """A request, an answer or an event payload exchanged between services."""

    model_config = ConfigDict(frozen=True)

    @classmethod
    def version(cls) -> int:
        found = _VERSIONED.search(cls.__name__)
        if found is None:
            raise TypeError(f"{cls.__name__}: a contract's name ends with its version (V1)")
        return int(found.group(1))


class EventContract(Contract):
    """The payload of one event type. `publish` takes an instance and derives the envelope:
    the type, the aggregate (whose events are applied in order) and the aggregate's id, read
    from the field `aggregate_field` names (None: the producer gives the id)."""

    event_type: ClassVar[str]
    aggregate_type: ClassVar[str]
    aggregate_field: ClassVar[str | None]

    def aggregate_key(self) -> str | None:
        field = type(self).aggregate_field
        return None if field is None else str(getattr(self, field))
