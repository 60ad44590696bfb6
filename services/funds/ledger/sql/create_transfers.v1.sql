-- Two batches may name the same new id with different accounts: they lock different rows,
-- and the later INSERT fails on the primary key once the first commits. A deadlock between
-- such batches is possible too (each waits for the other's new id). Both are resolved by
-- running the batch again: by then the other batch has committed and is seen.
CREATE OR REPLACE FUNCTION funds.create_transfers(
  p_batch jsonb, p_actor text, p_now timestamptz, p_approved boolean DEFAULT false
) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
  attempt integer := 0;
BEGIN
  LOOP
    BEGIN
      RETURN funds.apply_transfers(p_batch, p_actor, p_now, p_approved);
    EXCEPTION WHEN unique_violation OR deadlock_detected THEN
      attempt := attempt + 1;
      IF attempt >= 3 THEN
        RAISE;
      END IF;
    END;
  END LOOP;
END $$;
