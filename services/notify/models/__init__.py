"""Tables of the notify service, all in the PostgreSQL schema `notify`."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import service_metadata
from shared.directory import directory_tables
from shared.events.tables import event_tables
from shared.ids import uuid7
from shared.states import StateType, one_of


class Base(DeclarativeBase):
    metadata = service_metadata("notify")


events = event_tables(Base.metadata)
directory = directory_tables(Base.metadata)

_now = sa.func.now()
Timestamp = sa.DateTime(timezone=True)


class Channel(StrEnum):
    """Where a notification goes besides the inbox (which every one but a direct message has)."""

    mail = "mail"
    sms = "sms"


class DeliveryState(StrEnum):
    queued = "queued"  # waiting for its (next) attempt
    sending = "sending"  # leased by a worker until `next_attempt_at`
    accepted = "accepted"  # the server took it: final
    failed_permanently = "failed_permanently"  # refused for good, or out of attempts: final


FINAL_STATES = (DeliveryState.accepted, DeliveryState.failed_permanently)


class Notification(Base):
    """One thing told to one person. `dedupe_key` makes telling it twice impossible: the same
    event applied again (or the same direct message posted again) finds the row it made."""

    __tablename__ = "notifications"
    __table_args__ = (
        sa.Index(
            "ix_notifications_inbox",
            "user_id",
            sa.text("created_at DESC"),
            sa.text("id DESC"),
            postgresql_where=sa.text("NOT sensitive"),
        ),
        sa.Index(
            "ix_notifications_unread",
            "user_id",
            postgresql_where=sa.text("NOT sensitive AND read_at IS NULL"),
        ),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    user_id: Mapped[UUID]
    category: Mapped[str] = mapped_column(sa.String(40))
    template: Mapped[str] = mapped_column(sa.String(60))
    # The template's parameters; erased (with the body) once a sensitive message is delivered.
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    locale: Mapped[str] = mapped_column(sa.String(5), default="zh")
    subject: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str | None] = mapped_column(sa.Text)
    # Mandatory: its category's mail cannot be switched off. Formal: a notice whose first
    # delivery is evidence (notice.delivered) and which the person acknowledges.
    mandatory: Mapped[bool] = mapped_column(default=False)
    formal: Mapped[bool] = mapped_column(default=False)
    # A direct message (a one-time link): never in the inbox.
    sensitive: Mapped[bool] = mapped_column(default=False)
    about_type: Mapped[str | None] = mapped_column(sa.String(60))
    about_id: Mapped[str | None] = mapped_column(sa.String(100))
    source_event_id: Mapped[UUID | None]
    dedupe_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=_now)
    read_at: Mapped[datetime | None] = mapped_column(Timestamp)
    opened_at: Mapped[datetime | None] = mapped_column(Timestamp)
    acknowledged_at: Mapped[datetime | None] = mapped_column(Timestamp)
    delivered_at: Mapped[datetime | None] = mapped_column(Timestamp)
    delivered_by: Mapped[str | None] = mapped_column(sa.String(10))


class Delivery(Base):
    """One notification sent on one channel, with every attempt counted."""

    __tablename__ = "deliveries"
    __table_args__ = (
        sa.UniqueConstraint("notification_id", "channel"),
        sa.CheckConstraint(one_of("channel", Channel), name="channel"),
        sa.CheckConstraint(one_of("state", DeliveryState), name="state"),
        sa.Index(
            "ix_deliveries_due",
            "next_attempt_at",
            postgresql_where=sa.text("state IN ('queued', 'sending')"),
        ),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    notification_id: Mapped[UUID] = mapped_column(sa.ForeignKey("notifications.id"), index=True)
    channel: Mapped[Channel] = mapped_column(StateType(Channel, 10))
    address: Mapped[str] = mapped_column(sa.String(254))
    state: Mapped[DeliveryState] = mapped_column(
        StateType(DeliveryState, 20), default=DeliveryState.queued
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(Timestamp, server_default=_now)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    accepted_at: Mapped[datetime | None] = mapped_column(Timestamp)
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=_now)


class Preference(Base):
    """A person's choice for one category on one channel (no row: the channel is on)."""

    __tablename__ = "preferences"
    __table_args__ = (sa.CheckConstraint(one_of("channel", Channel), name="channel"),)

    user_id: Mapped[UUID] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    channel: Mapped[Channel] = mapped_column(StateType(Channel, 10), primary_key=True)
    enabled: Mapped[bool]
    updated_at: Mapped[datetime] = mapped_column(Timestamp, server_default=_now)


class Address(Base):
    """Where a person is reached on a channel, as the gateway says (`user.contact_changed`)."""

    __tablename__ = "addresses"
    __table_args__ = (sa.CheckConstraint(one_of("channel", Channel), name="channel"),)

    user_id: Mapped[UUID] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(StateType(Channel, 10), primary_key=True)
    address: Mapped[str] = mapped_column(sa.String(254))
    verified: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


class PaymentPayee(Base):
    """Which organization a payment order pays, as `payment_order.awaiting_approval` named it:
    the approval that follows (whose contract names no organization) is told to its admins."""

    __tablename__ = "payment_payees"

    order_id: Mapped[UUID] = mapped_column(primary_key=True)
    org_id: Mapped[UUID]


class ReminderState(StrEnum):
    scheduled = "scheduled"
    sent = "sent"
    cancelled = "cancelled"


class Reminder(Base):
    """A notification to make at `remind_at` unless cancelled first (the application was
    submitted before its call closes, the expert's review was submitted). One per kind, subject
    and person."""

    __tablename__ = "reminders"
    __table_args__ = (
        sa.UniqueConstraint("kind", "about_id", "user_id"),
        sa.CheckConstraint(one_of("state", ReminderState), name="state"),
        sa.Index("ix_reminders_due", "remind_at", postgresql_where=sa.text("state = 'scheduled'")),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    kind: Mapped[str] = mapped_column(sa.String(40))
    user_id: Mapped[UUID]
    template: Mapped[str] = mapped_column(sa.String(60))
    params: Mapped[dict[str, Any]] = mapped_column(JSONB)
    about_type: Mapped[str] = mapped_column(sa.String(60))
    about_id: Mapped[str] = mapped_column(sa.String(100))
    remind_at: Mapped[datetime] = mapped_column(Timestamp)
    state: Mapped[ReminderState] = mapped_column(
        StateType(ReminderState, 12), default=ReminderState.scheduled
    )
    source_event_id: Mapped[UUID]
    updated_at: Mapped[datetime] = mapped_column(Timestamp)
