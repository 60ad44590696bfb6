"""funds.apply_transfers v2: the same answers with fewer statements for a plain batch

Revision ID: apply_transfers_v2
Revises: 26057c768756
Create Date: 2026-12-09 09:00:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

from services.funds.ledger.sql import function_sql

revision: str = "apply_transfers_v2"
down_revision: str | None = "26057c768756"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(function_sql("apply_transfers", 2))


def downgrade() -> None:
    op.execute(function_sql("apply_transfers", 1))
