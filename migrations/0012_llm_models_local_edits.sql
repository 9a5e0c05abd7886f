-- 0012_llm_models_local_edits.sql
--
-- Which fields of a catalog row were edited locally (through the registry API),
-- so that re-importing a catalog (model-registry import-catalog, POST
-- /api/models/import) keeps those edits.
--
--   locally_edited_fields: API field names (= column names), e.g.
--     {display_name, recommended_for, status}
--
-- The importer owns prices, limits and dates (input/output/cached_input cost,
-- context_window, max_output_tokens, deprecation_date): it updates them on every
-- import even when they were edited locally, because the catalog source is the
-- authority on what a provider charges and allows. Every other field the
-- importer writes (display_name, status, capabilities, supports_* flags,
-- successor_model_id, model_family) is left alone once it appears in this list.
-- Rows with source = 'manual' (created through the API) are never touched by an
-- import.
--
-- Adding a column with a constant default is a catalog-only change (no table
-- rewrite), so this is instant on a live database.

ALTER TABLE llm_models
    ADD COLUMN locally_edited_fields text[] NOT NULL DEFAULT '{}';

COMMENT ON COLUMN llm_models.locally_edited_fields IS
    'API field names edited locally; catalog imports keep these (except prices, limits and deprecation_date, which the import source owns).';
