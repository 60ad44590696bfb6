-- Accounts are never deleted; their id, ledger and flags never change; posted totals only grow.
CREATE OR REPLACE FUNCTION funds.guard_account() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'funds.accounts: an account is never deleted'
      USING ERRCODE = 'restrict_violation';
  END IF;
  IF NEW.id <> OLD.id OR NEW.ledger <> OLD.ledger
     OR NEW.debits_must_not_exceed_credits <> OLD.debits_must_not_exceed_credits
     OR NEW.credits_must_not_exceed_debits <> OLD.credits_must_not_exceed_debits
     OR NEW.requires_approval <> OLD.requires_approval THEN
    RAISE EXCEPTION 'funds.accounts: the id, ledger and flags of an account never change'
      USING ERRCODE = 'restrict_violation';
  END IF;
  IF NEW.debits_posted < OLD.debits_posted OR NEW.credits_posted < OLD.credits_posted THEN
    RAISE EXCEPTION 'funds.accounts: posted totals only grow'
      USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN NEW;
END $$;
