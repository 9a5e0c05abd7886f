-- The services' database role, and an audit trail they cannot rewrite (review finding P2-9,
-- issue 21).
--
-- Until now the migrator, the registry and the gateway all used one role, in compose the
-- postgres image's superuser: any SQL bug became `COPY ... TO PROGRAM`, and any writer could
-- UPDATE or DELETE config_changes. From here the role that runs `model-registry migrate` owns
-- the schema, and `serve` / `llm-gateway run` may log in as a NOSUPERUSER member of the
-- NOLOGIN group role switchboard_service, which gets DML on the tables and nothing else:
--
--   * SELECT, INSERT, UPDATE, DELETE on every table of this schema (and on the ones later
--     migrations create, through default privileges), sequences usable;
--   * on config_changes SELECT and INSERT only (its triggers insert as the writer): UPDATE,
--     DELETE and TRUNCATE are revoked from switchboard_service and from PUBLIC, so only the
--     owner can change the trail;
--   * on schema_migrations SELECT only (`/readyz` compares it with the files);
--   * no CREATE on the schema: the gateway's partition upkeep (create tomorrow's model_usage
--     partitions, drop expired ones) goes through two SECURITY DEFINER functions owned by the
--     migrating role, which accept model_usage_YYYYMMDD names only.
--
-- The login role itself: `model-registry migrate --service-role NAME` (creates or updates NAME
-- as LOGIN NOSUPERUSER, member of switchboard_service, password from
-- SWITCHBOARD_SERVICE_DB_PASSWORD), or by hand as in docs/operations.md.
--
-- Roles belong to the cluster: switchboard_service is created here only when the migrating user
-- may (superuser or CREATEROLE), as 0017 does for switchboard_dashboard; otherwise a NOTICE says
-- so and the grants wait until an administrator creates it and migrates a later file (or
-- re-runs the GRANTs below).

REVOKE UPDATE, DELETE, TRUNCATE ON config_changes FROM PUBLIC;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'switchboard_service') THEN
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user AND (rolsuper OR rolcreaterole)) THEN
            BEGIN
                CREATE ROLE switchboard_service NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- created meanwhile by a migration of another database on this cluster
            END;
        ELSE
            RAISE NOTICE 'switchboard_service: role absent and % may not create roles; skipping the service grants (docs/operations.md)', current_user;
        END IF;
    END IF;

    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'switchboard_service') THEN
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO switchboard_service', current_schema());
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO switchboard_service', current_schema());
        EXECUTE format('GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA %I TO switchboard_service', current_schema());
        EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO switchboard_service', current_schema());
        EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO switchboard_service', current_schema());
        REVOKE UPDATE, DELETE, TRUNCATE ON config_changes FROM switchboard_service;
        REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON schema_migrations FROM switchboard_service;
    END IF;
END
$$;

-- Partition upkeep without CREATE on the schema: both run as their owner (the migrating role),
-- with a fixed search_path so a caller cannot substitute objects.
CREATE FUNCTION model_usage_drop_partition(partition_name text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    IF partition_name IS NULL OR partition_name !~ '^model_usage_[0-9]{8}$' THEN
        RAISE EXCEPTION 'not a model_usage day partition: %', partition_name USING ERRCODE = '22023';
    END IF;
    IF to_regclass(partition_name) IS NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('DROP TABLE %I', partition_name);
    RETURN true;
END;
$$;

DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION model_usage_drop_partition(text) SET search_path = %I, pg_temp', current_schema());
    EXECUTE format('ALTER FUNCTION model_usage_ensure_partitions(integer) SECURITY DEFINER SET search_path = %I, pg_temp', current_schema());
    REVOKE EXECUTE ON FUNCTION model_usage_drop_partition(text) FROM PUBLIC;
    REVOKE EXECUTE ON FUNCTION model_usage_ensure_partitions(integer) FROM PUBLIC;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'switchboard_service') THEN
        GRANT EXECUTE ON FUNCTION model_usage_drop_partition(text), model_usage_ensure_partitions(integer) TO switchboard_service;
    END IF;
END
$$;
