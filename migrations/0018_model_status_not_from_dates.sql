-- 0018_model_status_not_from_dates.sql
--
-- llm_models.status is what an operator or the catalog source said, never a value
-- derived from the calendar. Until now 0011 (the seed) and the catalog importer
-- stored 'deprecated' for a LiteLLM model whose deprecation_date had passed on
-- the day they ran, so the same migrations gave different rows on different
-- days, and a row written last month kept a stale answer.
--
-- The rule now lives in one place, applied when a row is read: the effective
-- status is 'deprecated' once deprecation_date has passed (LLMModel.effectiveStatus
-- in Swift, ModelRepository's SQL filter with the same rule). This migration
-- turns the stored, date-derived 'deprecated' back into the 'active' the source
-- said, so that every database ends with the same rows whatever day it was
-- migrated on. What anyone sees is unchanged: each of these rows has a
-- deprecation_date that has passed, so it still reads as deprecated.
--
-- Only rows whose status came from a date are touched:
--   - source 'seed' or 'litellm' (never rows created through the API, 'manual');
--   - a deprecation_date is set (0011's own lifecycle rows, the PRD's retired and
--     deprecated models, carry no deprecation_date and keep their status);
--   - status was not edited locally (an operator's PATCH is in locally_edited_fields).
-- The audit trigger (0016) records each change, with token_kind 'migration' so
-- that an operator can tell it from a person's edit.

SELECT set_config('switchboard.token_kind', 'migration', true);

UPDATE llm_models
   SET status = 'active', updated_at = now()
 WHERE status = 'deprecated'
   AND deprecation_date IS NOT NULL
   AND source IN ('seed', 'litellm')
   AND NOT ('status' = ANY (locally_edited_fields));
