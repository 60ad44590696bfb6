"""Tables of the credit service, all in the PostgreSQL schema `credit`."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import service_metadata
from shared.directory import directory_tables
from shared.events.tables import event_tables
from shared.ids import uuid7
from shared.program_scope import scope_tables
from shared.states import StateType, one_of


class Base(DeclarativeBase):
    metadata = service_metadata("credit")


events = event_tables(Base.metadata)
directory = directory_tables(Base.metadata)
scope = scope_tables(Base.metadata)

_now = sa.func.now()
Timestamp = sa.DateTime(timezone=True)


class Subject(Base):
    """Someone credit is kept for: an organization, an intermediary agency or a person.

    Organizations and agencies are keyed by their unified social credit code, people by their
    gateway user id and a keyed hash of their national ID number (never the number itself).
    """

    __tablename__ = "subjects"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('organization', 'agency', 'person')", name="kind"),
        sa.CheckConstraint(
            "(kind = 'person') = (credit_code IS NULL)", name="credit_code_for_units_only"
        ),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    kind: Mapped[str] = mapped_column(sa.String(20))
    name: Mapped[str] = mapped_column(sa.String(200))
    credit_code: Mapped[str | None] = mapped_column(sa.String(18), unique=True)
    gateway_org_id: Mapped[UUID | None] = mapped_column(unique=True)
    gateway_user_id: Mapped[UUID | None] = mapped_column(unique=True)
    national_id_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    national_id_masked: Mapped[str | None] = mapped_column(sa.String(18))
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=_now)


class SubjectLink(Base):
    """A person employed by an organization, or the legal representative of an agency."""

    __tablename__ = "subject_links"
    __table_args__ = (
        sa.CheckConstraint(
            "relation IN ('employed_by', 'legal_representative_of')", name="relation"
        ),
    )

    person_id: Mapped[UUID] = mapped_column(sa.ForeignKey("subjects.id"), primary_key=True)
    unit_id: Mapped[UUID] = mapped_column(sa.ForeignKey("subjects.id"), primary_key=True)
    relation: Mapped[str] = mapped_column(sa.String(30), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=_now)


class Rule(Base):
    """One version of a rule of the catalog. A change adds a version; records keep theirs."""

    __tablename__ = "rules"
    __table_args__ = (
        sa.CheckConstraint(
            "tier IN ('positive', 'minor', 'general', 'serious', 'severe', 'especially_severe')",
            name="tier",
        ),
        sa.CheckConstraint(
            "(tier = 'positive') = (score_effect > 0)", name="positive_rules_raise_the_score"
        ),
        sa.CheckConstraint("restriction_years IS NULL OR restriction_years > 0", name="years"),
        sa.Index(None, "code", unique=True, postgresql_where=sa.text("is_current")),
    )

    code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    version: Mapped[int] = mapped_column(primary_key=True)
    is_current: Mapped[bool] = mapped_column(default=True)
    description_zh: Mapped[str] = mapped_column(sa.Text)
    description_en: Mapped[str] = mapped_column(sa.Text)
    applies_to: Mapped[list[str]] = mapped_column(ARRAY(sa.String(20)))
    tier: Mapped[str] = mapped_column(sa.String(20))
    score_effect: Mapped[int] = mapped_column()
    validity_months: Mapped[int] = mapped_column()
    restrictions: Mapped[list[str]] = mapped_column(ARRAY(sa.String(20)))
    restriction_years: Mapped[int | None] = mapped_column()
    restriction_permanent: Mapped[bool] = mapped_column(default=False)
    repairable: Mapped[bool] = mapped_column()
    repair_after_months: Mapped[int] = mapped_column(default=0)
    legal_basis: Mapped[str] = mapped_column(sa.Text)
    created_by: Mapped[str | None] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=_now)


class RecordStatus(StrEnum):
    """proposed -> [awaiting_approval ->] notified -> (objected ->) confirmed -> (appealed ->)
    repaired; withdrawn before confirmation or when an objection or appeal is upheld."""

    proposed = "proposed"
    # a record with a ban or public listing waits for a second officer before its notice goes out
    awaiting_approval = "awaiting_approval"
    notified = "notified"
    objected = "objected"
    confirmed = "confirmed"
    appealed = "appealed"
    withdrawn = "withdrawn"
    repaired = "repaired"


# Not findings about anyone: staff outside the record's program never see these.
NOT_FINDINGS = (RecordStatus.proposed, RecordStatus.awaiting_approval, RecordStatus.withdrawn)
# The subject does not see these yet: the notice is how they learn of a record.
BEFORE_NOTICE = (RecordStatus.proposed, RecordStatus.awaiting_approval)
# How a notice reached its subject: by the notify service (`notice.delivered`: mail accepted or
# inbox opened), by means an officer recorded (post, in person, other), or counted as reached
# when sent (`at_notice`: no notify service configured).
DELIVERY_CHANNELS = ("mail", "inbox", "post", "in_person", "other", "at_notice")


class CreditRecord(Base):
    __tablename__ = "records"
    __table_args__ = (
        sa.ForeignKeyConstraint(["rule_code", "rule_version"], ["rules.code", "rules.version"]),
        sa.CheckConstraint(one_of("status", RecordStatus), name="status"),
        sa.CheckConstraint(
            "capacity IN ('organization', 'agency', 'researcher', 'expert')", name="capacity"
        ),
        sa.CheckConstraint(
            "delivery_channel IS NULL OR " + one_of("delivery_channel", DELIVERY_CHANNELS),
            name="delivery_channel",
        ),
        sa.Index(None, "subject_id", "effective_from"),
        sa.Index(None, "status", "tier"),
        sa.UniqueConstraint("source_event_id", "subject_id"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    subject_id: Mapped[UUID] = mapped_column(sa.ForeignKey("subjects.id"))
    # The program (of the projects service) whose managers handle it; none: credit officers only.
    program_id: Mapped[UUID | None] = mapped_column(index=True)
    capacity: Mapped[str] = mapped_column(sa.String(20))
    unit_id: Mapped[UUID | None] = mapped_column(sa.ForeignKey("subjects.id"), index=True)
    rule_code: Mapped[str] = mapped_column(sa.String(40))
    rule_version: Mapped[int] = mapped_column()
    tier: Mapped[str] = mapped_column(sa.String(20))
    score_effect: Mapped[int] = mapped_column()
    restrictions: Mapped[list[str]] = mapped_column(ARRAY(sa.String(20)))
    facts: Mapped[str] = mapped_column(sa.Text)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    handling_unit: Mapped[str] = mapped_column(sa.String(200))
    legal_basis: Mapped[str] = mapped_column(sa.Text)
    effective_from: Mapped[date] = mapped_column()
    valid_until: Mapped[date] = mapped_column()
    restriction_until: Mapped[date | None] = mapped_column()
    restriction_permanent: Mapped[bool] = mapped_column(default=False)
    status: Mapped[RecordStatus] = mapped_column(
        StateType(RecordStatus, 20), default=RecordStatus.proposed
    )
    # Who sent the notice (or asked for it), and the second officer who approved it if needed:
    # with the creator, the people who made the record and may not judge objections to it.
    notice_requested_by: Mapped[str | None] = mapped_column(sa.String(100))
    notice_approved_by: Mapped[str | None] = mapped_column(sa.String(100))
    # The objection window runs from the notice's delivery: until then there is no deadline.
    delivered_at: Mapped[datetime | None] = mapped_column(Timestamp)
    delivery_channel: Mapped[str | None] = mapped_column(sa.String(20))
    objection_deadline: Mapped[datetime | None] = mapped_column(Timestamp)
    confirmed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    confirmed_by: Mapped[str | None] = mapped_column(sa.String(100))
    appeal_deadline: Mapped[datetime | None] = mapped_column(Timestamp)
    # Withdrawal undoes the record entirely; repair ends its effect on the score (a ban still
    # runs to its end date: a score never shortens a ban).
    withdrawn_at: Mapped[datetime | None] = mapped_column(Timestamp)
    repaired_at: Mapped[datetime | None] = mapped_column(Timestamp)
    source: Mapped[str] = mapped_column(sa.String(100))
    # One event may name several subjects (a voucher fraud: enterprise and provider), each once.
    source_event_id: Mapped[UUID | None] = mapped_column()
    created_by: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=_now)


class RecordTransition(Base):
    """Who moved a record from one state to another, when and why. Append-only."""

    __tablename__ = "record_transitions"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    record_id: Mapped[UUID] = mapped_column(sa.ForeignKey("records.id"), index=True)
    from_status: Mapped[RecordStatus | None] = mapped_column(StateType(RecordStatus, 20))
    to_status: Mapped[RecordStatus] = mapped_column(StateType(RecordStatus, 20))
    actor: Mapped[str] = mapped_column(sa.String(100))
    reason: Mapped[str] = mapped_column(sa.Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # The legal basis the step was taken under: the record's rule, in its version, at the time.
    rule_code: Mapped[str] = mapped_column(sa.String(40))
    rule_version: Mapped[int] = mapped_column()
    legal_basis: Mapped[str] = mapped_column(sa.Text)
    at: Mapped[datetime] = mapped_column(Timestamp, server_default=_now)


class QueryLog(Base):
    """Every read of someone else's credit data by a person: who, why, what they asked for and
    which records they saw (searches, files, single records, ratings, eligibility)."""

    __tablename__ = "query_log"

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    actor: Mapped[str] = mapped_column(sa.String(100), index=True)
    roles: Mapped[list[str]] = mapped_column(ARRAY(sa.String(32)))
    purpose: Mapped[str] = mapped_column(sa.Text)
    filters: Mapped[dict[str, Any]] = mapped_column(JSONB)
    record_ids: Mapped[list[UUID]] = mapped_column(ARRAY(sa.Uuid))
    at: Mapped[datetime] = mapped_column(Timestamp, server_default=_now)


class RatingState(Base):
    """The last level announced per subject, so a change of level is published once."""

    __tablename__ = "rating_states"
    __table_args__ = (
        sa.Index(None, "next_change", postgresql_where=sa.text("next_change IS NOT NULL")),
    )

    subject_id: Mapped[UUID] = mapped_column(sa.ForeignKey("subjects.id"), primary_key=True)
    level: Mapped[str] = mapped_column(sa.String(1))
    score: Mapped[int] = mapped_column()
    # When the rating next changes by itself (an expiry): the sweep looks at these.
    next_change: Mapped[date | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(Timestamp, server_default=_now)
