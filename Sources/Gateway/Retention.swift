import Foundation
import Logging
import Postgres
import Support

/// Prunes finished jobs and old raw usage (docs/gateway.md "Retention"). Any number of
/// gateways call `runOnce` on their schedule; a session advisory lock lets one prune at a time and
/// the others skip that round. The usage counters (`agent_usage_daily`, `execution_usage`) and
/// `workflow_executions` are never touched, so the dashboards' daily rollups survive.
public struct Retention: Sendable {
    /// Fixed key of the pruning lock (distinct from the Migrator's).
    static let advisoryLockKey: Int64 = 7_310_455_020_251_130
    static let terminalStatuses = ["succeeded", "failed", "cancelled"]
    /// DROP TABLE of a partition takes an ACCESS EXCLUSIVE lock on `model_usage` itself: waiting
    /// for it would queue every completion's insert behind the drop, so the wait is short and
    /// retried a few times, then left to the next run.
    static let dropLockTimeout = "1s"
    static let dropAttempts = 3

    public let pool: PostgresPool
    public let policy: RetentionPolicy
    private let logger: Logger

    public init(pool: PostgresPool, policy: RetentionPolicy, logger: Logger) {
        self.pool = pool
        self.policy = policy
        self.logger = logger
    }

    public struct Report: Sendable, Equatable {
        /// Another process held the pruning lock: this run did nothing.
        public var skipped = false
        public var partitionsCreated = 0
        public var jobsDeleted = 0
        /// Delete transactions of the primary-key walk (windows of `batchSize` ids).
        public var jobBatches = 0
        /// Of `jobsDeleted`, those found below the cursor (finished after the walk passed them).
        public var stragglersDeleted = 0
        public var partitionsDropped: [String] = []
        /// Rows deleted from `model_usage_default` (normally empty).
        public var defaultPartitionRowsDeleted = 0
    }

    /// One pruning round. `afterBatch` runs after each committed job batch, with the lock held
    /// (tests use it to look at a round in progress).
    public func runOnce(afterBatch: (@Sendable (Report) async throws -> Void)? = nil) async throws -> Report {
        try await pool.withConnection { connection in
            let locked: Bool = try await connection.query(
                "SELECT pg_try_advisory_lock(\(Self.advisoryLockKey))").rows.first?.decode(at: 0) ?? false
            guard locked else { return Report(skipped: true) }
            do {
                var report = Report()
                report.partitionsCreated = try await connection.query(
                    "SELECT model_usage_ensure_partitions(7)").rows.first?.decode(at: 0) ?? 0
                if let keep = policy.jobs {
                    try await pruneJobs(olderThan: keep, on: connection, report: &report, afterBatch: afterBatch)
                }
                if let keep = policy.usage {
                    try await pruneUsage(olderThan: keep, on: connection, report: &report)
                }
                try await connection.query("SELECT pg_advisory_unlock(\(Self.advisoryLockKey))")
                return report
            } catch {
                // A broken connection released the lock with its session.
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.advisoryLockKey))")
                throw error
            }
        }
    }

    // MARK: Jobs

    /// Walks `llm_jobs` by primary key from the persisted cursor, one window of `batchSize` ids
    /// per transaction, deleting the finished jobs of each window that finished before the edge.
    /// The cursor stops at the first window holding a job created after the edge (ids follow
    /// creation), so each round starts where the last one stopped and never rescans history.
    /// Jobs a window left behind (still queued or running, or finished too recently, or in a
    /// running execution) are stragglers below the cursor; the sweep deletes them once they
    /// qualify. Below the cursor only stragglers remain, so that scan is as small as they are.
    private func pruneJobs(
        olderThan keep: Duration, on connection: PostgresConnection, report: inout Report,
        afterBatch: (@Sendable (Report) async throws -> Void)?
    ) async throws {
        let keepSeconds = keep.seconds
        let batch = policy.batchSize
        while !Task.isCancelled {
            let step = try await connection.withTransaction { connection -> (deleted: Int, advanced: Bool) in
                let cursorRow = try await connection.query("""
                    INSERT INTO retention_cursor (name, next_id) VALUES ('llm_jobs', 0)
                    ON CONFLICT (name) DO UPDATE SET next_id = retention_cursor.next_id
                    RETURNING next_id
                    """).rows.first
                let cursor: Int64 = try cursorRow?.decode(at: 0) ?? 0
                // Skip a gap in the ids (a restarted sequence, a large delete) in one step.
                let bounds = try await connection.query("""
                    SELECT (SELECT min(id) FROM llm_jobs WHERE id >= \(cursor)), (SELECT max(id) FROM llm_jobs)
                    """).rows.first
                guard let start: Int64 = try bounds?.decode(at: 0), let maxID: Int64 = try bounds?.decode(at: 1) else {
                    return (0, false)
                }
                let end = start + Int64(batch)
                let row = try await connection.query("""
                    WITH win AS (
                        SELECT id, status, created_at, finished_at, execution_id
                          FROM llm_jobs WHERE id >= \(start) AND id < \(end)),
                    del AS (
                        DELETE FROM llm_jobs j USING win w
                         WHERE j.id = w.id
                           -- conditions on j, not w: a row changed meanwhile is rechecked as it is now
                           AND j.status = ANY(\(Self.terminalStatuses))
                           AND j.finished_at < now() - \(keepSeconds) * interval '1 second'
                           AND NOT EXISTS (SELECT 1 FROM workflow_executions e
                                            WHERE e.id = j.execution_id AND e.status = 'running')
                        RETURNING j.id)
                    SELECT (SELECT count(*) FROM del),
                           (SELECT count(*) FROM win WHERE created_at >= now() - \(keepSeconds) * interval '1 second')
                    """).rows.first
                let deleted: Int = try row?.decode(at: 0) ?? 0
                let recent: Int = try row?.decode(at: 1) ?? 0
                // Advance past the window only when it is behind the edge and complete (later
                // ids exist, so no new job can still get an id inside it).
                let advance = recent == 0 && end <= maxID
                if advance {
                    try await connection.query("""
                        UPDATE retention_cursor SET next_id = \(end), updated_at = now() WHERE name = 'llm_jobs'
                        """)
                }
                return (deleted, advance)
            }
            report.jobBatches += 1
            report.jobsDeleted += step.deleted
            try await afterBatch?(report)
            if !step.advanced { break }
        }
        try await sweepStragglers(olderThan: keepSeconds, on: connection, report: &report)
    }

    private func sweepStragglers(olderThan keepSeconds: Double, on connection: PostgresConnection, report: inout Report) async throws {
        while !Task.isCancelled {
            let deleted = try await connection.execute("""
                DELETE FROM llm_jobs WHERE id IN (
                    SELECT j.id FROM llm_jobs j
                     WHERE j.id < (SELECT next_id FROM retention_cursor WHERE name = 'llm_jobs')
                       AND j.status = ANY(\(Self.terminalStatuses))
                       AND j.finished_at < now() - \(keepSeconds) * interval '1 second'
                       AND NOT EXISTS (SELECT 1 FROM workflow_executions e
                                        WHERE e.id = j.execution_id AND e.status = 'running')
                     ORDER BY j.id
                     LIMIT \(policy.batchSize))
                """)
            report.jobsDeleted += deleted
            report.stragglersDeleted += deleted
            if deleted < policy.batchSize { return }
        }
    }

    // MARK: Usage

    /// Drops the daily partitions whose whole UTC day ended before the edge (no row-by-row
    /// delete, no vacuum debt), and deletes old rows that landed in the default partition.
    private func pruneUsage(olderThan keep: Duration, on connection: PostgresConnection, report: inout Report) async throws {
        let keepSeconds = keep.seconds
        let names: [String] = try await connection.query("""
            SELECT c.relname::text
              FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = 'model_usage'::regclass
               AND c.relname ~ '^model_usage_[0-9]{8}$'
               AND (to_date(substr(c.relname, 13), 'YYYYMMDD') + 1)::timestamp AT TIME ZONE 'UTC'
                   <= now() - \(keepSeconds) * interval '1 second'
             ORDER BY c.relname
            """).rows.map { try $0.decode(at: 0) }
        for name in names where Self.isDailyPartitionName(name) {
            if try await dropPartition(name, on: connection) { report.partitionsDropped.append(name) }
        }
        while !Task.isCancelled {
            let deleted = try await connection.execute("""
                DELETE FROM model_usage_default WHERE ctid = ANY(ARRAY(
                    SELECT ctid FROM model_usage_default
                     WHERE created_at < now() - \(keepSeconds) * interval '1 second'
                     LIMIT \(policy.batchSize)))
                """)
            report.defaultPartitionRowsDeleted += deleted
            if deleted < policy.batchSize { return }
        }
    }

    /// Whether `name` is exactly `model_usage_` and eight digits (so it is safe as an identifier).
    static func isDailyPartitionName(_ name: String) -> Bool {
        let prefix = "model_usage_"
        guard name.hasPrefix(prefix) else { return false }
        let digits = name.dropFirst(prefix.count)
        return digits.count == 8 && digits.allSatisfy { $0.isASCII && $0.isNumber }
    }

    private func dropPartition(_ name: String, on connection: PostgresConnection) async throws -> Bool {
        for attempt in 1...Self.dropAttempts {
            do {
                try await connection.withTransaction { connection in
                    try await connection.query(.unsafeSQL("SET LOCAL lock_timeout = '\(Self.dropLockTimeout)'"))
                    // migrations/0025: the owner's definer function, so the services' role needs no DDL rights.
                    try await connection.query("SELECT model_usage_drop_partition(\(name))")
                }
                return true
            } catch let error as PostgresError where error.sqlState == "55P03" {  // lock_not_available
                logger.notice("gateway.retention.partition_busy", metadata: [
                    "partition": "\(name)", "attempt": "\(attempt)",
                ])
                try await Task.sleep(for: .milliseconds(200 * attempt))
            }
        }
        return false
    }
}
