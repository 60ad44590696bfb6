"""reserve the client name gateway: no service account may be named after the gateway, whose
own tokens (`svc:gateway`) notify trusts with direct messages; one registered before is removed

Revision ID: 8e41c0d7a2b9
Revises: 3b7c2d9e41a5
Create Date: 2026-12-07 04:20:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "8e41c0d7a2b9"
down_revision: str | None = "3b7c2d9e41a5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DELETE FROM gateway.api_clients WHERE lower(trim(client_id)) = 'gateway'")


def downgrade() -> None:
    pass  # a removed account stays removed: it was never a legitimate one
