import Foundation
import Logging
import Postgres
import Support

/// Applies pending migrations in order, each in its own transaction, under one advisory lock so
/// that any number of processes starting at once apply each file exactly once.
///
/// Lock waits are bounded: each migration runs with `lock_timeout` (default 5 s), so one that needs
/// a lock held by a long transaction (an `ALTER TABLE agents` behind the legacy system's report)
/// gives up instead of queueing every other reader of that table behind it, and is retried with
/// backoff. A file whose first line is `-- switchboard:no-transaction` runs outside a transaction
/// (`CREATE INDEX CONCURRENTLY`, `ALTER SYSTEM`, `VACUUM`): one statement per such file.
public struct Migrator: Sendable {
    /// Arbitrary but fixed: every Switchboard process takes this same advisory lock to migrate.
    static let advisoryLockKey = 7_310_455_020_251_128

    public let pool: PostgresPool
    public let migrations: [Migration]
    private let logger: Logger
    /// How long a migration's statement waits for a lock before the attempt is abandoned.
    public var lockTimeout: Duration
    /// Attempts per migration when a lock wait times out (then the migration fails).
    public var lockAttempts: Int
    /// Wait after the first timed-out attempt; doubled per attempt, at most 30 s.
    public var retryDelay: Duration
    /// Told the version and attempt number after each lock timeout (logging; tests).
    var onLockTimeout: (@Sendable (String, Int) -> Void)?

    public init(
        pool: PostgresPool, migrations: [Migration], logger: Logger = Logger(label: "migrator"),
        lockTimeout: Duration = .seconds(5), lockAttempts: Int = 10, retryDelay: Duration = .seconds(1)
    ) {
        self.pool = pool
        self.migrations = migrations
        self.logger = logger
        self.lockTimeout = lockTimeout
        self.lockAttempts = max(1, lockAttempts)
        self.retryDelay = retryDelay
    }

    public struct Status: Sendable, Equatable {
        public var applied: [String]
        public var pending: [String]
    }

    /// Applies every pending migration (or those up to and including `version`); returns the
    /// versions it applied. Refuses, before applying anything, when an applied file has changed.
    @discardableResult
    public func migrate(upTo version: String? = nil) async throws -> [String] {
        try await pool.withConnection { connection in
            // A migration may build an index for minutes, and another process's migrations may
            // hold the lock that long: no statement or lock timeout while migrating (RESET
            // restores the connection's configured values afterwards).
            try await connection.query("SET statement_timeout = 0; SET lock_timeout = 0")
            try await connection.query("SELECT pg_advisory_lock(\(Self.advisoryLockKey))")
            do {
                let applied = try await apply(on: connection, upTo: version)
                try await connection.query("SELECT pg_advisory_unlock(\(Self.advisoryLockKey))")
                try await connection.query("RESET statement_timeout; RESET lock_timeout")
                return applied
            } catch {
                // A broken connection released the lock with its session. (Two queries: a query
                // with a bound parameter may hold only one statement.)
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.advisoryLockKey))")
                _ = try? await connection.query("RESET statement_timeout; RESET lock_timeout")
                throw error
            }
        }
    }

    /// Which migrations are applied and which are pending, verifying checksums.
    public func status() async throws -> Status {
        try await pool.withConnection { connection in
            let exists = try await connection.query("SELECT to_regclass('schema_migrations') IS NOT NULL AS present")
            let applied = try exists.rows.first?.decode("present", as: Bool.self) == true
                ? try await appliedChecksums(on: connection) : [:]
            try await verify(applied, on: connection)
            return Status(
                applied: migrations.map(\.version).filter { applied[$0] != nil },
                pending: migrations.map(\.version).filter { applied[$0] == nil }
            )
        }
    }

    private func apply(on connection: PostgresConnection, upTo version: String?) async throws -> [String] {
        try await connection.query("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version     text PRIMARY KEY,
                checksum    text NOT NULL,
                applied_at  timestamptz NOT NULL DEFAULT now(),
                duration_ms integer NOT NULL
            )
            """)
        let applied = try await appliedChecksums(on: connection)
        try await verify(applied, on: connection)

        var newlyApplied: [String] = []
        for migration in migrations where applied[migration.version] == nil {
            if let version, migration.version > version { break }
            var attempt = 1
            var delay = retryDelay
            while true {
                do {
                    try await applyOnce(migration, on: connection)
                    break
                } catch let error as PostgresError where error.sqlState == "55P03" && attempt < lockAttempts {
                    // lock_not_available: another transaction holds a lock this migration needs.
                    logger.warning("migration.lock_timeout", metadata: [
                        "migration.version": "\(migration.version)", "attempt": "\(attempt)",
                        "retry.seconds": "\(Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18)",
                        "error": "\(error.description)",
                    ])
                    onLockTimeout?(migration.version, attempt)
                    try await Task.sleep(for: delay)
                    delay = min(delay * 2, .seconds(30))
                    attempt += 1
                } catch let error as PostgresError {
                    let reason = error.sqlState == "55P03"
                        ? "\(error.description) (gave up after \(attempt) attempts with lock_timeout \(lockTimeout): a long transaction holds a lock the migration needs; see pg_locks / pg_stat_activity)"
                        : error.description
                    throw MigrationError.failed(version: migration.version, reason: reason)
                }
            }
            logger.info("migration.applied", metadata: ["migration.version": "\(migration.version)"])
            newlyApplied.append(migration.version)
        }
        return newlyApplied
    }

    /// One attempt: the file and its `schema_migrations` row in one transaction, or, for a
    /// no-transaction file, the file and then the row (a failure records nothing).
    private func applyOnce(_ migration: Migration, on connection: PostgresConnection) async throws {
        let started = ContinuousClock.now
        let timeout = "\(lockTimeout.timeoutMilliseconds)ms"
        func record(on connection: PostgresConnection) async throws {
            let elapsed = ContinuousClock.now - started
            let milliseconds = Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
            try await connection.query("""
                INSERT INTO schema_migrations (version, checksum, duration_ms)
                VALUES (\(migration.version), md5(\(migration.sql)), \(milliseconds))
                """)
        }
        if migration.runsOutsideTransaction {
            try await connection.query(.unsafeSQL("SET lock_timeout = '\(timeout)'"))
            do {
                try await connection.query(.unsafeSQL(migration.sql))
                try await connection.query("SET lock_timeout = 0")
            } catch {
                _ = try? await connection.query("SET lock_timeout = 0")
                throw error
            }
            try await record(on: connection)
            return
        }
        try await connection.withTransaction { connection in
            // Before the file: a file may still SET LOCAL its own lock_timeout.
            try await connection.query(.unsafeSQL("SET LOCAL lock_timeout = '\(timeout)'"))
            try await MigrationPreconditions.check(before: migration.version, on: connection)
            try await connection.query(.unsafeSQL(migration.sql))
            try await record(on: connection)
        }
    }

    private func appliedChecksums(on connection: PostgresConnection) async throws -> [String: String] {
        let rows = try await connection.query("SELECT version, checksum FROM schema_migrations").rows
        var checksums: [String: String] = [:]
        for row in rows { checksums[try row.decode("version")] = try row.decode("checksum", as: String.self) }
        return checksums
    }

    /// The checksum is the server's md5 of the file text, so no hashing code lives here. All
    /// applied files are checked in one round trip (`/readyz` calls this on every probe).
    private func verify(_ applied: [String: String], on connection: PostgresConnection) async throws {
        let checked = migrations.filter { applied[$0.version] != nil }
        guard !checked.isEmpty else { return }
        let rows = try await connection.query("""
            SELECT version, md5(sql) AS checksum
              FROM unnest(\(checked.map(\.version)), \(checked.map(\.sql))) AS file(version, sql)
            """).rows
        for row in rows {
            let version = try row.decode("version", as: String.self)
            let onDisk = try row.decode("checksum", as: String.self)
            if let recorded = applied[version], recorded != onDisk {
                throw MigrationError.checksumMismatch(version: version, applied: recorded, onDisk: onDisk)
            }
        }
    }
}
