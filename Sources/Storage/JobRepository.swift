import Catalog
import Foundation
import Postgres

/// `llm_jobs` for the API: enqueue (one statement per call, however many jobs), read, list, cancel.
/// The worker's statements (claim, heartbeat, completion) live with the gateway.
public struct JobRepository: Sendable {
    public let pool: PostgresPool

    public init(pool: PostgresPool) {
        self.pool = pool
    }

    /// A job to enqueue. `requestJSON` is the neutral ChatRequest JSON, already validated.
    public struct NewJob: Sendable, Equatable {
        public var agentID: UUID
        public var executionID: UUID?
        public var step: String?
        public var requestJSON: String
        public var priority: Int
        /// nil: now (the database's clock).
        public var runAt: Date?
        public var maxAttempts: Int
        public var idempotencyKey: String?
        /// The API key that enqueues the job (`llm_jobs.api_key_id`): its budgets apply.
        public var apiKeyID: UUID?

        public init(
            agentID: UUID, executionID: UUID? = nil, step: String? = nil, requestJSON: String, priority: Int = 0,
            runAt: Date? = nil, maxAttempts: Int = 3, idempotencyKey: String? = nil, apiKeyID: UUID? = nil
        ) {
            self.apiKeyID = apiKeyID
            self.agentID = agentID
            self.executionID = executionID
            self.step = step
            self.requestJSON = requestJSON
            self.priority = priority
            self.runAt = runAt
            self.maxAttempts = maxAttempts
            self.idempotencyKey = idempotencyKey
        }
    }

    public enum InsertOutcome: Sendable, Equatable {
        case created(JobRecord)
        /// The idempotency key was already used by a job with the same content.
        case existing(JobRecord)

        public var job: JobRecord {
            switch self {
            case .created(let job), .existing(let job): return job
            }
        }
    }

    /// The idempotency key of `index` names an existing job whose content differs.
    public struct IdempotencyConflict: Error, Sendable, Equatable {
        public var index: Int
        public var existing: JobRecord
    }

    /// Enqueues `jobs` in one transaction (see `insert(_:on:)`).
    public func insert(_ jobs: [NewJob]) async throws -> [InsertOutcome] {
        try await pool.withTransaction { connection in try await Self.insert(jobs, on: connection) }
    }

    /// Enqueues every job with ONE `INSERT … SELECT FROM jsonb_to_recordset(…) ON CONFLICT
    /// (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING`, so the new-job trigger runs
    /// once for the whole batch and a repeated key inserts nothing. Jobs whose key already existed
    /// are then read back and compared with what was sent: the same content answers the existing
    /// job, different content throws `IdempotencyConflict` (the caller's transaction rolls back).
    /// Keys must be distinct within one call (the API checks). Outcomes are in input order.
    public static func insert(_ jobs: [NewJob], on connection: PostgresConnection) async throws -> [InsertOutcome] {
        if jobs.isEmpty { return [] }
        let (rows, requests) = try recordset(jobs)
        let inserted = try await connection.query("""
            INSERT INTO llm_jobs (agent_id, tenant_id, execution_id, step, request, priority, run_at, max_attempts,
                                  idempotency_key, api_key_id)
            SELECT r.agent_id, a.tenant_id, r.execution_id, r.step, \(requests) -> r.ord, r.priority, coalesce(r.run_at, now()),
                   r.max_attempts, r.idempotency_key, r.api_key_id
              FROM jsonb_to_recordset(\(rows)) AS r(ord int, agent_id uuid, execution_id uuid, step text, priority int,
                                                     run_at timestamptz, max_attempts int, idempotency_key text,
                                                     api_key_id uuid)
              JOIN agents a ON a.id = r.agent_id
             ORDER BY r.ord
            ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
            RETURNING \(JobRecord.columns)
            """).rows.map { try JobRecord(row: $0) }

        var outcomes: [InsertOutcome?] = Array(repeating: nil, count: jobs.count)
        var createdByKey: [String: JobRecord] = [:]
        // Rows get their ids in insertion order (ORDER BY ord), so unkeyed rows match the unkeyed
        // inputs in order.
        var unkeyed = inserted.filter { $0.idempotencyKey == nil }.sorted { $0.id < $1.id }.makeIterator()
        for job in inserted { if let key = job.idempotencyKey { createdByKey[key] = job } }
        var missingKeys = false
        for (index, job) in jobs.enumerated() {
            if let key = job.idempotencyKey {
                if let created = createdByKey[key] { outcomes[index] = .created(created) } else { missingKeys = true }
            } else if let created = unkeyed.next() {
                outcomes[index] = .created(created)
            }
        }
        if missingKeys {
            let existing = try await connection.query("""
                SELECT \(JobRecord.qualifiedColumns), r.ord,
                       (j.agent_id = r.agent_id AND j.request = \(requests) -> r.ord
                        AND j.execution_id IS NOT DISTINCT FROM r.execution_id AND j.step IS NOT DISTINCT FROM r.step
                        AND j.priority = r.priority AND j.max_attempts = r.max_attempts
                        AND (r.run_at IS NULL OR j.run_at = r.run_at)) AS same_content
                  FROM jsonb_to_recordset(\(rows)) AS r(ord int, agent_id uuid, execution_id uuid, step text, priority int,
                                                         run_at timestamptz, max_attempts int, idempotency_key text)
                  JOIN agents a ON a.id = r.agent_id
                  JOIN llm_jobs j ON j.tenant_id = a.tenant_id AND j.idempotency_key = r.idempotency_key
                """).rows
            for row in existing {
                let index: Int = try row.decode("ord")
                guard jobs.indices.contains(index), outcomes[index] == nil else { continue }
                let job = try JobRecord(row: row)
                guard try row.decode("same_content", as: Bool.self) else { throw IdempotencyConflict(index: index, existing: job) }
                outcomes[index] = .existing(job)
            }
        }
        return try outcomes.enumerated().map { index, outcome in
            // Only when a keyed job vanished between the INSERT and the SELECT (deleted meanwhile).
            guard let outcome else { throw PostgresError(kind: .decoding, message: "job \(index) was neither inserted nor found") }
            return outcome
        }
    }

    /// The jobs as the `jsonb_to_recordset` rows and, separately, the request documents (an array
    /// indexed by `ord`, spliced as raw JSON so numbers and key order stay as validated).
    static func recordset(_ jobs: [NewJob]) throws -> (rows: PostgresJSONText, requests: PostgresJSONText) {
        struct Row: Encodable {
            var ord: Int
            var agent_id: String
            var execution_id: String?
            var step: String?
            var priority: Int
            var run_at: String?
            var max_attempts: Int
            var idempotency_key: String?
            var api_key_id: String?
        }
        let rows = jobs.enumerated().map { index, job in
            Row(ord: index, agent_id: job.agentID.uuidString.lowercased(), execution_id: job.executionID?.uuidString.lowercased(),
                step: job.step, priority: job.priority,
                run_at: job.runAt.map(Timestamp.string(from:)),
                max_attempts: job.maxAttempts, idempotency_key: job.idempotencyKey,
                api_key_id: job.apiKeyID?.uuidString.lowercased())
        }
        let encoded = String(decoding: try JSONEncoder().encode(rows), as: UTF8.self)
        return (PostgresJSONText(encoded), PostgresJSONText("[" + jobs.map(\.requestJSON).joined(separator: ",") + "]"))
    }

    // MARK: - References

    /// `agents.status` and tenant of those of `ids` that exist in `scope` (another tenant's agent
    /// is as absent as one that does not exist).
    public func agentStates(_ ids: [UUID], scope: TenantScope = .all) async throws -> [UUID: (status: String, tenantID: UUID)] {
        let texts = ids.map { $0.uuidString.lowercased() }
        var found: [UUID: (status: String, tenantID: UUID)] = [:]
        for row in try await pool.query("""
            SELECT id, status, tenant_id FROM agents WHERE id = ANY(\(texts)::uuid[]) AND \(scope.condition("tenant_id"))
            """).rows {
            found[try row.decode("id")] = (try row.decode("status"), try row.decode("tenant_id"))
        }
        return found
    }

    /// `workflow_executions.status` of those of `ids` that exist in `scope`.
    public func executionStatuses(_ ids: [UUID], scope: TenantScope = .all) async throws -> [UUID: String] {
        try await statuses(table: "workflow_executions", ids, scope: scope)
    }

    private func statuses(table: String, _ ids: [UUID], scope: TenantScope) async throws -> [UUID: String] {
        let texts = ids.map { $0.uuidString.lowercased() }
        let rows = try await pool.query("""
            SELECT id, status FROM \(SQL.unsafeSQL(table == "agents" ? "agents" : "workflow_executions"))
             WHERE id = ANY(\(texts)::uuid[]) AND \(scope.condition("tenant_id"))
            """).rows
        var found: [UUID: String] = [:]
        for row in rows { found[try row.decode("id")] = try row.decode("status") }
        return found
    }

    // MARK: - Reading

    public func find(_ id: Int64) async throws -> JobRecord? {
        try await pool.query("SELECT \(JobRecord.columns) FROM llm_jobs WHERE id = \(id)").rows.first.map { try JobRecord(row: $0) }
    }

    /// Reads the job, waiting for a concurrent completion of the row to commit first. The
    /// long-poll reads this way right after registering as a waiter: a completion whose transaction
    /// checked `llm_job_waiters` before the registration was visible is then seen here instead of
    /// being missed. Only a `running` job can be completed, so only then is the row read again
    /// `FOR SHARE` (waiting for its writer); locking a `queued` row would make a worker's claim
    /// (`FOR UPDATE SKIP LOCKED`) skip it and leave it for the next poll. A job seen `queued` is
    /// claimed and completed after this read, by transactions that see the registration.
    public func findAfterWriters(_ id: Int64) async throws -> JobRecord? {
        guard let job = try await find(id) else { return nil }
        guard job.status == "running" else { return job }
        return try await pool.query("SELECT \(JobRecord.columns) FROM llm_jobs WHERE id = \(id) FOR SHARE").rows.first
            .map { try JobRecord(row: $0) }
    }

    public struct Filter: Sendable {
        public var status: String?
        public var agentID: UUID?
        public var executionID: UUID?
        /// Only jobs with a smaller id (the previous page's `next_cursor`).
        public var before: Int64?
        public var limit: Int
        public var includeBodies: Bool
        public var scope: TenantScope

        public init(
            status: String? = nil, agentID: UUID? = nil, executionID: UUID? = nil, before: Int64? = nil, limit: Int = 50,
            includeBodies: Bool = false, scope: TenantScope = .all
        ) {
            self.scope = scope
            self.status = status
            self.agentID = agentID
            self.executionID = executionID
            self.before = before
            self.limit = limit
            self.includeBodies = includeBodies
        }
    }

    /// Newest first (keyset on id). Returns one page and whether more rows follow.
    public func list(_ filter: Filter) async throws -> (jobs: [JobRecord], hasMore: Bool) {
        var conditions: [SQL] = [filter.scope.condition("tenant_id")]
        if let status = filter.status { conditions.append("status = \(status)") }
        if let agentID = filter.agentID { conditions.append("agent_id = \(agentID)") }
        if let executionID = filter.executionID { conditions.append("execution_id = \(executionID)") }
        if let before = filter.before { conditions.append("id < \(before)") }
        let rows = try await pool.query("""
            SELECT \(filter.includeBodies ? JobRecord.columns : JobRecord.summaryColumns) FROM llm_jobs
             WHERE \(SQL.joined(conditions, separator: " AND "))
             ORDER BY id DESC
             LIMIT \(filter.limit + 1)
            """).rows
        let jobs = try rows.prefix(filter.limit).map { try JobRecord(row: $0, withBodies: filter.includeBodies) }
        return (jobs, rows.count > filter.limit)
    }

    /// The job's provider calls, oldest first. `since` (the job's creation) lets Postgres skip
    /// the day partitions of model_usage before it.
    public func attempts(jobID: Int64, since: Date) async throws -> [JobAttemptRecord] {
        try await pool.query("""
            SELECT u.attempt, u.provider, u.model_id, u.fallback_depth, u.outcome, u.error_class, u.http_status, u.latency_ms,
                   u.input_tokens, u.output_tokens, u.cached_input_tokens, u.cache_creation_input_tokens, u.reasoning_tokens,
                   u.cost, u.worker_id, u.provider_request_id, u.started_at, u.finished_at, u.superseded, u.budget_decision,
                   c.reserved_usd::text AS reserved_usd
              FROM model_usage u
              LEFT JOIN llm_job_calls c ON c.job_id = u.job_id AND c.attempt = u.attempt AND c.call_seq = u.call_seq
             WHERE u.job_id = \(jobID) AND u.created_at >= \(since.addingTimeInterval(-86_400))
             ORDER BY u.started_at, u.id
            """).rows.map { row in
            JobAttemptRecord(
                jobAttempt: try row.decode("attempt"),
                provider: try row.decode("provider"),
                modelID: try row.decode("model_id"),
                fallbackDepth: try row.decode("fallback_depth"),
                outcome: try row.decode("outcome"),
                errorClass: try row.decode("error_class"),
                httpStatus: try row.decode("http_status"),
                latencyMilliseconds: try row.decode("latency_ms"),
                inputTokens: try row.decode("input_tokens"),
                outputTokens: try row.decode("output_tokens"),
                cachedInputTokens: try row.decode("cached_input_tokens"),
                cacheCreationInputTokens: try row.decode("cache_creation_input_tokens"),
                reasoningTokens: try row.decode("reasoning_tokens"),
                cost: try row.decode("cost"),
                workerID: try row.decode("worker_id"),
                providerRequestID: try row.decode("provider_request_id"),
                startedAt: try row.decode("started_at"),
                finishedAt: try row.decode("finished_at"),
                superseded: try row.decode("superseded"),
                budgetDecision: try row.decode("budget_decision"),
                reservedUSD: try row.decode("reserved_usd"))
        }
    }

    // MARK: - Cancelling

    public enum CancelOutcome: Sendable, Equatable {
        /// Was queued: now cancelled.
        case cancelled(JobRecord)
        /// Is running: cancel_requested_at set and the worker told (llm_jobs_cancel).
        case cancelRequested(JobRecord)
        /// Already succeeded, failed or cancelled: nothing changed.
        case alreadyFinished(JobRecord)
        case notFound
    }

    /// Under the row lock: a queued job becomes cancelled at once (and long-pollers are woken, the
    /// way the worker's completion does it; a workflow execution whose last open job this was is
    /// finished); a running job gets `cancel_requested_at` and a `llm_jobs_cancel` NOTIFY for the
    /// worker holding it. Both NOTIFYs are sent on commit.
    public func cancel(_ id: Int64) async throws -> CancelOutcome {
        try await pool.withTransaction { connection in
            guard let row = try await connection.query("SELECT \(JobRecord.columns) FROM llm_jobs WHERE id = \(id) FOR UPDATE").rows.first else {
                return .notFound
            }
            let job = try JobRecord(row: row)
            switch job.status {
            case "queued":
                guard let updated = try await connection.query("""
                    UPDATE llm_jobs SET status = 'cancelled', finished_at = now(), updated_at = now()
                     WHERE id = \(id) AND status = 'queued'
                    RETURNING \(JobRecord.columns)
                    """).rows.first.map({ try JobRecord(row: $0) }) else { return .alreadyFinished(job) }
                try await connection.query("""
                    SELECT pg_notify('llm_jobs_done', \(String(id)))
                     WHERE EXISTS (SELECT 1 FROM llm_job_waiters WHERE job_id = \(id))
                    """)
                if let executionID = updated.executionID {
                    try await ExecutionRepository.finishCompleted([executionID], on: connection)
                }
                return .cancelled(updated)
            case "running":
                guard let updated = try await connection.query("""
                    UPDATE llm_jobs SET cancel_requested_at = coalesce(cancel_requested_at, now()), updated_at = now()
                     WHERE id = \(id) AND status = 'running'
                    RETURNING \(JobRecord.columns)
                    """).rows.first.map({ try JobRecord(row: $0) }) else { return .alreadyFinished(job) }
                try await connection.query("SELECT pg_notify('llm_jobs_cancel', \(String(id)))")
                return .cancelRequested(updated)
            default:
                return .alreadyFinished(job)
            }
        }
    }
}
