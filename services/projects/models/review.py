"""Expert review online: the expert pool, conflicts of interest with their evidence, review
rounds, assignments (with why each expert was chosen) and score sheets."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.projects.models.base import NOW, Base, Timestamp
from shared.ids import uuid7
from shared.states import StateType, one_of

CONFLICT_KINDS = ("team", "same_org", "avoid_list", "co_applicant", "declared")
ROUND_KINDS = ("proposal", "acceptance")


class RoundState(StrEnum):
    assigning = "assigning"
    reviewing = "reviewing"
    closed = "closed"


class AssignmentStatus(StrEnum):
    invited = "invited"
    accepted = "accepted"
    declined = "declined"
    removed = "removed"


class SheetStatus(StrEnum):
    draft = "draft"
    submitted = "submitted"


# Rounds that still take assignments and sheets; assignments that still count on an expert.
OPEN_ROUND_STATES = (RoundState.assigning, RoundState.reviewing)
LIVE_ASSIGNMENTS = (AssignmentStatus.invited, AssignmentStatus.accepted)


class Expert(Base):
    """A registered person in the expert pool (专家库) and what they know."""

    __tablename__ = "experts"
    __table_args__ = (sa.CheckConstraint("max_load BETWEEN 1 AND 100", name="max_load"),)

    user_id: Mapped[UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    title: Mapped[str] = mapped_column(sa.String(100))  # 职称, e.g. 研究员, 教授
    org_id: Mapped[UUID | None] = mapped_column(index=True)
    org_credit_code: Mapped[str | None] = mapped_column(sa.String(18), index=True)
    region: Mapped[str] = mapped_column(sa.String(100))
    primary_subjects: Mapped[list[str]] = mapped_column(ARRAY(sa.String(20)))
    secondary_subjects: Mapped[list[str]] = mapped_column(ARRAY(sa.String(20)))
    keywords: Mapped[list[str]] = mapped_column(ARRAY(sa.String(50)))
    max_load: Mapped[int] = mapped_column(default=10)  # applications per call at most
    # [{"from": "2026-03-01", "to": "2026-06-30"}]: when the expert can review
    availability: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=NOW)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, server_default=NOW)


class ExpertApplicationState(StrEnum):
    pending = "pending"
    approved = "approved"
    declined = "declined"


class ExpertApplication(Base):
    """A person's request to join the expert pool, and a program manager's decision on it.

    Approval adds the person to the pool (`experts`); the gateway grants the role on hearing
    `expert.admitted`."""

    __tablename__ = "expert_applications"
    __table_args__ = (
        sa.CheckConstraint(one_of("state", ExpertApplicationState), name="state"),
        sa.CheckConstraint(
            "(state = 'pending') = (decided_at IS NULL AND decided_by IS NULL AND reason IS NULL)",
            name="decided",
        ),
        # One open application per person: two sent at once cannot both be pending.
        sa.Index(
            "uq_expert_applications_pending_user_id",
            "user_id",
            unique=True,
            postgresql_where=sa.text("state = 'pending'"),
        ),
        sa.Index(None, "state", "submitted_at", "id"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    user_id: Mapped[UUID] = mapped_column(index=True)
    title: Mapped[str] = mapped_column(sa.String(100))  # 职称, e.g. 研究员, 教授
    region: Mapped[str] = mapped_column(sa.String(100))
    primary_subjects: Mapped[list[str]] = mapped_column(ARRAY(sa.String(20)))
    secondary_subjects: Mapped[list[str]] = mapped_column(ARRAY(sa.String(20)))
    keywords: Mapped[list[str]] = mapped_column(ARRAY(sa.String(50)))
    statement: Mapped[str] = mapped_column(sa.Text)
    state: Mapped[ExpertApplicationState] = mapped_column(
        StateType(ExpertApplicationState, 12), default=ExpertApplicationState.pending
    )
    submitted_at: Mapped[datetime] = mapped_column(Timestamp)
    decided_by: Mapped[UUID | None] = mapped_column()
    decided_at: Mapped[datetime | None] = mapped_column(Timestamp)
    reason: Mapped[str | None] = mapped_column(sa.Text)


class OrganizationLink(Base):
    """A declared parent/subsidiary link between organizations, by credit code: experts of
    linked organizations count as the same organization for conflicts."""

    __tablename__ = "organization_links"
    __table_args__ = (sa.CheckConstraint("parent_code <> child_code", name="distinct"),)

    parent_code: Mapped[str] = mapped_column(sa.String(18), primary_key=True)
    child_code: Mapped[str] = mapped_column(sa.String(18), primary_key=True, index=True)
    declared_by: Mapped[UUID] = mapped_column()
    declared_at: Mapped[datetime] = mapped_column(Timestamp, server_default=NOW)


class DeclaredConflict(Base):
    """An expert's own declaration: a person or an organization they must not review."""

    __tablename__ = "declared_conflicts"
    __table_args__ = (
        sa.CheckConstraint(
            "(person_id IS NULL) <> (credit_code IS NULL)", name="person_or_organization"
        ),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    expert_id: Mapped[UUID] = mapped_column(sa.ForeignKey("experts.user_id"), index=True)
    person_id: Mapped[UUID | None] = mapped_column()
    credit_code: Mapped[str | None] = mapped_column(sa.String(18))
    reason: Mapped[str] = mapped_column(sa.Text)
    declared_at: Mapped[datetime] = mapped_column(Timestamp, server_default=NOW)


class ReviewRound(Base):
    """One review of a call's applications (proposal) or of its projects' results (acceptance)."""

    __tablename__ = "review_rounds"
    __table_args__ = (
        sa.CheckConstraint(one_of("kind", ROUND_KINDS), name="kind"),
        sa.CheckConstraint(one_of("state", RoundState), name="state"),
        sa.CheckConstraint("experts_per_item BETWEEN 1 AND 15", name="experts_per_item"),
        # One proposal round per call, ever; acceptance rounds follow one another as projects
        # finish at different times, one open at a time.
        sa.Index(
            "uq_review_rounds_proposal_call_id",
            "call_id",
            unique=True,
            postgresql_where=sa.text("kind = 'proposal'"),
        ),
        sa.Index(
            "uq_review_rounds_open_call_id_kind",
            "call_id",
            "kind",
            unique=True,
            postgresql_where=sa.text("state <> 'closed'"),
        ),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    call_id: Mapped[UUID] = mapped_column(sa.ForeignKey("calls.id"))
    kind: Mapped[str] = mapped_column(sa.String(12))
    state: Mapped[RoundState] = mapped_column(
        StateType(RoundState, 12), default=RoundState.assigning
    )
    experts_per_item: Mapped[int] = mapped_column()
    review_template: Mapped[dict[str, Any]] = mapped_column(JSONB)
    deadline: Mapped[datetime] = mapped_column(Timestamp)
    # e.g. {"one_per_organization": true, "normalise": true, "disagreement_sd": 15}; an
    # acceptance round also keeps what it reviews, fixed when it opened: "final_reports":
    # [{"application_id", "project_id", "report_id"}]
    options: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    co_applicant_years: Mapped[int] = mapped_column(default=3)
    created_by: Mapped[UUID] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=NOW)
    closed_at: Mapped[datetime | None] = mapped_column(Timestamp)


class Conflict(Base):
    """A conflict of interest found before any invitation, with its evidence."""

    __tablename__ = "conflicts"
    __table_args__ = (sa.CheckConstraint(one_of("kind", CONFLICT_KINDS), name="kind"),)

    round_id: Mapped[UUID] = mapped_column(sa.ForeignKey("review_rounds.id"), primary_key=True)
    application_id: Mapped[UUID] = mapped_column(sa.ForeignKey("applications.id"), primary_key=True)
    expert_id: Mapped[UUID] = mapped_column(sa.ForeignKey("experts.user_id"), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(14), primary_key=True)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONB)
    found_at: Mapped[datetime] = mapped_column(Timestamp, server_default=NOW)
    overridden_by: Mapped[UUID | None] = mapped_column()
    override_reason: Mapped[str | None] = mapped_column(sa.Text)
    overridden_at: Mapped[datetime | None] = mapped_column(Timestamp)


class AssignmentRun(Base):
    """A dry run of the automatic assignment: the proposal and its quality, applied or not."""

    __tablename__ = "assignment_runs"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    round_id: Mapped[UUID] = mapped_column(sa.ForeignKey("review_rounds.id"), index=True)
    seed: Mapped[int] = mapped_column()
    # SHA-256 of what the proposal was computed from (live assignments, active conflicts, the
    # experts and their loads): applying is refused once it no longer matches.
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    # {"pairs": [{"application_id", "expert_id", "expert_name", "score", "explanation"}],
    #  "quality": {...}, "unassignable": [{"application_id", "field", "short_by", "reason",
    #  "supply"}]}
    result: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_by: Mapped[UUID] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=NOW)
    applied_at: Mapped[datetime | None] = mapped_column(Timestamp)
    applied_by: Mapped[UUID | None] = mapped_column()


class RunJobStatus(StrEnum):
    running = "running"
    done = "done"
    failed = "failed"


class AssignmentRunJob(Base):
    """A dry run being computed: a large call takes longer than one HTTP request may. While it
    runs, its worker holds this row's lock, so a job found `running` and unlocked has lost its
    worker (the process stopped)."""

    __tablename__ = "assignment_run_jobs"
    __table_args__ = (
        sa.CheckConstraint(one_of("status", RunJobStatus), name="status"),
        sa.CheckConstraint("(status = 'done') = (run_id IS NOT NULL)", name="run"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    round_id: Mapped[UUID] = mapped_column(sa.ForeignKey("review_rounds.id"), index=True)
    seed: Mapped[int] = mapped_column()
    status: Mapped[RunJobStatus] = mapped_column(
        StateType(RunJobStatus, 8), default=RunJobStatus.running
    )
    run_id: Mapped[UUID | None] = mapped_column(sa.ForeignKey("assignment_runs.id"))
    # why it failed: {"status", "code", "title": {"zh", "en"}, "detail": {...} | null, "extra"}
    problem: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_by: Mapped[UUID] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    finished_at: Mapped[datetime | None] = mapped_column(Timestamp)


class Assignment(Base):
    """An expert invited to review an application in a round."""

    __tablename__ = "assignments"
    __table_args__ = (
        sa.CheckConstraint(one_of("status", AssignmentStatus), name="status"),
        # An expert holds at most one live assignment per application and round.
        sa.Index(
            None,
            "round_id",
            "application_id",
            "expert_id",
            unique=True,
            postgresql_where=sa.text("status IN ('invited', 'accepted')"),
        ),
        sa.Index(None, "expert_id", "status"),
        sa.Index(None, "round_id", "application_id"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    round_id: Mapped[UUID] = mapped_column(sa.ForeignKey("review_rounds.id"))
    application_id: Mapped[UUID] = mapped_column(sa.ForeignKey("applications.id"))
    expert_id: Mapped[UUID] = mapped_column(sa.ForeignKey("experts.user_id"))
    status: Mapped[AssignmentStatus] = mapped_column(
        StateType(AssignmentStatus, 10), default=AssignmentStatus.invited
    )
    match_score: Mapped[int] = mapped_column()
    # Why this expert: shared primary/secondary subject codes, shared keywords, the score.
    explanation: Mapped[dict[str, Any]] = mapped_column(JSONB)
    source: Mapped[str] = mapped_column(sa.String(50))  # "auto:<run id>", "manual", "replacement"
    assigned_by: Mapped[UUID] = mapped_column()
    assigned_at: Mapped[datetime] = mapped_column(Timestamp)
    responded_at: Mapped[datetime | None] = mapped_column(Timestamp)
    decline_reason: Mapped[str | None] = mapped_column(sa.Text)
    removed_by: Mapped[UUID | None] = mapped_column()
    removed_reason: Mapped[str | None] = mapped_column(sa.Text)


class ScoreSheet(Base):
    """An expert's scores and comments for one assignment: drafted, then submitted once."""

    __tablename__ = "score_sheets"
    __table_args__ = (sa.CheckConstraint(one_of("status", SheetStatus), name="status"),)

    assignment_id: Mapped[UUID] = mapped_column(sa.ForeignKey("assignments.id"), primary_key=True)
    scores: Mapped[dict[str, int]] = mapped_column(JSONB)  # {criterion code: score}
    comments: Mapped[dict[str, str]] = mapped_column(JSONB)  # {criterion code: comment}
    overall_comment: Mapped[str] = mapped_column(sa.Text, default="")
    recommendation: Mapped[str | None] = mapped_column(sa.String(20))
    weighted_total: Mapped[Decimal | None] = mapped_column(sa.Numeric(7, 3))
    status: Mapped[SheetStatus] = mapped_column(
        StateType(SheetStatus, 10), default=SheetStatus.draft
    )
    saved_at: Mapped[datetime] = mapped_column(Timestamp)
    submitted_at: Mapped[datetime | None] = mapped_column(Timestamp)
    late: Mapped[bool] = mapped_column(default=False)
    reopened_by: Mapped[UUID | None] = mapped_column()
    reopened_at: Mapped[datetime | None] = mapped_column(Timestamp)


class AssignmentMethod(StrEnum):
    """How a call's written review finds each application's experts."""

    optimal = "optimal"  # the optimal assignment run (dry run, then apply)
    random_draw = "random_draw"  # 随机抽取 from each application's qualified pool


class ReviewSettings(Base):
    """A call's terms for its written review; none: the optimal assignment. Fixed once the call
    closes, like its panel settings."""

    __tablename__ = "review_settings"
    __table_args__ = (
        sa.CheckConstraint(one_of("assignment_method", AssignmentMethod), name="assignment_method"),
    )

    call_id: Mapped[UUID] = mapped_column(sa.ForeignKey("calls.id"), primary_key=True)
    assignment_method: Mapped[AssignmentMethod] = mapped_column(StateType(AssignmentMethod, 12))
    set_by: Mapped[UUID] = mapped_column()
    set_at: Mapped[datetime] = mapped_column(Timestamp)


class AssignmentDraw(Base):
    """A random draw of a round's experts, recorded so that anyone can run it again
    (`review/draw.py`, algorithm `sha256-rank-per-application/v1`)."""

    __tablename__ = "assignment_draws"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    round_id: Mapped[UUID] = mapped_column(sa.ForeignKey("review_rounds.id"), index=True)
    algorithm: Mapped[str] = mapped_column(sa.String(40))
    seed: Mapped[int] = mapped_column(sa.BigInteger)
    reserves: Mapped[int] = mapped_column()
    # The inputs besides the pools: each pooled expert's load left in the round before the
    # draw, and (one expert per organization) their organizations and those already on each
    # application: {"load_left": {expert: n}, "organizations": {expert: code} | null,
    # "taken": {application: [code]}}
    inputs: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # Per application, in id order: {"application_id", "wanted", "pool", "pool_hash", "order",
    # "drawn", "reserves", "passed_over": [{"expert_id", "reason"}], "left_out": [{"expert_id",
    # "reasons"}]} (left_out: in the field, not in the pool, and why)
    applications: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    drawn_by: Mapped[UUID] = mapped_column()
    drawn_at: Mapped[datetime] = mapped_column(Timestamp)
