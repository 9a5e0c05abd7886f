import Foundation
import Logging
import Postgres

/// Applies pending migrations in order, each in its own transaction, under one advisory lock so
/// that any number of processes starting at once apply each file exactly once.
public struct Migrator: Sendable {
    /// Arbitrary but fixed: every Switchboard process takes this same advisory lock to migrate.
    static let advisoryLockKey = 7_310_455_020_251_128

    public let pool: PostgresPool
    public let migrations: [Migration]
    private let logger: Logger

    public init(pool: PostgresPool, migrations: [Migration], logger: Logger = Logger(label: "migrator")) {
        self.pool = pool
        self.migrations = migrations
        self.logger = logger
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
                // A broken connection released the lock with its session.
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.advisoryLockKey)); RESET statement_timeout; RESET lock_timeout")
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
            let started = ContinuousClock.now
            do {
                try await connection.withTransaction { connection in
                    try await connection.query(.unsafeSQL(migration.sql))
                    let elapsed = ContinuousClock.now - started
                    let milliseconds = Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
                    try await connection.query("""
                        INSERT INTO schema_migrations (version, checksum, duration_ms)
                        VALUES (\(migration.version), md5(\(migration.sql)), \(milliseconds))
                        """)
                }
            } catch let error as PostgresError {
                throw MigrationError.failed(version: migration.version, reason: error.description)
            }
            logger.info("migration.applied", metadata: ["migration.version": "\(migration.version)"])
            newlyApplied.append(migration.version)
        }
        return newlyApplied
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
