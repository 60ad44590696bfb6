-- Holds whose timeout passed are released by an 'expire' transfer. The accounts are locked
-- first, in id order, like every batch; the resolution is checked after the locks, so a post
-- racing the expiry either commits first (and the hold is not expired) or sees it expired.
CREATE OR REPLACE FUNCTION funds.expire_pending_transfers(p_now timestamptz, p_limit integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  due uuid[];
  ids uuid[];
  expired integer;
BEGIN
  due := ARRAY(SELECT transfer_id FROM funds.pending_expiries
                WHERE expires_at <= p_now ORDER BY expires_at LIMIT p_limit);
  IF cardinality(due) = 0 THEN
    RETURN 0;
  END IF;
  ids := ARRAY(SELECT DISTINCT v.a FROM funds.transfers t,
                 LATERAL (VALUES (t.debit_account_id), (t.credit_account_id)) AS v(a)
                WHERE t.id = ANY(due));
  PERFORM 1 FROM funds.accounts WHERE id = ANY(ids) ORDER BY id FOR UPDATE;
  WITH open AS (
    SELECT p.* FROM funds.transfers p
     WHERE p.id = ANY(due) AND p.kind = 'pending' AND p.expires_at <= p_now
       AND NOT EXISTS (SELECT 1 FROM funds.transfers r WHERE r.pending_id = p.id)
  ), made AS (
    INSERT INTO funds.transfers (id, debit_account_id, credit_account_id, amount, pending_id,
                                 ledger, code, kind, linked, user_data, body_hash,
                                 created_at, created_by)
    SELECT md5('expire:' || p.id::text)::uuid, p.debit_account_id, p.credit_account_id,
           p.amount, p.id, p.ledger, p.code, 'expire', false, '{}'::jsonb,
           md5('expire:' || p.id::text)::uuid, p_now, 'system:expiry'
      FROM open p
    RETURNING debit_account_id, credit_account_id, amount
  ), moves AS (
    SELECT m.account_id, sum(m.dp) AS dp, sum(m.cp) AS cp
      FROM (SELECT debit_account_id AS account_id, amount AS dp, 0 AS cp FROM made
            UNION ALL
            SELECT credit_account_id, 0, amount FROM made) m
     GROUP BY m.account_id
  ), changed AS (
    UPDATE funds.accounts a
       SET debits_pending = a.debits_pending - mv.dp,
           credits_pending = a.credits_pending - mv.cp
      FROM moves mv WHERE a.id = mv.account_id
    RETURNING a.id
  )
  SELECT count(*) INTO expired FROM made;
  DELETE FROM funds.pending_expiries WHERE transfer_id = ANY(due);
  RETURN expired;
END $$;
