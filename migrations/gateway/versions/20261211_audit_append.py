"""gateway.append_audit: a batch of audit rows appended to the hash chain in one statement

Revision ID: audit_append_1
Revises: f5a32030dc45
Create Date: 2026-12-11 10:00:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "audit_append_1"
down_revision: str | None = "f5a32030dc45"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The chain's lock, numbering and hashes in the database: the audit writer sends one statement
# a batch instead of BEGIN, the lock, a read of the last row, the insert and COMMIT (five round
# trips on every write the gateway passes). Each row's hash is
# sha256(prev_hash || '|' || content) over the JSON array [seq, at, actor, method, path,
# status, request_id, client_address]; the caller sends that array's text after the seq
# (`services.gateway.audit.chain.content_after_seq`), so Python's `entry_hash` and `verify`
# read the same chain. 96534530 (0x5C10002) is the chain's advisory lock, as before.
APPEND_AUDIT = """
CREATE OR REPLACE FUNCTION gateway.append_audit(
  p_at timestamptz[], p_actor text[], p_method text[], p_path text[], p_status integer[],
  p_request_id text[], p_client_address text[], p_content text[]
) RETURNS bigint LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $fn$
DECLARE
  n integer := coalesce(cardinality(p_at), 0);
  last_seq bigint;
  last_hash text;
  seqs bigint[];
  prevs text[];
  hashes text[];
BEGIN
  IF n = 0 THEN
    RETURN NULL;
  END IF;
  -- One appender at a time numbers the rows, until its transaction ends; the read below
  -- takes a snapshot after the lock, so it sees the rows of whoever held it before.
  PERFORM pg_advisory_xact_lock(96534530);
  SELECT seq, hash INTO last_seq, last_hash FROM gateway.audit_log ORDER BY seq DESC LIMIT 1;
  last_seq := coalesce(last_seq, 0);
  last_hash := coalesce(last_hash, repeat('0', 64));
  FOR i IN 1..n LOOP
    prevs[i] := last_hash;
    last_seq := last_seq + 1;
    seqs[i] := last_seq;
    last_hash := encode(sha256(convert_to(
      last_hash || '|[' || last_seq || ',' || p_content[i], 'UTF8')), 'hex');
    hashes[i] := last_hash;
  END LOOP;
  INSERT INTO gateway.audit_log (seq, at, actor, method, path, status, request_id,
                                 client_address, prev_hash, hash)
  SELECT * FROM unnest(seqs, p_at, p_actor, p_method, p_path, p_status, p_request_id,
                       p_client_address, prevs, hashes);
  RETURN last_seq;
END $fn$
"""


def upgrade() -> None:
    op.execute(APPEND_AUDIT)


def downgrade() -> None:
    op.execute(
        "DROP FUNCTION gateway.append_audit(timestamptz[], text[], text[], text[], integer[],"
        " text[], text[], text[])"
    )
