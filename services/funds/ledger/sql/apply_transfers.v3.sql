-- The only writer of transfers and account totals. One call applies a whole batch in order,
-- like TigerBeetle's create_transfers: it locks every account involved in id order (so
-- batches never deadlock each other), keeps the totals in arrays while it walks the batch
-- (a hot account is written once per batch, not once per transfer), rolls back a linked chain
-- that fails, and returns one result per transfer: 'created', 'exists' or an error code.
-- v2: the same answers with fewer statements for the common batch (most API batches are one
-- plain transfer): the accounts are locked and read in one statement, and what only posts,
-- voids, duplicate ids, failures or holds need is run only when the batch has them.
-- v3: the same answers for about half the CPU (bench/ledger_sql.py). Each statement's plan is
-- made once per connection (the SET below), not again on every call. Every lookup of a
-- transfer by id is an index probe per batch entry (LATERAL ... OFFSET 0: the OFFSET keeps the
-- planner from flattening it into a join; a LIMIT 1 would too, but makes a scan look cheap),
-- and accounts and holds are updated by index: never a join the planner may run as a hash join
-- over a whole table, as v2's lookups were, read every transfer and every failure on each call
-- (a cost that grew with the ledger). The arrays are aggregated from rows already in order, one
-- sort per statement instead of one per aggregate.
CREATE OR REPLACE FUNCTION funds.apply_transfers(
  p_batch jsonb, p_actor text, p_now timestamptz, p_approved boolean
) RETURNS text[] LANGUAGE plpgsql
-- One plan per statement, made once per connection: custom plans were made again on every
-- call (the statements' generic costs, with arrays for parameters, looked higher to the
-- planner than a fresh plan's), and planning was the largest part of a single transfer.
SET plan_cache_mode = force_generic_plan
AS $fn$
DECLARE
  max_fen CONSTANT bigint := 9223372036854775807;
  n integer := jsonb_array_length(p_batch);
  -- the batch, one array per field
  t_id uuid[]; t_hash uuid[]; t_dr uuid[]; t_cr uuid[]; t_amount bigint[]; t_pending uuid[];
  t_ledger text[]; t_code text[]; t_kind text[]; t_linked boolean[]; t_timeout integer[];
  t_user jsonb[];
  t_first integer[];  -- position of the first transfer of the batch with the same id
  t_slot integer[];   -- position of the pending transfer a post or void names, in s_*
  pre text[];         -- result decided by what the database already holds for the id
  -- what each transfer becomes
  res text[]; o_dr uuid[]; o_cr uuid[]; o_amount bigint[]; o_expires timestamptz[];
  -- the accounts involved, locked, sorted by id; a_at maps an id to its position
  ids uuid[];
  a_id uuid[]; a_ledger text[]; a_dmnec boolean[]; a_cmned boolean[]; a_appr boolean[];
  a_dp bigint[]; a_dpo bigint[]; a_cp bigint[]; a_cpo bigint[]; a_dirty boolean[];
  a_at jsonb;
  -- the pending transfers named by posts and voids
  s_pid uuid[]; s_src integer[]; s_found boolean[]; s_dr uuid[]; s_cr uuid[];
  s_amount bigint[]; s_ledger text[]; s_kind text[]; s_expires timestamptz[];
  s_resolved text[];
  -- undo log of the open linked chain
  u_acc integer[] := '{}'; u_dp bigint[] := '{}'; u_dpo bigint[] := '{}';
  u_cp bigint[] := '{}'; u_cpo bigint[] := '{}'; u_n integer := 0;
  us_slot integer[] := '{}'; us_n integer := 0;
  chain_start integer; open_from integer;
  i integer; j integer; f integer; k text; r text; dr integer; cr integer; amt bigint;
  slot integer; src integer; p_found boolean; p_dr uuid; p_cr uuid; p_amount bigint;
  p_ledger text; p_kind text; p_expires timestamptz;
BEGIN
  IF n IS NULL OR n = 0 THEN
    RETURN '{}'::text[];
  END IF;

  SELECT array_agg((e->>'id')::uuid),
         array_agg(md5(e::text)::uuid),
         array_agg((e->>'debit_account_id')::uuid),
         array_agg((e->>'credit_account_id')::uuid),
         array_agg(CASE WHEN jsonb_typeof(e->'amount') = 'number'
                         AND (e->>'amount')::numeric BETWEEN 0 AND max_fen
                         AND (e->>'amount')::numeric = trunc((e->>'amount')::numeric)
                        THEN (e->>'amount')::bigint END),
         array_agg((e->>'pending_id')::uuid),
         array_agg(e->>'ledger'),
         array_agg(e->>'code'),
         array_agg(CASE
           WHEN coalesce((e->>'pending')::boolean, false)::integer
              + coalesce((e->>'post_pending')::boolean, false)::integer
              + coalesce((e->>'void_pending')::boolean, false)::integer > 1 THEN 'invalid'
           WHEN (e->>'pending')::boolean THEN 'pending'
           WHEN (e->>'post_pending')::boolean THEN 'post'
           WHEN (e->>'void_pending')::boolean THEN 'void'
           ELSE 'single' END),
         array_agg(coalesce((e->>'linked')::boolean, false)),
         array_agg(CASE WHEN jsonb_typeof(e->'timeout') = 'number'
                         AND (e->>'timeout')::numeric BETWEEN -2147483648 AND 2147483647
                        THEN (e->>'timeout')::numeric::integer END),
         array_agg(CASE WHEN jsonb_typeof(e->'user_data') = 'object'
                        THEN e->'user_data' ELSE '{}'::jsonb END)
    INTO t_id, t_hash, t_dr, t_cr, t_amount, t_pending, t_ledger, t_code, t_kind, t_linked,
         t_timeout, t_user
    -- One sort for all the arrays: each aggregate with its own ORDER BY sorted on its own.
    FROM (SELECT x.e FROM jsonb_array_elements(p_batch) WITH ORDINALITY AS x(e, o)
           ORDER BY x.o) x;

  IF n = 1 THEN
    t_first := ARRAY[1];
  ELSE
    SELECT array_agg(q.first ORDER BY q.o) INTO t_first
      FROM (SELECT u.o, min(u.o) OVER (PARTITION BY u.id) AS first
              FROM unnest(t_id) WITH ORDINALITY AS u(id, o)) q;
  END IF;

  s_pid := ARRAY(SELECT DISTINCT p FROM unnest(t_pending) AS u(p) WHERE p IS NOT NULL ORDER BY p);
  IF cardinality(s_pid) > 0 THEN
    SELECT array_agg(s.n ORDER BY u.o) INTO t_slot
      FROM unnest(t_pending) WITH ORDINALITY AS u(pid, o)
      LEFT JOIN unnest(s_pid) WITH ORDINALITY AS s(pid, n) ON s.pid = u.pid;
    -- pending transfers are never changed, so they can be read before the locks
    SELECT array_agg(q.src ORDER BY q.n), array_agg(p.id IS NOT NULL ORDER BY q.n),
           array_agg(p.debit_account_id ORDER BY q.n), array_agg(p.credit_account_id ORDER BY q.n),
           array_agg(p.amount ORDER BY q.n), array_agg(p.ledger ORDER BY q.n),
           array_agg(p.kind ORDER BY q.n), array_agg(p.expires_at ORDER BY q.n)
      INTO s_src, s_found, s_dr, s_cr, s_amount, s_ledger, s_kind, s_expires
      FROM (SELECT s.pid, s.n, min(u.o) AS src
              FROM unnest(s_pid) WITH ORDINALITY AS s(pid, n)
              LEFT JOIN unnest(t_id) WITH ORDINALITY AS u(id, o) ON u.id = s.pid
             GROUP BY s.pid, s.n) q
      LEFT JOIN LATERAL (SELECT * FROM funds.transfers t WHERE t.id = q.pid OFFSET 0) p ON true;
  END IF;

  ids := ARRAY(SELECT DISTINCT a FROM (
                 SELECT unnest(t_dr) UNION ALL SELECT unnest(t_cr)
                 UNION ALL SELECT unnest(s_dr) UNION ALL SELECT unnest(s_cr)) q(a)
                WHERE a IS NOT NULL);
  -- Locks in id order (the row locks are taken above the sort): two batches sharing accounts
  -- queue up instead of deadlocking. A row locked after a wait is read as the other batch
  -- committed it (READ COMMITTED re-reads the newest version of a row it had to wait for).
  SELECT array_agg(a.id), array_agg(a.ledger),
         array_agg(a.debits_must_not_exceed_credits),
         array_agg(a.credits_must_not_exceed_debits),
         array_agg(a.requires_approval),
         array_agg(a.debits_pending), array_agg(a.debits_posted),
         array_agg(a.credits_pending), array_agg(a.credits_posted),
         jsonb_object_agg(a.id::text, a.rn)
    INTO a_id, a_ledger, a_dmnec, a_cmned, a_appr, a_dp, a_dpo, a_cp, a_cpo, a_at
    FROM (SELECT l.*, row_number() OVER (ORDER BY l.id) AS rn
            FROM (SELECT acc.* FROM funds.accounts acc WHERE acc.id = ANY(ids)
                   ORDER BY acc.id FOR UPDATE) l
           ORDER BY l.id) a;  -- the arrays in id order, from the window's own sort
  a_dirty := array_fill(false, ARRAY[coalesce(cardinality(a_id), 0)]);

  IF cardinality(s_pid) > 0 THEN
    SELECT array_agg(r.kind ORDER BY s.n) INTO s_resolved
      FROM unnest(s_pid) WITH ORDINALITY AS s(pid, n)
      LEFT JOIN LATERAL (SELECT t.kind FROM funds.transfers t WHERE t.pending_id = s.pid
                          OFFSET 0) r ON true;
  END IF;

  SELECT array_agg(CASE
           WHEN t.id IS NOT NULL THEN
             CASE WHEN t.body_hash = u.h THEN 'exists' ELSE 'transfer.exists_different' END
           WHEN fl.id IS NOT NULL THEN
             CASE WHEN fl.body_hash = u.h THEN fl.code ELSE 'transfer.exists_different' END
           END ORDER BY u.o) INTO pre
    FROM unnest(t_id, t_hash) WITH ORDINALITY AS u(id, h, o)
    LEFT JOIN LATERAL (SELECT x.id, x.body_hash FROM funds.transfers x WHERE x.id = u.id
                        OFFSET 0) t ON true
    LEFT JOIN LATERAL (SELECT x.id, x.body_hash, x.code FROM funds.transfer_failures x
                        WHERE x.id = u.id OFFSET 0) fl ON true;

  res := array_fill(NULL::text, ARRAY[n]);
  o_dr := array_fill(NULL::uuid, ARRAY[n]);
  o_cr := array_fill(NULL::uuid, ARRAY[n]);
  o_amount := array_fill(NULL::bigint, ARRAY[n]);
  o_expires := array_fill(NULL::timestamptz, ARRAY[n]);

  -- A batch ending inside a linked chain: that chain fails as a whole.
  open_from := n + 1;
  IF t_linked[n] THEN
    open_from := n;
    WHILE open_from > 1 AND t_linked[open_from - 1] LOOP
      open_from := open_from - 1;
    END LOOP;
  END IF;

  i := 1;
  WHILE i <= n LOOP
    IF i = open_from THEN
      FOR j IN i..n LOOP
        res[j] := coalesce(pre[j], CASE WHEN j = n THEN 'transfer.linked_event_chain_open'
                                        ELSE 'transfer.linked_event_failed' END);
      END LOOP;
      EXIT;
    END IF;
    IF chain_start IS NULL AND t_linked[i] THEN
      chain_start := i; u_n := 0; us_n := 0;
    END IF;

    r := NULL;
    k := t_kind[i];
    amt := t_amount[i];
    IF pre[i] IS NOT NULL THEN
      r := pre[i];
    ELSIF t_id[i] IS NULL THEN
      r := 'transfer.id_must_not_be_empty';
    ELSIF t_first[i] < i THEN
      f := t_first[i];
      IF t_hash[f] <> t_hash[i] THEN
        r := 'transfer.exists_different';
      ELSIF res[f] = 'created' THEN
        r := 'exists';
      ELSE
        r := res[f];
      END IF;
    ELSIF k = 'invalid' THEN
      r := 'transfer.flags_are_mutually_exclusive';
    ELSIF amt IS NULL THEN
      r := 'transfer.amount_out_of_range';
    ELSIF coalesce(t_ledger[i], '') = '' THEN
      r := 'transfer.ledger_must_not_be_empty';
    ELSIF coalesce(t_code[i], '') = '' THEN
      r := 'transfer.code_must_not_be_empty';
    ELSIF k IN ('single', 'pending') THEN
      IF t_pending[i] IS NOT NULL THEN
        r := 'transfer.pending_id_must_be_empty';
      ELSIF amt = 0 THEN
        r := 'transfer.amount_must_not_be_zero';
      ELSIF t_dr[i] IS NULL THEN
        r := 'transfer.debit_account_id_must_not_be_empty';
      ELSIF t_cr[i] IS NULL THEN
        r := 'transfer.credit_account_id_must_not_be_empty';
      ELSIF t_dr[i] = t_cr[i] THEN
        r := 'transfer.accounts_must_be_different';
      ELSIF k = 'single' AND t_timeout[i] IS NOT NULL THEN
        r := 'transfer.timeout_reserved_for_pending_transfer';
      ELSIF t_timeout[i] IS NOT NULL AND t_timeout[i] <= 0 THEN
        r := 'transfer.timeout_must_be_positive';
      ELSE
        dr := (a_at ->> t_dr[i]::text)::integer;
        cr := (a_at ->> t_cr[i]::text)::integer;
        IF dr IS NULL THEN
          r := 'transfer.debit_account_not_found';
        ELSIF cr IS NULL THEN
          r := 'transfer.credit_account_not_found';
        ELSIF a_ledger[dr] <> a_ledger[cr] THEN
          r := 'transfer.accounts_must_have_the_same_ledger';
        ELSIF a_ledger[dr] <> t_ledger[i] THEN
          r := 'transfer.ledger_must_match_accounts';
        ELSIF a_appr[dr] AND NOT p_approved THEN
          r := 'transfer.requires_approval';
        ELSIF k = 'pending' AND amt > max_fen - a_dp[dr] THEN
          r := 'transfer.overflows_debits_pending';
        ELSIF k = 'pending' AND amt > max_fen - a_cp[cr] THEN
          r := 'transfer.overflows_credits_pending';
        ELSIF k = 'single' AND amt > max_fen - a_dpo[dr] THEN
          r := 'transfer.overflows_debits_posted';
        ELSIF k = 'single' AND amt > max_fen - a_cpo[cr] THEN
          r := 'transfer.overflows_credits_posted';
        -- pending + posted stays within BIGINT, so these differences never overflow
        ELSIF amt > max_fen - a_dpo[dr] - a_dp[dr] THEN
          r := 'transfer.overflows_debits';
        ELSIF amt > max_fen - a_cpo[cr] - a_cp[cr] THEN
          r := 'transfer.overflows_credits';
        ELSIF a_dmnec[dr] AND amt > a_cpo[dr] - a_dpo[dr] - a_dp[dr] THEN
          r := 'transfer.exceeds_credits';
        ELSIF a_cmned[cr] AND amt > a_dpo[cr] - a_cpo[cr] - a_cp[cr] THEN
          r := 'transfer.exceeds_debits';
        ELSE
          IF chain_start IS NOT NULL THEN
            u_n := u_n + 1;
            u_acc[u_n] := dr; u_dp[u_n] := a_dp[dr]; u_dpo[u_n] := a_dpo[dr];
            u_cp[u_n] := a_cp[dr]; u_cpo[u_n] := a_cpo[dr];
            u_n := u_n + 1;
            u_acc[u_n] := cr; u_dp[u_n] := a_dp[cr]; u_dpo[u_n] := a_dpo[cr];
            u_cp[u_n] := a_cp[cr]; u_cpo[u_n] := a_cpo[cr];
          END IF;
          IF k = 'single' THEN
            a_dpo[dr] := a_dpo[dr] + amt;
            a_cpo[cr] := a_cpo[cr] + amt;
          ELSE
            a_dp[dr] := a_dp[dr] + amt;
            a_cp[cr] := a_cp[cr] + amt;
            IF t_timeout[i] IS NOT NULL THEN
              o_expires[i] := p_now + make_interval(secs => t_timeout[i]);
            END IF;
          END IF;
          a_dirty[dr] := true; a_dirty[cr] := true;
          o_dr[i] := t_dr[i]; o_cr[i] := t_cr[i]; o_amount[i] := amt;
          r := 'created';
        END IF;
      END IF;
    ELSE  -- post or void a pending transfer
      IF t_pending[i] IS NULL THEN
        r := 'transfer.pending_id_must_not_be_empty';
      ELSIF t_pending[i] = t_id[i] THEN
        r := 'transfer.pending_id_must_be_different';
      ELSIF t_timeout[i] IS NOT NULL THEN
        r := 'transfer.timeout_reserved_for_pending_transfer';
      ELSE
        slot := t_slot[i];
        src := s_src[slot];
        IF src IS NOT NULL AND src < i AND res[src] = 'created' THEN
          p_found := true; p_dr := o_dr[src]; p_cr := o_cr[src]; p_amount := o_amount[src];
          p_ledger := t_ledger[src]; p_kind := t_kind[src]; p_expires := o_expires[src];
        ELSIF s_found[slot] THEN
          p_found := true; p_dr := s_dr[slot]; p_cr := s_cr[slot]; p_amount := s_amount[slot];
          p_ledger := s_ledger[slot]; p_kind := s_kind[slot]; p_expires := s_expires[slot];
        ELSE
          p_found := false;
        END IF;
        IF NOT p_found THEN
          r := 'transfer.pending_transfer_not_found';
        ELSIF p_kind <> 'pending' THEN
          r := 'transfer.pending_transfer_not_pending';
        ELSIF t_dr[i] IS NOT NULL AND t_dr[i] <> p_dr THEN
          r := 'transfer.pending_transfer_has_different_debit_account';
        ELSIF t_cr[i] IS NOT NULL AND t_cr[i] <> p_cr THEN
          r := 'transfer.pending_transfer_has_different_credit_account';
        ELSIF t_ledger[i] <> p_ledger THEN
          r := 'transfer.pending_transfer_has_different_ledger';
        ELSIF s_resolved[slot] = 'post' THEN
          r := 'transfer.pending_transfer_already_posted';
        ELSIF s_resolved[slot] = 'void' THEN
          r := 'transfer.pending_transfer_already_voided';
        ELSIF s_resolved[slot] = 'expire' OR p_expires <= p_now THEN
          r := 'transfer.pending_transfer_expired';
        ELSE
          dr := (a_at ->> p_dr::text)::integer;
          cr := (a_at ->> p_cr::text)::integer;
          IF a_appr[dr] AND NOT p_approved THEN
            r := 'transfer.requires_approval';
          ELSIF k = 'post' AND amt > p_amount THEN
            r := 'transfer.exceeds_pending_transfer_amount';
          ELSIF k = 'void' AND amt <> 0 AND amt <> p_amount THEN
            r := 'transfer.pending_transfer_has_different_amount';
          ELSE
            IF k = 'void' OR amt = 0 THEN
              amt := p_amount;
            END IF;
            IF chain_start IS NOT NULL THEN
              u_n := u_n + 1;
              u_acc[u_n] := dr; u_dp[u_n] := a_dp[dr]; u_dpo[u_n] := a_dpo[dr];
              u_cp[u_n] := a_cp[dr]; u_cpo[u_n] := a_cpo[dr];
              u_n := u_n + 1;
              u_acc[u_n] := cr; u_dp[u_n] := a_dp[cr]; u_dpo[u_n] := a_dpo[cr];
              u_cp[u_n] := a_cp[cr]; u_cpo[u_n] := a_cpo[cr];
              us_n := us_n + 1;
              us_slot[us_n] := slot;
            END IF;
            -- The whole hold is released; a post moves at most that much to posted, so
            -- pending + posted never grows here and cannot overflow.
            a_dp[dr] := a_dp[dr] - p_amount;
            a_cp[cr] := a_cp[cr] - p_amount;
            IF k = 'post' THEN
              a_dpo[dr] := a_dpo[dr] + amt;
              a_cpo[cr] := a_cpo[cr] + amt;
            END IF;
            s_resolved[slot] := k;
            a_dirty[dr] := true; a_dirty[cr] := true;
            o_dr[i] := p_dr; o_cr[i] := p_cr; o_amount[i] := amt;
            r := 'created';
          END IF;
        END IF;
      END IF;
    END IF;

    res[i] := r;
    IF chain_start IS NOT NULL AND r NOT IN ('created', 'exists') THEN
      -- The chain fails as a whole: undo it, and fail the rest of it unseen.
      FOR j IN REVERSE u_n..1 LOOP
        a_dp[u_acc[j]] := u_dp[j]; a_dpo[u_acc[j]] := u_dpo[j];
        a_cp[u_acc[j]] := u_cp[j]; a_cpo[u_acc[j]] := u_cpo[j];
      END LOOP;
      FOR j IN REVERSE us_n..1 LOOP
        s_resolved[us_slot[j]] := NULL;
      END LOOP;
      FOR j IN chain_start..i - 1 LOOP
        res[j] := coalesce(pre[j], 'transfer.linked_event_failed');
      END LOOP;
      j := i;
      WHILE t_linked[j] LOOP
        j := j + 1;
        res[j] := coalesce(pre[j], 'transfer.linked_event_failed');
      END LOOP;
      chain_start := NULL;
      i := j + 1;
      CONTINUE;
    END IF;
    IF chain_start IS NOT NULL AND NOT t_linked[i] THEN
      chain_start := NULL;
    END IF;
    i := i + 1;
  END LOOP;

  INSERT INTO funds.transfers (id, debit_account_id, credit_account_id, amount, pending_id,
                               ledger, code, kind, linked, timeout_seconds, expires_at,
                               user_data, body_hash, created_at, created_by)
  SELECT u.id, u.dr, u.cr, u.amount, u.pid, u.ledger, u.code, u.kind, u.linked, u.timeout,
         u.expires, u.user_data, u.hash, p_now, p_actor
    FROM unnest(t_id, o_dr, o_cr, o_amount, t_pending, t_ledger, t_code, t_kind, t_linked,
                t_timeout, o_expires, t_user, t_hash, res)
         WITH ORDINALITY AS u(id, dr, cr, amount, pid, ledger, code, kind, linked, timeout,
                              expires, user_data, hash, r, o)
   WHERE u.r = 'created'
   ORDER BY u.o;

  -- A failed id stays failed: a retry must not succeed later, after the client was told no.
  IF NOT res <@ ARRAY['created', 'exists']::text[] THEN
    INSERT INTO funds.transfer_failures (id, body_hash, code, created_at, created_by)
    SELECT u.id, u.hash, u.r, p_now, p_actor
      FROM unnest(t_id, t_hash, res, pre, t_first) WITH ORDINALITY AS u(id, hash, r, pre, f, o)
     WHERE u.r NOT IN ('created', 'exists', 'transfer.exists_different')
       AND u.pre IS NULL AND u.f = u.o AND u.id IS NOT NULL;
  END IF;

  IF true = ANY(a_dirty) THEN
    UPDATE funds.accounts a
       SET debits_pending = u.dp, debits_posted = u.dpo,
           credits_pending = u.cp, credits_posted = u.cpo
      FROM unnest(a_id, a_dp, a_dpo, a_cp, a_cpo, a_dirty) AS u(id, dp, dpo, cp, cpo, dirty)
     WHERE a.id = u.id AND u.dirty AND a.id = ANY(a_id);  -- by index, whatever the join
  END IF;

  IF array_remove(o_expires, NULL) <> '{}' THEN
    INSERT INTO funds.pending_expiries (transfer_id, expires_at)
    SELECT u.id, u.e FROM unnest(t_id, o_expires, res) AS u(id, e, r)
     WHERE u.r = 'created' AND u.e IS NOT NULL;
  END IF;
  IF 'post' = ANY(t_kind) OR 'void' = ANY(t_kind) THEN
    DELETE FROM funds.pending_expiries
     WHERE transfer_id = ANY(ARRAY(SELECT u.pid FROM unnest(t_pending, t_kind, res)
                                                 AS u(pid, k, r)
                                   WHERE u.r = 'created' AND u.k IN ('post', 'void')));
  END IF;
  RETURN res;
END $fn$;
