-- 0030_usage_invalid.sql
--
-- A provider (any OpenAI-compatible base_url) can report token counts no
-- usage row can hold: negative, beyond int4, not whole. The adapters now keep
-- only counts in 0..2^31-1 and drop the rest (NULL, never a guess); this flag
-- says a row's NULL tokens and cost are not "not reported" but "reported and
-- refused", so the call was billed for an unknown amount. The completer also
-- sets it on the rows of an outcome the database refused and that it wrote
-- again without its token counts (job error code completion_rejected).
--
-- A constant default: adding the column rewrites no partition.

ALTER TABLE model_usage ADD COLUMN usage_invalid boolean NOT NULL DEFAULT false;

COMMENT ON COLUMN model_usage.usage_invalid IS
    'The provider reported token counts outside 0..2^31-1 (or the row was refused and written again without them): tokens and cost are NULL although the call was billed.';
