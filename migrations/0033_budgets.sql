-- 0033_budgets.sql
--
-- Budgets that hold under concurrency (issue 23): a limit in USD on a tenant, an
-- API key, an agent or everything, per day / week / month (in UTC or a named
-- time zone) or for the whole lifetime.
--
-- Reservation, not check-then-record: before each provider call the worker
-- reserves that call's *maximum* possible cost (input bound + max_tokens at list
-- price) against every budget that applies to the job, in ONE call of
-- budget_open_calls(), which locks the budgets' period rows in a fixed order
-- (budget_id) and writes the attempt ledger's row (0031) in the same statement:
-- the hold IS the ledger row (llm_job_calls.reserved_usd and the budgets and
-- periods it holds against), so a retry, a replayed completion or a stale
-- completion can never count a call twice. Every limit holds exactly, for any
-- number of workers and registries, because the check and the reservation
-- happen under the period rows' locks.
--
-- Settlement: when a call is settled (the completion, or the rescuer's
-- 'unknown'), budget_settle_calls() moves its reservation to spent: the exact
-- cost when known, 0 for a call that failed before being billed, and the whole
-- reservation when the outcome is unknown (timeout after send, crash, lost
-- lease) until a later completion reconciles it. It too locks periods in
-- (budget_id, period_start) order, after the ledger rows, so no lock cycle with
-- the reservation (periods, then new ledger rows) exists.
--
-- Invariant (tested with 64 concurrent sessions): spent + reserved <= limit for
-- every period, except by what a provider bills beyond the bound it was sent
-- (an answer longer than max_tokens), which the worker logs.

ALTER TABLE llm_jobs ADD COLUMN api_key_id uuid;
COMMENT ON COLUMN llm_jobs.api_key_id IS
    'api_keys.id of the key that enqueued the job (NULL: an environment token, the open mode or SQL); its api_key budgets and limits apply.';

CREATE TABLE budgets (
    id                  uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    -- The tenant that owns the budget (NULL for a global one); for a tenant
    -- budget it equals scope_id.
    tenant_id           uuid        REFERENCES tenants (id) ON DELETE CASCADE,
    scope               text        NOT NULL CONSTRAINT budgets_scope_check
                                    CHECK (scope IN ('global', 'tenant', 'api_key', 'agent')),
    scope_id            uuid,
    name                text        NOT NULL DEFAULT '' CHECK (length(name) <= 200),
    period              text        NOT NULL CONSTRAINT budgets_period_check
                                    CHECK (period IN ('day', 'week', 'month', 'lifetime')),
    time_zone           text        NOT NULL DEFAULT 'UTC',
    limit_usd           numeric     NOT NULL CONSTRAINT budgets_limit_check CHECK (limit_usd >= 0),
    on_exhausted        text        NOT NULL DEFAULT 'fail' CONSTRAINT budgets_on_exhausted_check
                                    CHECK (on_exhausted IN ('fail', 'defer', 'downgrade')),
    -- downgrade: from this share of the limit on, calls move to the cheapest
    -- model of the chain that fits (NULL: only when the next call would not fit).
    downgrade_threshold numeric     CONSTRAINT budgets_downgrade_threshold_check
                                    CHECK (downgrade_threshold > 0 AND downgrade_threshold <= 1),
    alert_thresholds    numeric[]   NOT NULL DEFAULT '{0.5,0.8,1.0}',
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT budgets_scope_id_check CHECK ((scope = 'global') = (scope_id IS NULL)),
    CONSTRAINT budgets_tenant_check CHECK ((scope = 'global') = (tenant_id IS NULL))
);

CREATE INDEX budgets_scope_idx ON budgets (scope, scope_id);
CREATE INDEX budgets_tenant_idx ON budgets (tenant_id);

COMMENT ON TABLE budgets IS
    'Spend limits in USD per tenant, API key, agent or globally, per period; enforced by reservation before every provider call (budget_open_calls).';

-- One row per budget and period: what is spent and what is reserved by calls in flight.
CREATE TABLE budget_periods (
    budget_id    uuid        NOT NULL REFERENCES budgets (id) ON DELETE CASCADE,
    period_start timestamptz NOT NULL,
    period_end   timestamptz NOT NULL,
    spent_usd    numeric     NOT NULL DEFAULT 0,
    reserved_usd numeric     NOT NULL DEFAULT 0 CONSTRAINT budget_periods_reserved_check CHECK (reserved_usd >= 0),
    requests     bigint      NOT NULL DEFAULT 0,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (budget_id, period_start)
);

ALTER TABLE budget_periods SET (autovacuum_vacuum_scale_factor = 0.05, autovacuum_vacuum_cost_delay = 0, fillfactor = 50);

COMMENT ON TABLE budget_periods IS
    'Spent and reserved USD of each budget per period. spent = settled calls (exact cost; the reservation while the outcome is unknown); reserved = calls in flight at their maximum cost.';

-- Alerts: each threshold of each budget fires once per period.
CREATE TABLE budget_alerts (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    budget_id     uuid        NOT NULL REFERENCES budgets (id) ON DELETE CASCADE,
    period_start  timestamptz NOT NULL,
    threshold     numeric     NOT NULL,
    spent_usd     numeric     NOT NULL,
    limit_usd     numeric     NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    -- Webhook delivery (NULL while pending; attempts and the next try while it fails).
    delivered_at  timestamptz,
    attempts      integer     NOT NULL DEFAULT 0,
    next_try_at   timestamptz NOT NULL DEFAULT now(),
    last_error    text,
    UNIQUE (budget_id, period_start, threshold)
);

CREATE INDEX budget_alerts_pending_idx ON budget_alerts (next_try_at) WHERE delivered_at IS NULL;

COMMENT ON TABLE budget_alerts IS
    'A budget''s spend crossed one of its alert thresholds (once per period); NOTIFY budget_alerts tells listeners, the registry delivers it to SWITCHBOARD_ALERT_WEBHOOK_URL.';

-- The hold: the ledger row carries its reservation.
ALTER TABLE llm_job_calls ADD COLUMN reserved_usd numeric;
ALTER TABLE llm_job_calls ADD COLUMN hold_budget_ids uuid[];
ALTER TABLE llm_job_calls ADD COLUMN hold_period_starts timestamptz[];
-- What the call costs against its budgets once settled (NULL: not yet known; the
-- settlement then charges the reservation), and what has been charged so far.
ALTER TABLE llm_job_calls ADD COLUMN cost_usd numeric;
ALTER TABLE llm_job_calls ADD COLUMN charged_usd numeric;
-- 'downgrade': the call runs on a cheaper model than the chain's first because of a budget.
ALTER TABLE llm_job_calls ADD COLUMN budget_decision text;
COMMENT ON COLUMN llm_job_calls.reserved_usd IS
    'Maximum cost of the call reserved against hold_budget_ids (periods hold_period_starts) before it was sent; NULL: no budget applied.';
COMMENT ON COLUMN llm_job_calls.charged_usd IS
    'What budget_settle_calls has moved from reserved to spent for this call (NULL: still reserved).';

ALTER TABLE model_usage ADD COLUMN budget_decision text;
COMMENT ON COLUMN model_usage.budget_decision IS
    '''downgrade'': a budget moved the call to a cheaper model of the agent''s chain.';

-- The period a budget is in at `at`: calendar day / ISO week (Monday) / month in
-- the budget's time zone, or the whole lifetime.
CREATE FUNCTION budget_period_bounds(p_period text, p_time_zone text, p_at timestamptz,
                                     OUT period_start timestamptz, OUT period_end timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p_period = 'lifetime' THEN '-infinity'::timestamptz
                ELSE date_trunc(p_period, p_at AT TIME ZONE p_time_zone) AT TIME ZONE p_time_zone END,
           CASE WHEN p_period = 'lifetime' THEN 'infinity'::timestamptz
                ELSE (date_trunc(p_period, p_at AT TIME ZONE p_time_zone) + ('1 ' || p_period)::interval)
                     AT TIME ZONE p_time_zone END
$$;

-- The budgets that apply to a job: global ones, its tenant's, its key's and its agent's.
CREATE FUNCTION budgets_for(p_tenant uuid, p_api_key uuid, p_agent uuid)
RETURNS SETOF budgets LANGUAGE sql STABLE AS $$
    SELECT * FROM budgets WHERE scope = 'global'
    UNION ALL SELECT * FROM budgets WHERE scope = 'tenant' AND scope_id = p_tenant
    UNION ALL SELECT * FROM budgets WHERE scope = 'api_key' AND scope_id = p_api_key
    UNION ALL SELECT * FROM budgets WHERE scope = 'agent' AND scope_id = p_agent
$$;

-- One applicable budget of one call in a batch (budget_open_calls' plan).
CREATE TYPE budget_call_plan AS (
    k integer, budget_id uuid, period_start timestamptz, period_end timestamptz,
    limit_usd numeric, on_exhausted text, downgrade_threshold numeric);

-- Reserve and record a batch of provider calls (the governed form of the worker's
-- ledger insert). p_calls: [{"k": n, "job_id", "attempt", "provider", "model_id",
-- "fallback_depth", "amount": "0.0123" | null (price unknown), "over_threshold_ok":
-- bool, "budget_decision": text|null}]. For each call in k order: if any
-- applicable budget would go over its limit (or, for a downgrade budget, over its
-- threshold unless over_threshold_ok), nothing is written and the row says which
-- budget refused; else the ledger row is written holding the amount against every
-- applicable budget. One row per call whose job exists.
CREATE FUNCTION budget_open_calls(p_worker text, p_lease uuid, p_calls jsonb, p_at timestamptz DEFAULT NULL)
RETURNS TABLE (k integer, call_seq integer, reserved boolean, refused_by uuid, refusal text, on_exhausted text,
               remaining_usd numeric, period_end timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    v_at timestamptz := coalesce(p_at, now());
    v_plan budget_call_plan[];
    c record;
    v_budgets uuid[];
    v_starts timestamptz[];
    v_refusal record;
    v_remaining numeric;
    v_seq integer;
BEGIN
    -- Every call's applicable budgets (global, its job's tenant, key and agent) in their current periods.
    SELECT array_agg(ROW((i->>'k')::integer, b.id, pb.period_start, pb.period_end, b.limit_usd, b.on_exhausted,
                         b.downgrade_threshold)::budget_call_plan)
      INTO v_plan
      FROM jsonb_array_elements(p_calls) i
      JOIN llm_jobs j ON j.id = (i->>'job_id')::bigint
     CROSS JOIN LATERAL budgets_for(j.tenant_id, j.api_key_id, j.agent_id) b
     CROSS JOIN LATERAL budget_period_bounds(b.period, b.time_zone, v_at) pb;

    IF v_plan IS NOT NULL THEN
        -- Period rows exist, then are locked in one fixed order: no deadlock between batches.
        INSERT INTO budget_periods (budget_id, period_start, period_end)
        SELECT DISTINCT p.budget_id, p.period_start, p.period_end FROM unnest(v_plan) p
         ORDER BY 1, 2
        ON CONFLICT DO NOTHING;
        PERFORM 1 FROM budget_periods bp
         WHERE (bp.budget_id, bp.period_start) IN (SELECT p.budget_id, p.period_start FROM unnest(v_plan) p)
         ORDER BY bp.budget_id, bp.period_start
           FOR UPDATE;
    END IF;

    FOR c IN SELECT (i->>'k')::integer AS k, (i->>'job_id')::bigint AS job_id, (i->>'attempt')::integer AS attempt,
                    i->>'provider' AS provider, i->>'model_id' AS model_id,
                    coalesce((i->>'fallback_depth')::integer, 0) AS fallback_depth,
                    (i->>'amount')::numeric AS amount,
                    coalesce((i->>'over_threshold_ok')::boolean, false) AS over_threshold_ok,
                    i->>'budget_decision' AS budget_decision
               FROM jsonb_array_elements(p_calls) i
              ORDER BY (i->>'k')::integer
    LOOP
        IF NOT EXISTS (SELECT 1 FROM llm_jobs j WHERE j.id = c.job_id) THEN
            CONTINUE;  -- the job row is gone: nothing to record against (no row returned)
        END IF;
        v_budgets := NULL;
        v_starts := NULL;
        IF v_plan IS NOT NULL THEN
            SELECT array_agg(p.budget_id ORDER BY p.budget_id), array_agg(p.period_start ORDER BY p.budget_id)
              INTO v_budgets, v_starts
              FROM unnest(v_plan) p WHERE p.k = c.k;
        END IF;

        IF v_budgets IS NOT NULL THEN
            -- The budget that refuses, if any, most final reason first: price unknown; exhausted
            -- (the call would not fit even if every other call in flight cost nothing); busy (it
            -- fits what is spent, not what is reserved: calls in flight may leave room, so the
            -- worker waits for them to settle rather than fail a job the budget may still pay);
            -- a downgrade budget's threshold. The tightest budget first.
            SELECT r.budget_id, r.on_exhausted, r.period_end, r.refusal
              INTO v_refusal
              FROM (SELECT p.budget_id, p.on_exhausted, p.period_end, p.limit_usd - bp.spent_usd - bp.reserved_usd AS left_usd,
                           CASE WHEN c.amount IS NULL THEN 'price_unknown'
                                WHEN bp.spent_usd + c.amount > p.limit_usd THEN 'exhausted'
                                WHEN bp.spent_usd + bp.reserved_usd + c.amount > p.limit_usd THEN 'busy'
                                WHEN p.on_exhausted = 'downgrade' AND p.downgrade_threshold IS NOT NULL AND NOT c.over_threshold_ok
                                     AND bp.spent_usd + bp.reserved_usd + c.amount > p.limit_usd * p.downgrade_threshold
                                THEN 'threshold' END AS refusal
                      FROM unnest(v_plan) p
                      JOIN budget_periods bp ON bp.budget_id = p.budget_id AND bp.period_start = p.period_start
                     WHERE p.k = c.k) r
             WHERE r.refusal IS NOT NULL
             ORDER BY array_position(ARRAY['price_unknown', 'exhausted', 'busy', 'threshold'], r.refusal), r.left_usd, r.budget_id
             LIMIT 1;
            IF FOUND THEN
                -- The least any of the call's budgets has left: what a cheaper model must fit in.
                SELECT min(p.limit_usd - bp.spent_usd - bp.reserved_usd) INTO v_remaining
                  FROM unnest(v_plan) p
                  JOIN budget_periods bp ON bp.budget_id = p.budget_id AND bp.period_start = p.period_start
                 WHERE p.k = c.k;
                k := c.k; call_seq := NULL; reserved := false; refused_by := v_refusal.budget_id; refusal := v_refusal.refusal;
                on_exhausted := v_refusal.on_exhausted; remaining_usd := greatest(v_remaining, 0);
                period_end := v_refusal.period_end;
                RETURN NEXT;
                CONTINUE;
            END IF;
        END IF;

        INSERT INTO llm_job_calls AS lc (job_id, attempt, call_seq, worker_id, lease_token, provider, model_id,
                                         fallback_depth, reserved_usd, hold_budget_ids, hold_period_starts, budget_decision)
        VALUES (c.job_id, c.attempt,
                coalesce((SELECT max(x.call_seq) FROM llm_job_calls x WHERE x.job_id = c.job_id AND x.attempt = c.attempt), 0) + 1,
                p_worker, p_lease, c.provider, c.model_id, c.fallback_depth,
                CASE WHEN v_budgets IS NULL THEN NULL ELSE c.amount END, v_budgets, v_starts, c.budget_decision)
        RETURNING lc.call_seq INTO v_seq;
        IF v_budgets IS NOT NULL THEN
            UPDATE budget_periods bp
               SET reserved_usd = bp.reserved_usd + c.amount, requests = bp.requests + 1, updated_at = v_at
              FROM unnest(v_budgets, v_starts) AS h(budget_id, period_start)
             WHERE bp.budget_id = h.budget_id AND bp.period_start = h.period_start;
        END IF;
        k := c.k; call_seq := v_seq; reserved := v_budgets IS NOT NULL; refused_by := NULL; refusal := NULL; on_exhausted := NULL;
        remaining_usd := NULL; period_end := NULL;
        RETURN NEXT;
    END LOOP;
END
$$;

-- Settle the budget side of calls already settled in the ledger (same transaction):
-- each governed call of these attempts whose charge differs from what its outcome
-- says moves reserved -> spent: cost_usd when known, else the reservation (outcome
-- unknown, or no usable cost). Idempotent: a second call charges nothing. Records
-- each alert threshold reached, once per budget and period, and NOTIFYs
-- budget_alerts. Returns the number of budget periods changed.
CREATE FUNCTION budget_settle_calls(p_job_ids bigint[], p_attempts integer[])
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    v_ids uuid[];
    v_starts timestamptz[];
    v_spent numeric[];
    v_reserved numeric[];
    v_alerts integer;
BEGIN
    WITH calls AS (
        SELECT lc.job_id, lc.attempt, lc.call_seq, lc.reserved_usd, lc.charged_usd,
               lc.hold_budget_ids, lc.hold_period_starts,
               CASE WHEN lc.outcome = 'unknown' OR lc.cost_usd IS NULL THEN lc.reserved_usd ELSE lc.cost_usd END AS target
          FROM llm_job_calls lc
          JOIN unnest(p_job_ids, p_attempts) AS a(job_id, attempt) ON a.job_id = lc.job_id AND a.attempt = lc.attempt
         WHERE lc.reserved_usd IS NOT NULL AND lc.settled_at IS NOT NULL
         ORDER BY lc.job_id, lc.attempt, lc.call_seq
           FOR UPDATE OF lc
    ), changed AS (
        UPDATE llm_job_calls lc SET charged_usd = c.target
          FROM calls c
         WHERE lc.job_id = c.job_id AND lc.attempt = c.attempt AND lc.call_seq = c.call_seq
           AND lc.charged_usd IS DISTINCT FROM c.target
        RETURNING c.*
    ), deltas AS (
        SELECT h.budget_id, h.period_start,
               sum(c.target - coalesce(c.charged_usd, 0)) AS spent,
               sum(CASE WHEN c.charged_usd IS NULL THEN c.reserved_usd ELSE 0 END) AS reserved
          FROM changed c
         CROSS JOIN LATERAL unnest(c.hold_budget_ids, c.hold_period_starts) AS h(budget_id, period_start)
         GROUP BY h.budget_id, h.period_start
    )
    SELECT array_agg(budget_id ORDER BY budget_id, period_start), array_agg(period_start ORDER BY budget_id, period_start),
           array_agg(spent ORDER BY budget_id, period_start), array_agg(reserved ORDER BY budget_id, period_start)
      INTO v_ids, v_starts, v_spent, v_reserved
      FROM deltas;
    IF v_ids IS NULL THEN
        RETURN 0;
    END IF;

    PERFORM 1 FROM budget_periods bp
     WHERE (bp.budget_id, bp.period_start) IN (SELECT * FROM unnest(v_ids, v_starts))
     ORDER BY bp.budget_id, bp.period_start
       FOR UPDATE;
    UPDATE budget_periods bp
       SET spent_usd = bp.spent_usd + d.spent, reserved_usd = greatest(bp.reserved_usd - d.reserved, 0), updated_at = now()
      FROM unnest(v_ids, v_starts, v_spent, v_reserved) AS d(budget_id, period_start, spent, reserved)
     WHERE bp.budget_id = d.budget_id AND bp.period_start = d.period_start;

    -- Alerts: every threshold now reached, once per budget and period.
    INSERT INTO budget_alerts (budget_id, period_start, threshold, spent_usd, limit_usd)
    SELECT b.id, bp.period_start, t.threshold, bp.spent_usd, b.limit_usd
      FROM unnest(v_ids, v_starts, v_spent) AS d(budget_id, period_start, spent)
      JOIN budget_periods bp ON bp.budget_id = d.budget_id AND bp.period_start = d.period_start
      JOIN budgets b ON b.id = d.budget_id
     CROSS JOIN LATERAL unnest(b.alert_thresholds) AS t(threshold)
     WHERE d.spent > 0 AND bp.spent_usd >= b.limit_usd * t.threshold
     ORDER BY b.id, t.threshold
    ON CONFLICT (budget_id, period_start, threshold) DO NOTHING;
    GET DIAGNOSTICS v_alerts = ROW_COUNT;
    IF v_alerts > 0 THEN
        PERFORM pg_notify('budget_alerts', v_alerts::text);
    END IF;
    RETURN cardinality(v_ids);
END
$$;

-- Config changes of budgets reach the workers' caches (0010's channel), so they
-- know whether any budget exists (the governed path) within milliseconds.
CREATE TRIGGER budgets_notify_config
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON budgets
    FOR EACH STATEMENT EXECUTE FUNCTION notify_config_statement();

-- What a dashboard reads: each budget's current period.
CREATE VIEW budget_status AS
SELECT b.id AS budget_id, b.tenant_id, b.scope, b.scope_id, b.name, b.period, b.time_zone, b.limit_usd,
       b.on_exhausted, pb.period_start, pb.period_end,
       coalesce(bp.spent_usd, 0) AS spent_usd, coalesce(bp.reserved_usd, 0) AS reserved_usd,
       greatest(b.limit_usd - coalesce(bp.spent_usd, 0) - coalesce(bp.reserved_usd, 0), 0) AS remaining_usd,
       coalesce(bp.requests, 0) AS requests
  FROM budgets b
 CROSS JOIN LATERAL budget_period_bounds(b.period, b.time_zone, now()) pb
  LEFT JOIN budget_periods bp ON bp.budget_id = b.id AND bp.period_start = pb.period_start;

COMMENT ON VIEW budget_status IS 'Each budget in its current period: limit, spent, reserved (calls in flight) and remaining USD.';

-- The audit trail (0016/0019): who created, changed or deleted a budget.
ALTER TABLE config_changes DROP CONSTRAINT config_changes_entity_check;
ALTER TABLE config_changes ADD CONSTRAINT config_changes_entity_check
    CHECK (entity IN ('model', 'provider', 'agent', 'tenant', 'api_key', 'budget'));

CREATE TRIGGER budgets_config_changes
    AFTER INSERT OR UPDATE OR DELETE ON budgets
    FOR EACH ROW EXECUTE FUNCTION record_config_change('budget', 'id');
