from __future__ import annotations

from pydantic import BaseModel, Field

from services.credit.rating.schemas import RatingRead
from services.credit.records.schemas import RecordDetail
from services.credit.subjects.schemas import LinkRead, SubjectRead
from shared.clock import ShanghaiTime


class SubjectFile(BaseModel):
    """Everything recorded about a subject that the reader may see."""

    subject: SubjectRead
    links: list[LinkRead]
    rating: RatingRead
    records: list[RecordDetail]


class OwnRecord(RecordDetail):
    objection_open_until: ShanghaiTime | None = Field(
        description="you may object (POST .../objection) until then; null: not now, or "
        "the notice awaits delivery (`awaiting_delivery`: you may object already)"
    )
    appeal_open_until: ShanghaiTime | None = Field(
        description="you may appeal (POST .../appeal) until then; null: not now"
    )


class OwnFile(BaseModel):
    subject: SubjectRead | None = Field(description="null: credit has never named you")
    rating: RatingRead
    records: list[OwnRecord] = Field(description="every record you have been notified of")


class MyCreditFiles(BaseModel):
    person: OwnFile
    organization: OwnFile | None = Field(
        description="your organization's file, for its administrators (org_admin)"
    )
