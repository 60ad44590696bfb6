"""money across years: carry-over rules, year-end closes, drawdowns, co-funding

Revision ID: money_funds_1
Revises: apply_transfers_v2
Create Date: 2026-12-10 00:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "money_funds_1"
down_revision: str | None = "apply_transfers_v2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "funds"
CATEGORY = "category IN ('equipment', 'business', 'labour', 'indirect')"
RULE = "rule IN ('carry_all', 'carry_share', 'return_all')"

# Rules are versions and closes are the books: neither is ever changed.
UPGRADE_SQL = [
    f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON funds.{table}"
    " FOR EACH ROW EXECUTE FUNCTION funds.refuse_change()"
    for table in ("carry_over_rules", "year_end_closes")
]
DOWNGRADE_SQL = [
    f"DROP TRIGGER IF EXISTS {table}_append_only ON funds.{table}"
    for table in ("carry_over_rules", "year_end_closes")
]


def _fk(table: str, column: str, target: str, target_column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"funds.{target}.{target_column}"],
        name=op.f(f"fk_{table}_{column}_{target}"),
    )


def upgrade() -> None:
    op.create_table(
        "carry_over_rules",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("program_code", sa.String(length=40), nullable=False),
        sa.Column("rule", sa.String(length=12), nullable=False),
        sa.Column("share_percent", sa.SmallInteger(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("set_by", sa.String(length=100), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(RULE, name=op.f("ck_carry_over_rules_rule")),
        sa.CheckConstraint(
            "(rule = 'carry_share') = (share_percent IS NOT NULL)"
            " AND (share_percent IS NULL OR share_percent BETWEEN 0 AND 100)",
            name=op.f("ck_carry_over_rules_share_for_carry_share"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carry_over_rules")),
        schema=SCHEMA,
    )
    op.create_index(
        op.f("ix_carry_over_rules_program_code_set_at"),
        "carry_over_rules",
        ["program_code", "set_at"],
        unique=False,
        schema=SCHEMA,
    )
    op.create_table(
        "year_end_closes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("program_code", sa.String(length=40), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("next_ledger", sa.String(length=32), nullable=False),
        sa.Column("rule", sa.String(length=12), nullable=False),
        sa.Column("share_percent", sa.SmallInteger(), nullable=True),
        sa.Column("rule_id", sa.Uuid(), nullable=False),
        sa.Column("carried_fen", sa.BigInteger(), nullable=False),
        sa.Column("returned_fen", sa.BigInteger(), nullable=False),
        sa.Column("lines", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("cut_seq", sa.BigInteger(), nullable=False),
        sa.Column("closed_by", sa.String(length=100), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(RULE, name=op.f("ck_year_end_closes_rule")),
        sa.CheckConstraint(
            "carried_fen >= 0 AND returned_fen >= 0",
            name=op.f("ck_year_end_closes_amounts_non_negative"),
        ),
        _fk("year_end_closes", "rule_id", "carry_over_rules", "id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_year_end_closes")),
        sa.UniqueConstraint(
            "program_code", "year", name=op.f("uq_year_end_closes_program_code_year")
        ),
        schema=SCHEMA,
    )
    op.create_table(
        "grant_drawdowns",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("category", sa.String(length=12), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_grant_drawdowns_amount_positive")),
        sa.CheckConstraint(CATEGORY, name=op.f("ck_grant_drawdowns_category")),
        _fk("grant_drawdowns", "project_id", "grants", "project_id"),
        _fk("grant_drawdowns", "order_id", "payment_orders", "id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grant_drawdowns")),
        sa.UniqueConstraint("order_id", name=op.f("uq_grant_drawdowns_order_id")),
        schema=SCHEMA,
    )
    op.create_index(
        op.f("ix_grant_drawdowns_project_id_requested_at"),
        "grant_drawdowns",
        ["project_id", "requested_at"],
        unique=False,
        schema=SCHEMA,
    )
    op.create_table(
        "grant_co_funding",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("category", sa.String(length=12), nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("fiscal_year", sa.SmallInteger(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("declared_by", sa.String(length=100), nullable=False),
        sa.Column("declared_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_by", sa.String(length=100), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_grant_co_funding_amount_positive")),
        sa.CheckConstraint(CATEGORY, name=op.f("ck_grant_co_funding_category")),
        sa.CheckConstraint(
            "source IN ('self_raised', 'matching')", name=op.f("ck_grant_co_funding_source")
        ),
        sa.CheckConstraint(
            "status IN ('declared', 'confirmed')", name=op.f("ck_grant_co_funding_status")
        ),
        sa.CheckConstraint(
            "(status = 'confirmed') = (confirmed_at IS NOT NULL)",
            name=op.f("ck_grant_co_funding_confirmed_when"),
        ),
        sa.CheckConstraint(
            "confirmed_by IS NULL OR confirmed_by <> declared_by",
            name=op.f("ck_grant_co_funding_confirmer_is_not_declarer"),
        ),
        _fk("grant_co_funding", "project_id", "grants", "project_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grant_co_funding")),
        schema=SCHEMA,
    )
    op.create_index(
        op.f("ix_grant_co_funding_project_id_declared_at"),
        "grant_co_funding",
        ["project_id", "declared_at"],
        unique=False,
        schema=SCHEMA,
    )
    for statement in UPGRADE_SQL:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE_SQL:
        op.execute(statement)
    op.drop_index(
        op.f("ix_grant_co_funding_project_id_declared_at"),
        table_name="grant_co_funding",
        schema=SCHEMA,
    )
    op.drop_table("grant_co_funding", schema=SCHEMA)
    op.drop_index(
        op.f("ix_grant_drawdowns_project_id_requested_at"),
        table_name="grant_drawdowns",
        schema=SCHEMA,
    )
    op.drop_table("grant_drawdowns", schema=SCHEMA)
    op.drop_table("year_end_closes", schema=SCHEMA)
    op.drop_index(
        op.f("ix_carry_over_rules_program_code_set_at"),
        table_name="carry_over_rules",
        schema=SCHEMA,
    )
    op.drop_table("carry_over_rules", schema=SCHEMA)
