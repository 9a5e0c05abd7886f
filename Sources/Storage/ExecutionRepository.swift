import Foundation
import Postgres

/// A row of `workflow_executions`.
public struct ExecutionRecord: Sendable, Equatable {
    /// The values of workflow_executions.status (0005's CHECK).
    public static let statuses = ["running", "succeeded", "failed", "cancelled"]
    public var id: UUID
    public var name: String
    /// running | succeeded | failed | cancelled
    public var status: String
    public var metadataJSON: String
    public var startedAt: Date
    public var finishedAt: Date?
    public var createdAt: Date
    public var updatedAt: Date
    public var tenantID: UUID

    static let columns: SQL = "id, name, status, metadata, started_at, finished_at, created_at, updated_at, tenant_id"

    init(row: PostgresRow) throws {
        id = try row.decode("id")
        name = try row.decode("name")
        status = try row.decode("status")
        metadataJSON = try row.decode("metadata", as: PostgresJSONText.self).text
        startedAt = try row.decode("started_at")
        finishedAt = try row.decode("finished_at")
        createdAt = try row.decode("created_at")
        updatedAt = try row.decode("updated_at")
        tenantID = try row.decode("tenant_id")
    }
}

/// A job of an execution, as the execution's `steps` list it.
public struct ExecutionStepRecord: Sendable, Equatable {
    public var jobID: Int64
    public var step: String?
    public var agentID: UUID
    public var status: String
    public var attempt: Int
    /// The model and provider that answered (from the job's result), nil until it succeeded.
    public var model: String?
    public var provider: String?
    public var finishedAt: Date?

    public init(
        jobID: Int64, step: String?, agentID: UUID, status: String, attempt: Int, model: String?, provider: String?, finishedAt: Date?
    ) {
        self.jobID = jobID
        self.step = step
        self.agentID = agentID
        self.status = status
        self.attempt = attempt
        self.model = model
        self.provider = provider
        self.finishedAt = finishedAt
    }
}

/// Usage of one (agent, model) in an execution: an entry of `models_used`.
public struct ModelUsageCounter: Sendable, Equatable {
    public var agentID: String
    public var modelID: String
    public var requests: Int
    public var successes: Int
    public var errors: Int
    public var inputTokens: Int
    public var outputTokens: Int
    public var cachedInputTokens: Int
    /// Sum of known costs (USD, exact); nil when no request had a known price.
    public var cost: Decimal?
    public var unpricedRequests: Int
}

/// `workflow_executions` and their jobs.
public struct ExecutionRepository: Sendable {
    public let pool: PostgresPool

    public init(pool: PostgresPool) {
        self.pool = pool
    }

    /// One execution row (status running) and one job per step, in one transaction; the jobs are
    /// one INSERT statement. Returns the execution and its jobs in step order.
    public func create(
        name: String, metadataJSON: String, steps: [JobRepository.NewJob], tenantID: UUID = TenantRecord.defaultID
    ) async throws -> (execution: ExecutionRecord, jobs: [JobRecord]) {
        try await pool.withTransaction { connection in
            guard let row = try await connection.query("""
                INSERT INTO workflow_executions (name, metadata, tenant_id)
                VALUES (\(name), \(PostgresJSONText(metadataJSON)), \(tenantID))
                RETURNING \(ExecutionRecord.columns)
                """).rows.first else { throw PostgresError(kind: .decoding, message: "INSERT … RETURNING returned no row") }
            let execution = try ExecutionRecord(row: row)
            let jobs = steps.map { step -> JobRepository.NewJob in
                var job = step
                job.executionID = execution.id
                return job
            }
            let outcomes = try await JobRepository.insert(jobs, on: connection)
            return (execution, outcomes.map(\.job))
        }
    }

    public func find(_ id: UUID) async throws -> ExecutionRecord? {
        try await pool.query("SELECT \(ExecutionRecord.columns) FROM workflow_executions WHERE id = \(id)").rows.first
            .map(ExecutionRecord.init(row:))
    }

    /// Newest first, keyset on (started_at, id) through the `before` execution.
    public func list(
        status: String?, before: UUID?, limit: Int, scope: TenantScope = .all
    ) async throws -> (executions: [ExecutionRecord], hasMore: Bool) {
        var conditions: [SQL] = [scope.condition("tenant_id")]
        if let status { conditions.append("status = \(status)") }
        if let before {
            conditions.append("""
                (started_at, id) < (SELECT started_at, id FROM workflow_executions WHERE id = \(before))
                """)
        }
        let rows = try await pool.query("""
            SELECT \(ExecutionRecord.columns) FROM workflow_executions
             WHERE \(SQL.joined(conditions, separator: " AND "))
             ORDER BY started_at DESC, id DESC
             LIMIT \(limit + 1)
            """).rows
        return (try rows.prefix(limit).map(ExecutionRecord.init(row:)), rows.count > limit)
    }

    /// The execution's jobs in creation (step) order.
    public func steps(of id: UUID) async throws -> [ExecutionStepRecord] {
        try await pool.query("""
            SELECT id, step, agent_id, status, attempt, result->>'model' AS model, result->>'provider' AS provider, finished_at
              FROM llm_jobs WHERE execution_id = \(id) ORDER BY id
            """).rows.map { row in
            ExecutionStepRecord(
                jobID: try row.decode("id"), step: try row.decode("step"), agentID: try row.decode("agent_id"),
                status: try row.decode("status"), attempt: try row.decode("attempt"), model: try row.decode("model"),
                provider: try row.decode("provider"), finishedAt: try row.decode("finished_at"))
        }
    }

    /// `models_used` flattened: live from `execution_usage` while the execution runs, from the
    /// stored column once it has finished (the worker writes it then, from the same counters).
    public func modelsUsed(_ execution: ExecutionRecord) async throws -> [ModelUsageCounter] {
        let rows: [PostgresRow]
        if execution.status == "running" {
            rows = try await pool.query("""
                SELECT agent_id::text AS agent_id, model_id, sum(requests) AS requests, sum(successes) AS successes,
                       sum(errors) AS errors, sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
                       sum(cached_input_tokens) AS cached_input_tokens,
                       CASE WHEN sum(priced_requests) > 0 THEN sum(cost) END AS cost,
                       sum(requests) - sum(priced_requests) AS unpriced_requests
                  FROM execution_usage
                 WHERE execution_id = \(execution.id)
                 GROUP BY agent_id, model_id
                 ORDER BY agent_id, model_id
                """).rows
        } else {
            rows = try await pool.query("""
                SELECT a.key AS agent_id, m.key AS model_id,
                       coalesce((m.value->>'requests')::bigint, 0) AS requests,
                       coalesce((m.value->>'successes')::bigint, 0) AS successes,
                       coalesce((m.value->>'errors')::bigint, 0) AS errors,
                       coalesce((m.value->>'input_tokens')::bigint, 0) AS input_tokens,
                       coalesce((m.value->>'output_tokens')::bigint, 0) AS output_tokens,
                       coalesce((m.value->>'cached_input_tokens')::bigint, 0) AS cached_input_tokens,
                       (m.value->>'cost')::numeric AS cost,
                       coalesce((m.value->>'unpriced_requests')::bigint, 0) AS unpriced_requests
                  FROM workflow_executions e
                 CROSS JOIN LATERAL jsonb_each(e.models_used) a
                 CROSS JOIN LATERAL jsonb_each(CASE WHEN jsonb_typeof(a.value) = 'object' THEN a.value ELSE '{}'::jsonb END) m
                 WHERE e.id = \(execution.id)
                 ORDER BY a.key, m.key
                """).rows
        }
        return try rows.map { row in
            ModelUsageCounter(
                agentID: try row.decode("agent_id"), modelID: try row.decode("model_id"),
                requests: try row.decode("requests"), successes: try row.decode("successes"), errors: try row.decode("errors"),
                inputTokens: try row.decode("input_tokens"), outputTokens: try row.decode("output_tokens"),
                cachedInputTokens: try row.decode("cached_input_tokens"), cost: try row.decode("cost"),
                unpricedRequests: try row.decode("unpriced_requests"))
        }
    }

    /// Finishes every running execution among `ids` whose jobs are all terminal: succeeded (all
    /// succeeded) | failed (any failed) | cancelled (none failed, any cancelled), finished_at, and
    /// models_used built from execution_usage. Called by the worker's completer and by the API when
    /// it cancels the last open job of an execution (no worker completes a job that never ran).
    /// Finishers of one execution serialise on a transaction advisory lock (taken in id order: no
    /// deadlock; memory only: no row write), and the check runs in a later statement, whose
    /// snapshot sees the other finisher's committed jobs, so the last one to finish finalises.
    public static func finishCompleted(_ ids: [UUID], on connection: PostgresConnection) async throws {
        guard !ids.isEmpty else { return }
        let unique = Array(Set(ids.map { $0.uuidString.lowercased() })).sorted()
        try await connection.query("""
            SELECT pg_advisory_xact_lock(hashtextextended(e.id::text, 8813))
              FROM (SELECT unnest(\(unique)::uuid[]) AS id ORDER BY 1) e
            """)
        try await connection.query("""
            WITH done AS (
                SELECT e.id,
                       CASE WHEN bool_or(j.status = 'failed') THEN 'failed'
                            WHEN bool_or(j.status = 'cancelled') THEN 'cancelled'
                            ELSE 'succeeded' END AS status
                  FROM workflow_executions e
                  JOIN llm_jobs j ON j.execution_id = e.id
                 WHERE e.id = ANY(\(unique)::uuid[]) AND e.status = 'running'
                 GROUP BY e.id
                HAVING bool_and(j.status IN ('succeeded', 'failed', 'cancelled'))
            ), per_model AS (
                SELECT u.execution_id, u.agent_id, u.model_id,
                       jsonb_build_object(
                           'requests', sum(u.requests), 'successes', sum(u.successes), 'errors', sum(u.errors),
                           'input_tokens', sum(u.input_tokens), 'output_tokens', sum(u.output_tokens),
                           'cached_input_tokens', sum(u.cached_input_tokens),
                           'cost', CASE WHEN sum(u.priced_requests) > 0 THEN sum(u.cost) END,
                           'unpriced_requests', sum(u.requests) - sum(u.priced_requests)) AS totals
                  FROM execution_usage u JOIN done d ON d.id = u.execution_id
                 GROUP BY u.execution_id, u.agent_id, u.model_id
            ), per_agent AS (
                SELECT execution_id, agent_id, jsonb_object_agg(model_id, totals) AS models
                  FROM per_model GROUP BY execution_id, agent_id
            ), used AS (
                SELECT d.id, coalesce(jsonb_object_agg(a.agent_id::text, a.models) FILTER (WHERE a.agent_id IS NOT NULL),
                                      '{}'::jsonb) AS models_used
                  FROM done d LEFT JOIN per_agent a ON a.execution_id = d.id
                 GROUP BY d.id
            )
            UPDATE workflow_executions e
               SET status = d.status, finished_at = now(), updated_at = now(), models_used = u.models_used
              FROM done d JOIN used u ON u.id = d.id
             WHERE e.id = d.id AND e.status = 'running'
            """)
    }
}
