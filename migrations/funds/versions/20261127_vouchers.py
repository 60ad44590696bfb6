"""vouchers: programs, providers, enterprises, vouchers, orders, redemptions

Revision ID: a1c7e2d40002
Revises: a1c7e2d40001
Create Date: 2026-11-27 00:00:00+00:00
"""

from collections.abc import Sequence

revision: str = "a1c7e2d40002"
down_revision: str | None = "a1c7e2d40001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
