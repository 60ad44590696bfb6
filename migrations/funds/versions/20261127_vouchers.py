"""vouchers: programs, providers, enterprises, vouchers, orders, redemptions

Revision ID: a1c7e2d40002
Revises: a1c7e2d40001
Create Date: 2026-11-27 00:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "a1c7e2d40002"
down_revision: str | None = "a1c7e2d40001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ORDER_STATES = (
    "state IN ('ordered', 'delivered', 'confirmed', 'redemption_filed', 'redeemed', 'cancelled')"
)


def upgrade() -> None:
    op.execute(sa.schema.CreateSequence(sa.Sequence("voucher_number_seq", schema="funds")))
    op.create_table(
        "voucher_programs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("ledger", sa.String(length=32), nullable=False),
        sa.Column("budget_fen", sa.BigInteger(), nullable=False),
        sa.Column("voucher_share_bp", sa.Integer(), nullable=False),
        sa.Column("cap_per_group_fen", sa.BigInteger(), nullable=False),
        sa.Column("validity_days", sa.Integer(), nullable=False),
        sa.Column("categories", postgresql.ARRAY(sa.String(length=40)), nullable=False),
        sa.Column("managing_agency", sa.String(length=200), nullable=False),
        sa.Column("treasury_account_id", sa.Uuid(), nullable=False),
        sa.Column("pool_account_id", sa.Uuid(), nullable=False),
        sa.Column("funding_transfer_id", sa.Uuid(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("budget_fen > 0", name=op.f("ck_voucher_programs_budget_positive")),
        sa.CheckConstraint(
            "voucher_share_bp BETWEEN 4000 AND 7000", name=op.f("ck_voucher_programs_share_range")
        ),
        sa.CheckConstraint("cap_per_group_fen > 0", name=op.f("ck_voucher_programs_cap_positive")),
        sa.CheckConstraint(
            "validity_days BETWEEN 1 AND 366", name=op.f("ck_voucher_programs_validity_range")
        ),
        sa.ForeignKeyConstraint(
            ["treasury_account_id"],
            ["funds.accounts.id"],
            name=op.f("fk_voucher_programs_treasury_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["pool_account_id"],
            ["funds.accounts.id"],
            name=op.f("fk_voucher_programs_pool_account_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voucher_programs")),
        sa.UniqueConstraint("code", name=op.f("uq_voucher_programs_code")),
        sa.UniqueConstraint("ledger", name=op.f("uq_voucher_programs_ledger")),
        schema="funds",
    )
    op.create_table(
        "voucher_providers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=False),
        sa.Column("services", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("actual_controller", sa.String(length=64), nullable=False),
        sa.Column("related_parties", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("review_state", sa.String(length=10), nullable=False),
        sa.Column("reviewed_by", sa.String(length=100), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_reason", sa.Text(), nullable=True),
        sa.Column("publicity_ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("suspended", sa.Boolean(), nullable=False),
        sa.Column("suspension_reason", sa.Text(), nullable=True),
        sa.Column("registered_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "review_state IN ('pending', 'approved', 'rejected')",
            name=op.f("ck_voucher_providers_review_state"),
        ),
        sa.CheckConstraint(
            "(review_state = 'approved') = (publicity_ends_at IS NOT NULL)",
            name=op.f("ck_voucher_providers_publicity_when_approved"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voucher_providers")),
        sa.UniqueConstraint("org_id", name=op.f("uq_voucher_providers_org_id")),
        schema="funds",
    )
    op.create_table(
        "voucher_enterprises",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=False),
        sa.Column("actual_controller", sa.String(length=64), nullable=False),
        sa.Column("related_parties", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("registered_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voucher_enterprises")),
        sa.UniqueConstraint("org_id", name=op.f("uq_voucher_enterprises_org_id")),
        schema="funds",
    )
    op.create_index(
        op.f("ix_voucher_enterprises_actual_controller"),
        "voucher_enterprises",
        ["actual_controller"],
        unique=False,
        schema="funds",
    )
    op.create_table(
        "voucher_group_usage",
        sa.Column("program_id", sa.Uuid(), nullable=False),
        sa.Column("actual_controller", sa.String(length=64), nullable=False),
        sa.Column("cap_fen", sa.BigInteger(), nullable=False),
        sa.Column("issued_fen", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "issued_fen >= 0 AND issued_fen <= cap_fen",
            name=op.f("ck_voucher_group_usage_within_cap"),
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["funds.voucher_programs.id"],
            name=op.f("fk_voucher_group_usage_program_id_voucher_programs"),
        ),
        sa.PrimaryKeyConstraint(
            "program_id", "actual_controller", name=op.f("pk_voucher_group_usage")
        ),
        schema="funds",
    )
    op.create_table(
        "vouchers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("program_id", sa.Uuid(), nullable=False),
        sa.Column("enterprise_id", sa.Uuid(), nullable=False),
        sa.Column("actual_controller", sa.String(length=64), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("issue_transfer_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_by", sa.String(length=100), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=100), nullable=True),
        sa.Column("close_reason", sa.Text(), nullable=True),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_vouchers_amount_positive")),
        sa.CheckConstraint(
            "status IN ('active', 'expired', 'cancelled')", name=op.f("ck_vouchers_status")
        ),
        sa.CheckConstraint(
            "(status = 'active') = (closed_at IS NULL)", name=op.f("ck_vouchers_closed_when_over")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["funds.voucher_programs.id"],
            name=op.f("fk_vouchers_program_id_voucher_programs"),
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["funds.voucher_enterprises.id"],
            name=op.f("fk_vouchers_enterprise_id_voucher_enterprises"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["funds.accounts.id"], name=op.f("fk_vouchers_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vouchers")),
        sa.UniqueConstraint("number", name=op.f("uq_vouchers_number")),
        schema="funds",
    )
    op.create_index(
        op.f("ix_vouchers_status_expires_at"),
        "vouchers",
        ["status", "expires_at"],
        unique=False,
        schema="funds",
    )
    op.create_index(
        op.f("ix_vouchers_enterprise_id"),
        "vouchers",
        ["enterprise_id"],
        unique=False,
        schema="funds",
    )
    op.create_table(
        "voucher_orders",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("voucher_id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("enterprise_id", sa.Uuid(), nullable=False),
        sa.Column("program_id", sa.Uuid(), nullable=False),
        sa.Column("service_name", sa.String(length=200), nullable=False),
        sa.Column("service_category", sa.String(length=40), nullable=False),
        sa.Column("contract_amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("voucher_amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("payable_account_id", sa.Uuid(), nullable=False),
        sa.Column("hold_transfer_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("ordered_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("invoice_number", sa.String(length=40), nullable=True),
        sa.Column("invoice_amount_fen", sa.BigInteger(), nullable=True),
        sa.Column("contract_ref", sa.String(length=200), nullable=True),
        sa.Column("self_payment_ref", sa.String(length=200), nullable=True),
        sa.Column("delivery_proof_ref", sa.String(length=200), nullable=True),
        sa.Column("redemption_decided_by", sa.String(length=100), nullable=True),
        sa.Column("fraud_confirmed_by", sa.String(length=100), nullable=True),
        sa.Column("fraud_facts", sa.Text(), nullable=True),
        sa.CheckConstraint(ORDER_STATES, name=op.f("ck_voucher_orders_state")),
        sa.CheckConstraint(
            "voucher_amount_fen > 0 AND voucher_amount_fen <= contract_amount_fen",
            name=op.f("ck_voucher_orders_voucher_part"),
        ),
        sa.ForeignKeyConstraint(
            ["voucher_id"],
            ["funds.vouchers.id"],
            name=op.f("fk_voucher_orders_voucher_id_vouchers"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["funds.voucher_providers.id"],
            name=op.f("fk_voucher_orders_provider_id_voucher_providers"),
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["funds.voucher_enterprises.id"],
            name=op.f("fk_voucher_orders_enterprise_id_voucher_enterprises"),
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["funds.voucher_programs.id"],
            name=op.f("fk_voucher_orders_program_id_voucher_programs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voucher_orders")),
        schema="funds",
    )
    for column in ("voucher_id", "provider_id", "enterprise_id"):
        op.create_index(
            op.f(f"ix_voucher_orders_{column}"),
            "voucher_orders",
            [column],
            unique=False,
            schema="funds",
        )
    op.create_table(
        "voucher_invoices",
        sa.Column("invoice_number", sa.String(length=40), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["funds.voucher_orders.id"],
            name=op.f("fk_voucher_invoices_order_id_voucher_orders"),
        ),
        sa.PrimaryKeyConstraint("invoice_number", name=op.f("pk_voucher_invoices")),
        schema="funds",
    )
    op.create_table(
        "voucher_history",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject_kind", sa.String(length=20), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("from_state", sa.String(length=20), nullable=True),
        sa.Column("to_state", sa.String(length=20), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voucher_history")),
        schema="funds",
    )
    op.create_index(
        op.f("ix_voucher_history_subject_id_at"),
        "voucher_history",
        ["subject_id", "at"],
        unique=False,
        schema="funds",
    )
    # The history is append-only, like the transfers (funds.refuse_change is the ledger's).
    op.execute(
        "CREATE TRIGGER voucher_history_append_only BEFORE UPDATE OR DELETE"
        " ON funds.voucher_history FOR EACH ROW EXECUTE FUNCTION funds.refuse_change()"
    )


def downgrade() -> None:
    op.drop_table("voucher_history", schema="funds")
    op.drop_table("voucher_invoices", schema="funds")
    op.drop_table("voucher_orders", schema="funds")
    op.drop_table("vouchers", schema="funds")
    op.drop_table("voucher_group_usage", schema="funds")
    op.drop_table("voucher_enterprises", schema="funds")
    op.drop_table("voucher_providers", schema="funds")
    op.drop_table("voucher_programs", schema="funds")
    op.execute(sa.schema.DropSequence(sa.Sequence("voucher_number_seq", schema="funds")))
