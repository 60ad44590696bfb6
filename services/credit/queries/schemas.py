from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel

from services.credit.records.schemas import RecordRead


@dataclass(frozen=True)
class RecordSearch:
    """What a search of the records asks for (each criterion optional)."""

    subject_kind: Literal["organization", "agency", "person"] | None = None
    subject_id: UUID | None = None
    program_id: UUID | None = None
    name: str | None = None
    credit_code: str | None = None
    rule_code: str | None = None
    tier: str | None = None
    status: str | None = None
    handling_unit: str | None = None
    effective_from: date | None = None
    effective_to: date | None = None

    def logged(self) -> dict[str, Any]:
        """The criteria given, as the read log keeps them."""
        return {
            k: (v.isoformat() if isinstance(v, date) else str(v) if isinstance(v, UUID) else v)
            for k, v in asdict(self).items()
            if v is not None
        }


class FoundRecord(RecordRead):
    subject_kind: str
    subject_name: str
    subject_credit_code: str | None


class PublicRecord(BaseModel):
    subject_name: str
    subject_kind: str
    subject_credit_code: str | None
    rule_code: str
    behaviour_zh: str
    behaviour_en: str
    tier: str
    legal_basis: str
    handling_unit: str
    effective_from: date
    restrictions: list[str]
    restriction_until: date | None
    restriction_permanent: bool
