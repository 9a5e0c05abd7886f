-- 0038_rate_limit_idempotent_replays.sql
--
-- The caps of 0036/0037 (a tenant's max_queued_jobs, a key's max_concurrent_jobs)
-- are checked by a BEFORE INSERT trigger, which runs before ON CONFLICT finds
-- that the row's idempotency key already names a job. A client retrying a
-- request that did create its job (after a timeout) was then refused with 429
-- while at the cap, instead of getting the existing job. Such a replay now
-- skips the caps: it adds no job.

CREATE OR REPLACE FUNCTION llm_jobs_admission() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    cap      integer;
    limit_id uuid;
    live     bigint;
BEGIN
    -- A replay of an idempotency key that already names a job creates nothing (the insert's
    -- ON CONFLICT answers the existing job): no cap applies to it.
    IF NEW.idempotency_key IS NOT NULL AND EXISTS (
           SELECT 1 FROM llm_jobs WHERE tenant_id = NEW.tenant_id AND idempotency_key = NEW.idempotency_key) THEN
        RETURN NEW;
    END IF;
    IF NEW.status = 'queued' THEN
        SELECT max_queued_jobs INTO cap FROM tenants WHERE id = NEW.tenant_id;
        IF cap IS NOT NULL THEN
            PERFORM 1 FROM tenants WHERE id = NEW.tenant_id FOR NO KEY UPDATE;
            SELECT count(*) INTO live FROM llm_jobs WHERE tenant_id = NEW.tenant_id AND status = 'queued';
            IF live >= cap THEN
                RAISE EXCEPTION 'the tenant already has % queued jobs (max_queued_jobs %)', live, cap
                    USING ERRCODE = 'SB429',
                          DETAIL = jsonb_build_object('limit', 'max_queued_jobs', 'value', cap, 'tenant_id', NEW.tenant_id)::text;
            END IF;
        END IF;
        IF NEW.api_key_id IS NOT NULL THEN
            SELECT l.id, l.max_concurrent_jobs INTO limit_id, cap
              FROM rate_limits l WHERE l.api_key_id = NEW.api_key_id AND l.max_concurrent_jobs IS NOT NULL;
            IF limit_id IS NOT NULL THEN
                PERFORM 1 FROM rate_limits WHERE id = limit_id FOR NO KEY UPDATE;
                SELECT count(*) INTO live FROM llm_jobs
                 WHERE api_key_id = NEW.api_key_id AND status IN ('queued', 'running');
                IF live >= cap THEN
                    RAISE EXCEPTION 'the key already has % queued or running jobs (max_concurrent_jobs %)', live, cap
                        USING ERRCODE = 'SB429',
                              DETAIL = jsonb_build_object('limit', 'max_concurrent_jobs', 'value', cap, 'rate_limit_id', limit_id)::text;
                END IF;
            END IF;
        END IF;
    END IF;
    RETURN NEW;
END;
$$;
