"""funds.apply_transfers v3 (plans made once, transfers looked up by index), and the accounts'
guard called only when an update would break it

Revision ID: apply_transfers_v3
Revises: money_funds_1
Create Date: 2026-12-11 09:00:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

from services.funds.ledger.sql import function_sql

revision: str = "apply_transfers_v3"
down_revision: str | None = "money_funds_1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The guard's own conditions, checked by PostgreSQL before it calls the PL/pgSQL function: a
# ledger call updates two account rows, and calling the function for each cost about a
# twentieth of the call. The function still says which rule an update broke.
_BREAKS_THE_GUARD = (
    "NEW.id <> OLD.id OR NEW.ledger <> OLD.ledger"
    " OR NEW.debits_must_not_exceed_credits <> OLD.debits_must_not_exceed_credits"
    " OR NEW.credits_must_not_exceed_debits <> OLD.credits_must_not_exceed_debits"
    " OR NEW.requires_approval <> OLD.requires_approval"
    " OR NEW.debits_posted < OLD.debits_posted OR NEW.credits_posted < OLD.credits_posted"
)
UPGRADE_SQL = [
    function_sql("apply_transfers", 3),
    "DROP TRIGGER accounts_guard ON funds.accounts",
    "CREATE TRIGGER accounts_guard BEFORE UPDATE ON funds.accounts FOR EACH ROW"
    f" WHEN ({_BREAKS_THE_GUARD}) EXECUTE FUNCTION funds.guard_account()",
    "CREATE TRIGGER accounts_no_delete BEFORE DELETE ON funds.accounts"
    " FOR EACH ROW EXECUTE FUNCTION funds.guard_account()",
]
DOWNGRADE_SQL = [
    "DROP TRIGGER accounts_no_delete ON funds.accounts",
    "DROP TRIGGER accounts_guard ON funds.accounts",
    "CREATE TRIGGER accounts_guard BEFORE UPDATE OR DELETE ON funds.accounts"
    " FOR EACH ROW EXECUTE FUNCTION funds.guard_account()",
    function_sql("apply_transfers", 2),
]


def upgrade() -> None:
    for statement in UPGRADE_SQL:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE_SQL:
        op.execute(statement)
