-- 0008_usage_counters.sql
--
-- jsonb_merge_counters(base, delta): deep-merges two JSON objects, ADDING
-- numbers that appear at the same path. Used by the gateway's batch completer to
-- fold in-memory per-batch deltas into agents.model_usage_stats and
-- workflow_executions.models_used with one UPDATE per agent / execution:
--
--   UPDATE agents a
--      SET model_usage_stats = jsonb_merge_counters(a.model_usage_stats, d.value)
--     FROM jsonb_each($1::jsonb) d            -- {"<agent_id>": {"<model_id>": {...}}}
--    WHERE a.id = d.key::uuid;
--
-- Rules, applied recursively:
--   object + object -> union of keys, merged per key
--   number + number -> sum (exact: jsonb numbers are NUMERIC, so costs stay exact)
--   x + null / x + missing -> x   (a delta with unknown cost leaves the total alone;
--                                  count it in "unpriced_requests" instead)
--   anything else   -> the delta's value wins (e.g. "last_used_at")

CREATE FUNCTION jsonb_merge_counters(base jsonb, delta jsonb)
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE
PARALLEL SAFE
AS $$
DECLARE
    merged jsonb;
    k      text;
    v      jsonb;
    m      jsonb;
BEGIN
    IF delta IS NULL OR jsonb_typeof(delta) = 'null' THEN
        RETURN base;
    ELSIF base IS NULL OR jsonb_typeof(base) = 'null' THEN
        RETURN delta;
    ELSIF jsonb_typeof(base) = 'number' AND jsonb_typeof(delta) = 'number' THEN
        RETURN to_jsonb(base::numeric + delta::numeric);
    ELSIF jsonb_typeof(base) = 'object' AND jsonb_typeof(delta) = 'object' THEN
        merged := base;
        FOR k, v IN SELECT key, value FROM jsonb_each(delta) LOOP
            m := jsonb_merge_counters(base -> k, v);
            IF m IS NOT NULL THEN           -- null delta for a key the base lacks: skip
                merged := merged || jsonb_build_object(k, m);
            END IF;
        END LOOP;
        RETURN merged;
    ELSE
        RETURN delta;
    END IF;
END;
$$;

COMMENT ON FUNCTION jsonb_merge_counters(jsonb, jsonb) IS
    'Deep merge of two JSON objects adding numbers at equal paths; null/missing delta values keep the base. For model_usage_stats and models_used.';
