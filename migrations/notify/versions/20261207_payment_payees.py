"""payment payees: the organization a payment order pays, for telling it when it is paid

Revision ID: 7f3a9c2e41b8
Revises: 5c7ce842ccf8
Create Date: 2026-12-07 04:50:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7f3a9c2e41b8"
down_revision: str | None = "5c7ce842ccf8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payment_payees",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_payment_payees")),
        schema="notify",
    )


def downgrade() -> None:
    op.drop_table("payment_payees", schema="notify")
