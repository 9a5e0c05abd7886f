-- 0032_billed_unknown.sql
--
-- A call that timed out after its request was sent (issue 22, F4): providers
-- usually finish a non-streaming generation and bill it although the client
-- hung up, so the row's NULL tokens and cost mean "billed, amount unknown",
-- not "nothing spent". The gateway no longer retries such a call on the same
-- model (it moves to the next one). A constant default: no partition rewrite.

ALTER TABLE model_usage ADD COLUMN billed_unknown boolean NOT NULL DEFAULT false;

COMMENT ON COLUMN model_usage.billed_unknown IS
    'The call timed out after its request was sent: the provider probably billed it; tokens and cost are unknown.';
