"""grants: per-project budgets, tranches, post-subsidies, recoveries

Revision ID: a1c7e2d40001
Revises: d380b99ab83f
Create Date: 2026-11-27 00:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "a1c7e2d40001"
down_revision: str | None = "d380b99ab83f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "funds"

# History is append-only, like transfers (funds.refuse_change() comes with the ledger).
UPGRADE_SQL = [
    "CREATE TRIGGER grant_history_append_only BEFORE UPDATE OR DELETE ON funds.grant_history"
    " FOR EACH ROW EXECUTE FUNCTION funds.refuse_change()",
]
DOWNGRADE_SQL = ["DROP TRIGGER IF EXISTS grant_history_append_only ON funds.grant_history"]


def _jsonb() -> postgresql.JSONB:
    return postgresql.JSONB(astext_type=sa.Text())


def _fk(table: str, column: str, target: str, target_column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"funds.{target}.{target_column}"],
        name=op.f(f"fk_{table}_{column}_{target}"),
    )


def upgrade() -> None:
    op.create_table(
        "grant_envelopes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("ledger", sa.String(length=32), nullable=False),
        sa.Column("program_code", sa.String(length=40), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("transfer_id", sa.Uuid(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_grant_envelopes_amount_positive")),
        _fk("grant_envelopes", "transfer_id", "transfers", "id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grant_envelopes")),
        sa.UniqueConstraint("transfer_id", name=op.f("uq_grant_envelopes_transfer_id")),
        schema=SCHEMA,
    )
    op.create_index(
        op.f("ix_grant_envelopes_program_code_year"),
        "grant_envelopes",
        ["program_code", "year"],
        unique=False,
        schema=SCHEMA,
    )
    op.create_table(
        "grants",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("project_number", sa.String(length=40), nullable=False),
        sa.Column("program_id", sa.Uuid(), nullable=False),
        sa.Column("program_code", sa.String(length=40), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("ledger", sa.String(length=32), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("org_name", sa.String(length=200), nullable=False),
        sa.Column("org_credit_code", sa.String(length=18), nullable=True),
        sa.Column("pi_id", sa.Uuid(), nullable=False),
        sa.Column("pi_name", sa.String(length=200), nullable=False),
        sa.Column("approved_budget_fen", sa.BigInteger(), nullable=False),
        sa.Column("budget", _jsonb(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("funds_account_id", sa.Uuid(), nullable=False),
        sa.Column("spent_account_id", sa.Uuid(), nullable=False),
        sa.Column("contracted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("frozen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("frozen_cause", sa.String(length=60), nullable=True),
        sa.Column("frozen_reason", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'accepted', 'frozen')", name=op.f("ck_grants_status")
        ),
        sa.CheckConstraint("approved_budget_fen >= 0", name=op.f("ck_grants_budget_non_negative")),
        sa.CheckConstraint(
            "(status = 'frozen') = (frozen_at IS NOT NULL)", name=op.f("ck_grants_frozen_when")
        ),
        _fk("grants", "funds_account_id", "accounts", "id"),
        _fk("grants", "spent_account_id", "accounts", "id"),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_grants")),
        schema=SCHEMA,
    )
    op.create_index(
        op.f("ix_grants_program_code_year"),
        "grants",
        ["program_code", "year"],
        unique=False,
        schema=SCHEMA,
    )
    op.create_index(op.f("ix_grants_org_id"), "grants", ["org_id"], unique=False, schema=SCHEMA)
    op.create_table(
        "grant_tranches",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("n", sa.SmallInteger(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("milestone", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("attempts", sa.SmallInteger(), nullable=False),
        sa.Column("refusal_code", sa.String(length=60), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_grant_tranches_amount_positive")),
        sa.CheckConstraint(
            "milestone IN ('signing', 'midterm', 'acceptance')",
            name=op.f("ck_grant_tranches_milestone"),
        ),
        sa.CheckConstraint(
            "status IN ('scheduled', 'due', 'ordered', 'cancelled')",
            name=op.f("ck_grant_tranches_status"),
        ),
        sa.CheckConstraint(
            "status <> 'ordered' OR order_id IS NOT NULL",
            name=op.f("ck_grant_tranches_ordered_has_order"),
        ),
        _fk("grant_tranches", "project_id", "grants", "project_id"),
        _fk("grant_tranches", "order_id", "payment_orders", "id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grant_tranches")),
        sa.UniqueConstraint("project_id", "n", name=op.f("uq_grant_tranches_project_id_n")),
        schema=SCHEMA,
    )
    op.create_table(
        "grant_post_subsidies",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_grant_post_subsidies_amount_positive")),
        _fk("grant_post_subsidies", "project_id", "grants", "project_id"),
        _fk("grant_post_subsidies", "order_id", "payment_orders", "id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grant_post_subsidies")),
        sa.UniqueConstraint("order_id", name=op.f("uq_grant_post_subsidies_order_id")),
        schema=SCHEMA,
    )
    op.create_index(
        op.f("ix_grant_post_subsidies_project_id"),
        "grant_post_subsidies",
        ["project_id"],
        unique=False,
        schema=SCHEMA,
    )
    op.create_table(
        "grant_expenditures",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("category", sa.String(length=12), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("spent_on", sa.Date(), nullable=False),
        sa.Column("transfer_id", sa.Uuid(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_grant_expenditures_amount_positive")),
        sa.CheckConstraint(
            "category IN ('equipment', 'business', 'labour', 'indirect')",
            name=op.f("ck_grant_expenditures_category"),
        ),
        _fk("grant_expenditures", "project_id", "grants", "project_id"),
        _fk("grant_expenditures", "transfer_id", "transfers", "id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grant_expenditures")),
        sa.UniqueConstraint("transfer_id", name=op.f("uq_grant_expenditures_transfer_id")),
        schema=SCHEMA,
    )
    op.create_index(
        op.f("ix_grant_expenditures_project_id_category"),
        "grant_expenditures",
        ["project_id", "category"],
        unique=False,
        schema=SCHEMA,
    )
    op.create_table(
        "grant_recoveries",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("hold_transfer_id", sa.Uuid(), nullable=True),
        sa.Column("settle_transfer_id", sa.Uuid(), nullable=True),
        sa.Column("cause", sa.String(length=60), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settle_request_id", sa.Uuid(), nullable=True),
        sa.Column("settled_by", sa.String(length=100), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("amount_fen >= 0", name=op.f("ck_grant_recoveries_amount_non_negative")),
        sa.CheckConstraint(
            "status IN ('open', 'settled')", name=op.f("ck_grant_recoveries_status")
        ),
        sa.CheckConstraint(
            "(status = 'settled') = (settled_at IS NOT NULL)",
            name=op.f("ck_grant_recoveries_settled_when"),
        ),
        sa.CheckConstraint(
            "(amount_fen > 0) = (hold_transfer_id IS NOT NULL)",
            name=op.f("ck_grant_recoveries_held"),
        ),
        _fk("grant_recoveries", "project_id", "grants", "project_id"),
        _fk("grant_recoveries", "hold_transfer_id", "transfers", "id"),
        _fk("grant_recoveries", "settle_transfer_id", "transfers", "id"),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_grant_recoveries")),
        schema=SCHEMA,
    )
    op.create_table(
        "grant_history",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("from_state", sa.String(length=20), nullable=True),
        sa.Column("to_state", sa.String(length=20), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("details", _jsonb(), nullable=False),
        _fk("grant_history", "project_id", "grants", "project_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grant_history")),
        schema=SCHEMA,
    )
    op.create_index(
        op.f("ix_grant_history_project_id_at"),
        "grant_history",
        ["project_id", "at"],
        unique=False,
        schema=SCHEMA,
    )
    op.create_table(
        "grant_skipped_events",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(length=60), nullable=False),
        sa.Column("project_id", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.String(length=60), nullable=False),
        sa.Column("payload", _jsonb(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_grant_skipped_events")),
        schema=SCHEMA,
    )
    op.create_index(
        op.f("ix_grant_skipped_events_project_id"),
        "grant_skipped_events",
        ["project_id"],
        unique=False,
        schema=SCHEMA,
    )
    for statement in UPGRADE_SQL:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE_SQL:
        op.execute(statement)
    op.drop_index(
        op.f("ix_grant_skipped_events_project_id"),
        table_name="grant_skipped_events",
        schema=SCHEMA,
    )
    op.drop_table("grant_skipped_events", schema=SCHEMA)
    op.drop_index(op.f("ix_grant_history_project_id_at"), table_name="grant_history", schema=SCHEMA)
    op.drop_table("grant_history", schema=SCHEMA)
    op.drop_table("grant_recoveries", schema=SCHEMA)
    op.drop_index(
        op.f("ix_grant_expenditures_project_id_category"),
        table_name="grant_expenditures",
        schema=SCHEMA,
    )
    op.drop_table("grant_expenditures", schema=SCHEMA)
    op.drop_index(
        op.f("ix_grant_post_subsidies_project_id"),
        table_name="grant_post_subsidies",
        schema=SCHEMA,
    )
    op.drop_table("grant_post_subsidies", schema=SCHEMA)
    op.drop_table("grant_tranches", schema=SCHEMA)
    op.drop_index(op.f("ix_grants_org_id"), table_name="grants", schema=SCHEMA)
    op.drop_index(op.f("ix_grants_program_code_year"), table_name="grants", schema=SCHEMA)
    op.drop_table("grants", schema=SCHEMA)
    op.drop_index(
        op.f("ix_grant_envelopes_program_code_year"), table_name="grant_envelopes", schema=SCHEMA
    )
    op.drop_table("grant_envelopes", schema=SCHEMA)
