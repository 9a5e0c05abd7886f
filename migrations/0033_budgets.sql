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

-- A call budget_open_calls accepted, before its ledger row is written.
CREATE TYPE budget_call_hold AS (
    k integer, job_id bigint, attempt integer, provider text, model_id text, fallback_depth integer,
    amount numeric, budget_ids uuid[], period_starts timestamptz[], budget_decision text);

-- Reserve and record a batch of provider calls (the governed form of the worker's
-- ledger insert). p_calls: [{"k": n, "job_id", "attempt", "provider", "model_id",
-- "fallback_depth", "amount": "0.0123" | null (price unknown), "over_threshold_ok":
-- bool, "budget_decision": text|null}]. For each call in k order: if any
-- applicable budget refuses it (below), nothing is written and the row says which
-- budget; else the call's ledger row is written holding the amount against every
-- applicable budget. One row per call whose job exists.
--
-- Cost: the batch's budgets are locked and read once, the calls are decided in
-- memory (arrays), then one INSERT writes every accepted call's ledger row and one
-- UPDATE each budget period's reservation: the work per call is a few array
-- operations, not statements (a first version that ran 6 statements per call cost
-- 0.3 ms of Postgres CPU per call).
CREATE FUNCTION budget_open_calls(p_worker text, p_lease uuid, p_calls jsonb, p_at timestamptz DEFAULT NULL)
RETURNS TABLE (k integer, call_seq integer, reserved boolean, refused_by uuid, refusal text, on_exhausted text,
               remaining_usd numeric, period_end timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    v_at timestamptz := coalesce(p_at, now());
    -- The batch's budget periods, in lock order, and what this batch adds to each.
    b_id uuid[]; b_start timestamptz[]; b_end timestamptz[]; b_limit numeric[]; b_spent numeric[];
    b_reserved numeric[]; b_behaviour text[]; b_threshold numeric[]; b_added numeric[]; b_calls integer[];
    v_holds budget_call_hold[] := '{}';
    c record;
    j integer;
    v_best integer;
    v_rank integer;
    v_best_rank integer;
    v_reason text;
    v_left numeric;
    v_least numeric;
    v_ids uuid[];
    v_starts timestamptz[];
BEGIN
    -- The budgets that apply to any call of the batch (global, its job's tenant, key and
    -- agent), each in its current period: computed once per budget, not per call.
    SELECT array_agg(b.id ORDER BY b.id), array_agg(pb.period_start ORDER BY b.id), array_agg(pb.period_end ORDER BY b.id),
           array_agg(b.limit_usd ORDER BY b.id), array_agg(b.on_exhausted ORDER BY b.id),
           array_agg(b.downgrade_threshold ORDER BY b.id)
      INTO b_id, b_start, b_end, b_limit, b_behaviour, b_threshold
      FROM budgets b
     CROSS JOIN LATERAL budget_period_bounds(b.period, b.time_zone, v_at) pb
     WHERE b.id IN (SELECT x.id
                      FROM jsonb_array_elements(p_calls) e
                      JOIN llm_jobs lj ON lj.id = (e->>'job_id')::bigint
                     CROSS JOIN LATERAL budgets_for(lj.tenant_id, lj.api_key_id, lj.agent_id) x);

    IF b_id IS NOT NULL THEN
        -- Period rows exist, then are locked in one fixed order: no deadlock between batches.
        INSERT INTO budget_periods (budget_id, period_start, period_end)
        SELECT * FROM unnest(b_id, b_start, b_end)
        ON CONFLICT DO NOTHING;
        PERFORM 1 FROM budget_periods bp
         WHERE (bp.budget_id, bp.period_start) IN (SELECT * FROM unnest(b_id, b_start))
         ORDER BY bp.budget_id, bp.period_start
           FOR UPDATE;
        SELECT array_agg(bp.spent_usd ORDER BY d.n), array_agg(bp.reserved_usd ORDER BY d.n)
          INTO b_spent, b_reserved
          FROM unnest(b_id, b_start) WITH ORDINALITY AS d(budget_id, period_start, n)
          JOIN budget_periods bp ON bp.budget_id = d.budget_id AND bp.period_start = d.period_start;
        b_added := array_fill(0::numeric, ARRAY[cardinality(b_id)]);
        b_calls := array_fill(0, ARRAY[cardinality(b_id)]);
    END IF;

    FOR c IN SELECT i.k, i.job_id, i.attempt, i.provider, i.model_id, i.fallback_depth, i.amount, i.over_threshold_ok,
                    i.budget_decision,
                    -- The call's budgets, as positions in the b_ arrays (NULL: none applies).
                    CASE WHEN b_id IS NOT NULL THEN
                        (SELECT array_agg(array_position(b_id, x.id) ORDER BY x.id)
                           FROM budgets_for(lj.tenant_id, lj.api_key_id, lj.agent_id) x) END AS idx
               FROM (SELECT (e->>'k')::integer AS k, (e->>'job_id')::bigint AS job_id, (e->>'attempt')::integer AS attempt,
                            e->>'provider' AS provider, e->>'model_id' AS model_id,
                            coalesce((e->>'fallback_depth')::integer, 0) AS fallback_depth,
                            (e->>'amount')::numeric AS amount,
                            coalesce((e->>'over_threshold_ok')::boolean, false) AS over_threshold_ok,
                            e->>'budget_decision' AS budget_decision
                       FROM jsonb_array_elements(p_calls) e) i
               -- A job whose row is gone: nothing to record against (no row returned).
               JOIN llm_jobs lj ON lj.id = i.job_id
              ORDER BY i.k
    LOOP
        -- The budget that refuses, if any, most final reason first: price unknown; exhausted (the
        -- call would not fit even if every other call in flight cost nothing); busy (it fits what
        -- is spent, not what is reserved: calls in flight may leave room, so the worker waits for
        -- them to settle rather than fail a job the budget may still pay); a downgrade budget's
        -- threshold. The tightest budget first.
        v_best := NULL;
        v_best_rank := 5;
        v_least := NULL;
        IF c.idx IS NOT NULL THEN
            FOREACH j IN ARRAY c.idx LOOP
                v_left := b_limit[j] - b_spent[j] - b_reserved[j] - b_added[j];
                v_least := least(coalesce(v_least, v_left), v_left);
                v_rank := CASE WHEN c.amount IS NULL THEN 1
                               WHEN b_spent[j] + c.amount > b_limit[j] THEN 2
                               WHEN c.amount > v_left THEN 3
                               WHEN b_behaviour[j] = 'downgrade' AND b_threshold[j] IS NOT NULL AND NOT c.over_threshold_ok
                                    AND b_limit[j] - v_left + c.amount > b_limit[j] * b_threshold[j] THEN 4
                               ELSE 5 END;
                IF v_rank < v_best_rank
                   OR (v_rank = v_best_rank AND v_rank < 5
                       AND v_left < b_limit[v_best] - b_spent[v_best] - b_reserved[v_best] - b_added[v_best]) THEN
                    v_best := j;
                    v_best_rank := v_rank;
                END IF;
            END LOOP;
        END IF;

        IF v_best_rank < 5 THEN
            k := c.k; call_seq := NULL; reserved := false; refused_by := b_id[v_best];
            refusal := (ARRAY['price_unknown', 'exhausted', 'busy', 'threshold'])[v_best_rank];
            on_exhausted := b_behaviour[v_best]; remaining_usd := greatest(v_least, 0);
            period_end := b_end[v_best];
            RETURN NEXT;
            CONTINUE;
        END IF;

        v_ids := NULL;
        v_starts := NULL;
        IF c.idx IS NOT NULL THEN
            FOREACH j IN ARRAY c.idx LOOP
                b_added[j] := b_added[j] + c.amount;
                b_calls[j] := b_calls[j] + 1;
                v_ids := array_append(v_ids, b_id[j]);
                v_starts := array_append(v_starts, b_start[j]);
            END LOOP;
        END IF;
        v_holds := array_append(v_holds, ROW(c.k, c.job_id, c.attempt, c.provider, c.model_id, c.fallback_depth,
                                             CASE WHEN v_ids IS NULL THEN NULL ELSE c.amount END, v_ids, v_starts,
                                             c.budget_decision)::budget_call_hold);
    END LOOP;

    IF b_id IS NOT NULL THEN
        UPDATE budget_periods bp
           SET reserved_usd = bp.reserved_usd + d.added, requests = bp.requests + d.calls, updated_at = v_at
          FROM unnest(b_id, b_start, b_added, b_calls) AS d(budget_id, period_start, added, calls)
         WHERE bp.budget_id = d.budget_id AND bp.period_start = d.period_start AND d.calls > 0;
    END IF;

    RETURN QUERY
    WITH written AS (
        INSERT INTO llm_job_calls AS lc (job_id, attempt, call_seq, worker_id, lease_token, provider, model_id,
                                         fallback_depth, reserved_usd, hold_budget_ids, hold_period_starts, budget_decision)
        SELECT h.job_id, h.attempt,
               coalesce((SELECT max(x.call_seq) FROM llm_job_calls x WHERE x.job_id = h.job_id AND x.attempt = h.attempt), 0) + 1,
               p_worker, p_lease, h.provider, h.model_id, h.fallback_depth, h.amount, h.budget_ids, h.period_starts,
               h.budget_decision
          FROM unnest(v_holds) h
         ORDER BY h.job_id, h.attempt
        RETURNING lc.job_id, lc.attempt, lc.call_seq, lc.reserved_usd IS NOT NULL AS reserved)
    SELECT h.k, w.call_seq, w.reserved, NULL::uuid, NULL::text, NULL::text, NULL::numeric, NULL::timestamptz
      FROM written w JOIN unnest(v_holds) h ON h.job_id = w.job_id AND h.attempt = w.attempt;
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
