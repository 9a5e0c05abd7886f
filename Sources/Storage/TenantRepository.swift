import Foundation
import Postgres

/// A row of `tenants` (migrations/0019): a team or organisation owning agents, keys, jobs and
/// executions.
public struct TenantRecord: Sendable, Equatable {
    public var id: UUID
    public var name: String
    public var createdAt: Date
    /// At most this many queued jobs (migrations/0036); nil: no cap.
    public var maxQueuedJobs: Int? = nil

    /// Holds everything that existed before tenants (0019), and whatever names no tenant.
    public static let defaultID = UUID(uuidString: "00000000-0000-4000-8000-000000000001")!
    public static let defaultName = "default"

    /// Lower-case letters, digits, `.`, `_`, `-`; 1–63 characters, starting with a letter or digit
    /// (the CHECK in 0019, checked here first for a clear message).
    public static func nameProblem(_ name: String) -> String? {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789._-")
        guard let first = name.first, (1...63).contains(name.count) else { return "must be 1–63 characters long" }
        guard name.allSatisfy(allowed.contains), first != ".", first != "_", first != "-" else {
            return "may hold only lower-case letters, digits, '.', '_' and '-', and must start with a letter or digit"
        }
        return nil
    }
}

public struct TenantRepository: Sendable {
    public let pool: PostgresPool

    public init(pool: PostgresPool) {
        self.pool = pool
    }

    static let columns: SQL = "id, name, created_at, max_queued_jobs"

    static func record(_ row: PostgresRow) throws -> TenantRecord {
        TenantRecord(
            id: try row.decode("id"), name: try row.decode("name"), createdAt: try row.decode("created_at"),
            maxQueuedJobs: try row.decode("max_queued_jobs"))
    }

    /// Sets or (nil) removes the tenant's queued-jobs cap; nil when the tenant does not exist.
    public func setMaxQueuedJobs(_ id: UUID, _ cap: Int?, actor: ChangeActor?) async throws -> TenantRecord? {
        try await pool.withTransaction { connection in
            try await connection.announce(actor)
            return try await connection.query("""
                UPDATE tenants SET max_queued_jobs = \(cap) WHERE id = \(id) RETURNING \(Self.columns)
                """).rows.first.map(Self.record)
        }
    }

    /// nil: the name is taken.
    public func create(name: String, actor: ChangeActor?) async throws -> TenantRecord? {
        try await pool.withTransaction { connection in
            try await connection.announce(actor)
            return try await connection.query("""
                INSERT INTO tenants (name) VALUES (\(name)) ON CONFLICT (name) DO NOTHING RETURNING \(Self.columns)
                """).rows.first.map(Self.record)
        }
    }

    /// The tenants `scope` may see, by name.
    public func list(_ scope: TenantScope) async throws -> [TenantRecord] {
        try await pool.query("SELECT \(Self.columns) FROM tenants WHERE \(scope.condition("id")) ORDER BY name").rows.map(Self.record)
    }

    public func find(_ id: UUID) async throws -> TenantRecord? {
        try await pool.query("SELECT \(Self.columns) FROM tenants WHERE id = \(id)").rows.first.map(Self.record)
    }

    public func find(named name: String) async throws -> TenantRecord? {
        try await pool.query("SELECT \(Self.columns) FROM tenants WHERE name = \(name)").rows.first.map(Self.record)
    }
}
