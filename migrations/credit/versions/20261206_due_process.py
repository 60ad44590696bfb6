"""due process: records of a program, four eyes on bans and listing, an appeal window, the legal
basis of every step

Revision ID: a03074d32987
Revises: 08ded37cad79
Create Date: 2026-12-06 23:21:44.206178+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a03074d32987"
down_revision: str | None = "08ded37cad79"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUSES = (
    "'proposed', 'notified', 'objected', 'confirmed', 'appealed', 'withdrawn', 'repaired'"
)
NEW_STATUSES = (
    "'proposed', 'awaiting_approval', 'notified', 'objected', 'confirmed', 'appealed', "
    "'withdrawn', 'repaired'"
)


def upgrade() -> None:
    for column in (
        sa.Column("rule_code", sa.String(length=40), nullable=True),
        sa.Column("rule_version", sa.Integer(), nullable=True),
        sa.Column("legal_basis", sa.Text(), nullable=True),
    ):
        op.add_column("record_transitions", column, schema="credit")
    # Steps taken before the basis was kept were taken under the record's rule as it is now
    # (a revision after an objection is the only change of rule, and it is the last step).
    op.execute(
        """
        UPDATE credit.record_transitions t
           SET rule_code = r.rule_code, rule_version = r.rule_version, legal_basis = r.legal_basis
          FROM credit.records r
         WHERE r.id = t.record_id
        """
    )
    for name in ("rule_code", "rule_version", "legal_basis"):
        op.alter_column("record_transitions", name, nullable=False, schema="credit")

    op.add_column("records", sa.Column("program_id", sa.Uuid(), nullable=True), schema="credit")
    op.add_column(
        "records",
        sa.Column("notice_requested_by", sa.String(length=100), nullable=True),
        schema="credit",
    )
    op.add_column(
        "records",
        sa.Column("notice_approved_by", sa.String(length=100), nullable=True),
        schema="credit",
    )
    op.add_column(
        "records",
        sa.Column("appeal_deadline", sa.DateTime(timezone=True), nullable=True),
        schema="credit",
    )
    op.create_index(
        op.f("ix_records_program_id"), "records", ["program_id"], unique=False, schema="credit"
    )
    # Who sent the notices already sent, from the history.
    op.execute(
        """
        UPDATE credit.records r
           SET notice_requested_by = t.actor
          FROM credit.record_transitions t
         WHERE t.record_id = r.id AND t.from_status = 'proposed' AND t.to_status = 'notified'
        """
    )
    # Records confirmed before the appeal window was kept: three weeks (about 15 working days).
    op.execute(
        "UPDATE credit.records SET appeal_deadline = confirmed_at + interval '21 days' "
        "WHERE confirmed_at IS NOT NULL"
    )
    op.drop_constraint(op.f("ck_records_status"), "records", schema="credit", type_="check")
    op.create_check_constraint(
        op.f("ck_records_status"), "records", f"status IN ({NEW_STATUSES})", schema="credit"
    )


def downgrade() -> None:
    op.execute("UPDATE credit.records SET status = 'proposed' WHERE status = 'awaiting_approval'")
    op.drop_constraint(op.f("ck_records_status"), "records", schema="credit", type_="check")
    op.create_check_constraint(
        op.f("ck_records_status"), "records", f"status IN ({OLD_STATUSES})", schema="credit"
    )
    op.drop_index(op.f("ix_records_program_id"), table_name="records", schema="credit")
    for name in ("appeal_deadline", "notice_approved_by", "notice_requested_by", "program_id"):
        op.drop_column("records", name, schema="credit")
    for name in ("legal_basis", "rule_version", "rule_code"):
        op.drop_column("record_transitions", name, schema="credit")
