import Foundation
import Postgres
@testable import Storage
import Synchronization
import Testing
import TestSupport

/// Schema review §4.1–4.3: adopting a legacy `agents` table, bounded lock waits, and migrations
/// that must run outside a transaction.
@Suite struct MigratorSafetyTests {
    let migrations: [Migration]

    init() throws {
        migrations = try Migration.load(from: TestDatabase.migrationsDirectory)
    }

    @Test func legacyAgentsTableOfAnotherShapeIsRefusedBeforeAnythingIsApplied() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let pool = PostgresPool(configuration: configuration, maxConnections: 1)
            defer { pool.shutdown() }
            try await pool.execute("""
                CREATE TABLE agents (id serial PRIMARY KEY, name text NOT NULL, agent_type text,
                                     status text, created_at timestamp DEFAULT now())
                """)
            let error = await #expect(throws: MigrationError.self) {
                try await Migrator(pool: pool, migrations: migrations).migrate()
            }
            let message = error.map { "\($0)" } ?? ""
            #expect(message.contains("0001_agents"))
            #expect(message.contains("cannot be adopted"))
            #expect(message.contains("column id is integer, expected uuid"))
            #expect(message.contains("missing column skills (text[])"))
            #expect(message.contains("missing column preferred_model (text)"))
            #expect(message.contains("column created_at is timestamp without time zone, expected timestamptz"))
            let recorded = try await pool.query("SELECT count(*) FROM schema_migrations").rows[0].decode(at: 0, as: Int.self)
            #expect(recorded == 0)
            let llmJobs = try await pool.query("SELECT to_regclass('llm_providers') IS NULL").rows[0].decode(at: 0, as: Bool.self)
            #expect(llmJobs)
        }
    }

    @Test func legacyAgentsWithUnknownStatusOrNoUniqueIdAreRefused() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let pool = PostgresPool(configuration: configuration, maxConnections: 1)
            defer { pool.shutdown() }
            try await pool.execute("""
                CREATE TABLE agents (id uuid NOT NULL DEFAULT gen_random_uuid(), name varchar(200) NOT NULL,
                    agent_type text NOT NULL, description text, skills text[] NOT NULL DEFAULT '{}',
                    status text NOT NULL DEFAULT 'active', preferred_model text, temperature real,
                    max_tokens integer, created_at timestamptz NOT NULL DEFAULT now(),
                    updated_at timestamptz NOT NULL DEFAULT now())
                """)
            let noKey = await #expect(throws: MigrationError.self) {
                try await Migrator(pool: pool, migrations: migrations).migrate()
            }
            #expect("\(noKey.map { "\($0)" } ?? "")".contains("id is neither the primary key nor unique"))

            try await pool.execute("ALTER TABLE agents ADD PRIMARY KEY (id)")
            try await pool.execute("INSERT INTO agents (name, agent_type, status) VALUES ('old', 'x', 'paused'), ('new', 'x', 'active')")
            let badStatus = await #expect(throws: MigrationError.self) {
                try await Migrator(pool: pool, migrations: migrations).migrate()
            }
            #expect("\(badStatus.map { "\($0)" } ?? "")".contains("status values other than active, inactive, archived: paused"))

            // Fixed: the table (varchar name, real temperature, an extra column) is adopted.
            try await pool.execute("UPDATE agents SET status = 'inactive' WHERE status = 'paused'")
            try await pool.execute("ALTER TABLE agents ADD COLUMN owner_team text")
            try await Migrator(pool: pool, migrations: migrations).migrate()
            let configured = try await pool.query("SELECT count(*) FROM agents WHERE model_config ->> 'model_id' IS NOT NULL").rows[0].decode(at: 0, as: Int.self)
            #expect(configured == 2)
        }
    }

    @Test func lockWaitTimesOutAndIsRetriedUntilTheLockIsFree() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let pool = PostgresPool(configuration: configuration, maxConnections: 2)
            defer { pool.shutdown() }
            try await pool.execute("CREATE TABLE busy (id int)")
            let holder = try await PostgresConnection.connect(configuration)
            try await holder.query("BEGIN")
            try await holder.query("SELECT * FROM busy")  // ACCESS SHARE until the transaction ends

            let timeouts = AttemptLog()
            let released = AsyncSemaphore(permits: 0)
            var migrator = Migrator(
                pool: pool, migrations: [Migration(version: "0001_alter_busy", sql: "ALTER TABLE busy ADD COLUMN note text;")],
                lockTimeout: .milliseconds(100), lockAttempts: 50, retryDelay: .milliseconds(20))
            migrator.onLockTimeout = { _, attempt in
                timeouts.append(attempt)
                if attempt == 2 { released.release() }
            }
            // The permit is also given when migrate() ends, so a regression (no retry, no wait)
            // fails the expectations below instead of hanging on acquire().
            let migration = Task { [migrator] in
                defer { released.release() }
                return try await migrator.migrate()
            }
            await released.acquire()  // two attempts timed out while the lock was held
            try await holder.query("COMMIT")
            #expect(try await migration.value == ["0001_alter_busy"])
            #expect(timeouts.count >= 2)
            let column = try await pool.query("SELECT count(*) FROM information_schema.columns WHERE table_name = 'busy' AND column_name = 'note'").rows[0].decode(at: 0, as: Int.self)
            #expect(column == 1)
        }
    }

    @Test func lockWaitGivesUpAfterTheLastAttemptWithAClearError() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let pool = PostgresPool(configuration: configuration, maxConnections: 2)
            defer { pool.shutdown() }
            try await pool.execute("CREATE TABLE busy (id int)")
            let holder = try await PostgresConnection.connect(configuration)
            try await holder.query("BEGIN")
            try await holder.query("LOCK TABLE busy IN ACCESS SHARE MODE")
            let migrator = Migrator(
                pool: pool, migrations: [Migration(version: "0001_alter_busy", sql: "ALTER TABLE busy ADD COLUMN note text;")],
                lockTimeout: .milliseconds(50), lockAttempts: 3, retryDelay: .milliseconds(10))
            let error = await #expect(throws: MigrationError.self) { try await migrator.migrate() }
            let message = error.map { "\($0)" } ?? ""
            #expect(message.contains("0001_alter_busy"))
            #expect(message.contains("gave up after 3 attempts"))
            try await holder.query("ROLLBACK")
            let recorded = try await pool.query("SELECT count(*) FROM schema_migrations").rows[0].decode(at: 0, as: Int.self)
            #expect(recorded == 0)
        }
    }

    @Test func noTransactionMarkerRunsConcurrentIndexBuilds() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let pool = PostgresPool(configuration: configuration, maxConnections: 1)
            defer { pool.shutdown() }
            let table = Migration(version: "0001_table", sql: "CREATE TABLE events (id bigint, at timestamptz);")
            let concurrent = Migration(
                version: "0002_index", sql: "-- switchboard:no-transaction\nCREATE INDEX CONCURRENTLY events_at_idx ON events (at);\n")
            #expect(concurrent.runsOutsideTransaction)
            #expect(!table.runsOutsideTransaction)
            #expect(!Migration(version: "x", sql: "CREATE TABLE t (id int);\n-- switchboard:no-transaction\n").runsOutsideTransaction)

            // Without the marker PostgreSQL refuses, and nothing is recorded.
            let unmarked = Migration(version: "0002_index", sql: "CREATE INDEX CONCURRENTLY events_at_idx ON events (at);")
            let error = await #expect(throws: MigrationError.self) {
                try await Migrator(pool: pool, migrations: [table, unmarked]).migrate()
            }
            #expect("\(error.map { "\($0)" } ?? "")".contains("transaction block"))
            // The failed run released the migration lock and restored the session's settings.
            let advisory = try await pool.query("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()").rows[0].decode(at: 0, as: Int.self)
            #expect(advisory == 0)

            let configured = try await pool.query("SHOW lock_timeout").rows[0].decode(at: 0, as: String.self)
            #expect(try await Migrator(pool: pool, migrations: [table, concurrent]).migrate() == ["0002_index"])
            let valid = try await pool.query("""
                SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = 'events_at_idx'::regclass
                """).rows[0].decode(at: 0, as: Bool.self)
            #expect(valid)
            let versions = try await pool.query("SELECT version FROM schema_migrations ORDER BY version").rows.map { try $0.decode(at: 0, as: String.self) }
            #expect(versions == ["0001_table", "0002_index"])
            // The session's lock_timeout is back to the connection's own afterwards.
            let timeout = try await pool.query("SHOW lock_timeout").rows[0].decode(at: 0, as: String.self)
            #expect(timeout == configured)
            #expect(configured == "10s")  // PostgresConfiguration's default
        }
    }
}

/// Attempt numbers reported by `Migrator.onLockTimeout`.
final class AttemptLog: Sendable {
    private let attempts = Mutex<[Int]>([])

    func append(_ attempt: Int) { attempts.withLock { $0.append(attempt) } }
    var count: Int { attempts.withLock { $0.count } }
}
