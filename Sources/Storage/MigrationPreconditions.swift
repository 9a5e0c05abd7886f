import Postgres

/// Checks run in a migration's transaction before its file, for what the file's SQL cannot check
/// itself without being edited (applied files are checksummed and never change).
enum MigrationPreconditions {
    static func check(before version: String, on connection: PostgresConnection) async throws {
        if version == "0001_agents" { try await checkAdoptedAgents(on: connection) }
    }

    /// 0001 adopts an existing `agents` table (`CREATE TABLE IF NOT EXISTS`), whatever its shape.
    /// A table that is not the pre-Switchboard shape would pass 0001 and 0002–0005 and then break
    /// 0006 (the foreign key's type) or the API's decoding, leaving a half-migrated database. So
    /// before 0001, an existing `agents` must have every column Switchboard reads, with a
    /// compatible type, a unique `id`, and status values the API knows; otherwise nothing is
    /// applied and the error lists every difference.
    static func checkAdoptedAgents(on connection: PostgresConnection) async throws {
        let exists: Bool = try await connection.query(
            "SELECT to_regclass('agents') IS NOT NULL").rows.first?.decode(at: 0) ?? false
        guard exists else { return }
        let rows = try await connection.query("""
            WITH required(column_name, accepted, expected) AS (VALUES
                ('id',              ARRAY['uuid'],                                  'uuid'),
                ('name',            ARRAY['text', 'character varying'],             'text'),
                ('agent_type',      ARRAY['text', 'character varying'],             'text'),
                ('description',     ARRAY['text', 'character varying'],             'text'),
                ('skills',          ARRAY['text[]', 'character varying[]'],         'text[]'),
                ('status',          ARRAY['text', 'character varying'],             'text'),
                ('preferred_model', ARRAY['text', 'character varying'],             'text'),
                ('temperature',     ARRAY['double precision', 'real', 'numeric'],   'double precision'),
                ('max_tokens',      ARRAY['integer', 'smallint', 'bigint'],         'integer'),
                ('created_at',      ARRAY['timestamp with time zone'],              'timestamptz'),
                ('updated_at',      ARRAY['timestamp with time zone'],              'timestamptz')),
            actual AS (
                SELECT a.attname::text AS column_name, format_type(a.atttypid, NULL) AS type_name
                  FROM pg_attribute a
                 WHERE a.attrelid = 'agents'::regclass AND a.attnum > 0 AND NOT a.attisdropped)
            SELECT CASE WHEN a.column_name IS NULL THEN 'missing column ' || r.column_name || ' (' || r.expected || ')'
                        ELSE 'column ' || r.column_name || ' is ' || a.type_name || ', expected ' || r.expected END
              FROM required r LEFT JOIN actual a USING (column_name)
             WHERE a.column_name IS NULL OR NOT (a.type_name = ANY (r.accepted))
            UNION ALL
            SELECT 'id is neither the primary key nor unique (llm_jobs.agent_id references it)'
             WHERE EXISTS (SELECT 1 FROM actual WHERE column_name = 'id' AND type_name = 'uuid')
               AND NOT EXISTS (
                   SELECT 1 FROM pg_index i
                    WHERE i.indrelid = 'agents'::regclass AND i.indisunique AND i.indpred IS NULL
                      AND i.indnkeyatts = 1
                      AND i.indkey[0] = (SELECT attnum FROM pg_attribute
                                          WHERE attrelid = 'agents'::regclass AND attname = 'id'))
            """).rows
        var problems: [String] = try rows.map { try $0.decode(at: 0) }
        if problems.isEmpty {
            // Only once the columns are right: values the API's status enum cannot decode.
            let statuses: [String] = try await connection.query("""
                SELECT DISTINCT coalesce(status::text, 'NULL') FROM agents
                 WHERE status IS NULL OR status::text NOT IN ('active', 'inactive', 'archived')
                 ORDER BY 1 LIMIT 10
                """).rows.map { try $0.decode(at: 0) }
            if !statuses.isEmpty {
                problems.append("status values other than active, inactive, archived: " + statuses.joined(separator: ", "))
            }
        }
        guard problems.isEmpty else {
            throw PostgresError(
                kind: .server, sqlState: "42P16",
                message: "the existing table agents cannot be adopted: " + problems.joined(separator: "; ")
                    + ". Switchboard adopts the pre-Switchboard agents table (migrations/0001_agents.sql); "
                    + "fix or rename the table, then migrate again (nothing was applied)")
        }
    }
}
