"""The projects service's events about panel stages (会评/答辩) after a call's written review.

`expert_id` is the expert's gateway user id. An expert is seated when drawn or chosen onto a
panel, or when a reserve moves up for a member who declined; `meeting_at` is when the panel
sits.
"""

from __future__ import annotations

from typing import ClassVar, Literal
from uuid import UUID

from shared.contracts.base import EventContract, Moment


class PanelMemberSeatedV1(EventContract):
    """The expert has a seat on the panel (they may decline, with a reason)."""

    event_type: ClassVar[str] = "panel.member_seated"
    aggregate_type: ClassVar[str] = "panel_member"
    aggregate_field: ClassVar[str | None] = "member_id"

    member_id: UUID
    stage_id: UUID
    expert_id: UUID
    call_id: UUID
    call_title: str
    program_id: UUID
    format: Literal["meeting", "defence"]
    meeting_at: Moment
    how: Literal["drawn", "chosen", "reserve_moved_up"]
    seated_at: Moment
