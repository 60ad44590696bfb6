"""The notify service's contracts: the proof that a formal notice reached its person, and the
direct messages the gateway asks it to deliver (a password reset, an address to verify).

A formal notice (a credit record's notice, a decision, a termination) is *delivered* when the
mail server accepted the mail or the person opened it in the inbox, whichever comes first
(electronic delivery, 送达); it is *acknowledged* when the person says so. Deadlines that run
against a person (the objection window of a credit record) count from `notice.delivered`.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal
from uuid import UUID

from pydantic import ConfigDict, Field

from shared.contracts.base import Contract, EventContract, Moment

DeliveryChannel = Literal["mail", "inbox"]


class _NoticeEvent(EventContract):
    aggregate_type: ClassVar[str] = "notice"
    aggregate_field: ClassVar[str | None] = "notification_id"

    notification_id: UUID
    user_id: UUID  # the gateway's id of the person notified
    about_type: str  # what the notice is about, as its producer names the aggregate
    about_id: str  # ("credit_record", the record's id)
    source_event_id: UUID  # the producer's event that the notice tells of


class NoticeDeliveredV1(_NoticeEvent):
    """Published once per formal notice, at its first delivery."""

    event_type: ClassVar[str] = "notice.delivered"

    channel: DeliveryChannel
    delivered_at: Moment


class NoticeAcknowledgedV1(_NoticeEvent):
    """The person confirmed having read the notice (once)."""

    event_type: ClassVar[str] = "notice.acknowledged"

    acknowledged_at: Moment


DirectTemplate = Literal["password_reset", "email_verification"]


class DirectMessageV1(Contract):
    """`POST /internal/v1/messages` (the gateway's service account): deliver this one message.

    Sensitive (it carries a one-time link): never shown in the inbox, and its parameters are
    erased once the mail is accepted or has failed for good. The same `idempotency_key` twice
    delivers once."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    idempotency_key: Annotated[str, Field(min_length=8, max_length=100)]
    user_id: UUID
    template: DirectTemplate
    # The address to write to when it is not (yet) the user's own: a new address to verify.
    to_address: Annotated[str, Field(max_length=254)] | None = None
    params: dict[Annotated[str, Field(max_length=40)], Annotated[str, Field(max_length=2000)]]
    locale: Literal["zh", "en"] = "zh"
