-- Refuses every change to an append-only table (its triggers call it on UPDATE, DELETE and
-- TRUNCATE).
CREATE OR REPLACE FUNCTION funds.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'funds.% is append-only (% refused)', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'restrict_violation';
END $$;
