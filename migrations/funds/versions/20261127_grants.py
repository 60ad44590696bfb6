"""grants: per-project budgets, tranches, post-subsidies, recoveries

Revision ID: a1c7e2d40001
Revises: d380b99ab83f
Create Date: 2026-11-27 00:00:00+00:00
"""

from collections.abc import Sequence

revision: str = "a1c7e2d40001"
down_revision: str | None = "d380b99ab83f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
