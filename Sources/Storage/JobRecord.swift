import Foundation
import Postgres

/// A row of `llm_jobs` as the API reads it. The JSON documents (`request`, `result`, `error`) stay
/// the text Postgres returns, so exact numbers (costs) pass through untouched; they are nil when
/// the row was read without bodies (`JobRecord.summaryColumns`).
public struct JobRecord: Sendable, Equatable {
    public var id: Int64
    public var agentID: UUID
    public var executionID: UUID?
    public var step: String?
    /// queued | running | succeeded | failed | cancelled
    public var status: String
    public var priority: Int
    public var attempt: Int
    public var maxAttempts: Int
    public var runAt: Date
    public var idempotencyKey: String?
    public var requestJSON: String?
    public var resultJSON: String?
    public var errorJSON: String?
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    public var updatedAt: Date
    public var cancelRequestedAt: Date?
    /// Always the agent's tenant (composite foreign key, migrations/0019).
    public var tenantID: UUID = TenantRecord.defaultID

    public static let statuses = ["queued", "running", "succeeded", "failed", "cancelled"]
    public static let terminalStatuses: Set<String> = ["succeeded", "failed", "cancelled"]

    public var isTerminal: Bool { Self.terminalStatuses.contains(status) }
}

extension JobRecord {
    static let summaryColumns: SQL = """
        id, agent_id, execution_id, step, status, priority, attempt, max_attempts, run_at, idempotency_key,
        created_at, started_at, finished_at, updated_at, cancel_requested_at, tenant_id
        """

    static let columns: SQL = """
        id, agent_id, execution_id, step, status, priority, attempt, max_attempts, run_at, idempotency_key,
        created_at, started_at, finished_at, updated_at, cancel_requested_at, tenant_id, request, result, error
        """

    /// The same lists qualified by a table alias `j`, for joins.
    static let qualifiedColumns: SQL = """
        j.id, j.agent_id, j.execution_id, j.step, j.status, j.priority, j.attempt, j.max_attempts, j.run_at,
        j.idempotency_key, j.created_at, j.started_at, j.finished_at, j.updated_at, j.cancel_requested_at,
        j.tenant_id, j.request, j.result, j.error
        """

    init(row: PostgresRow, withBodies: Bool = true) throws {
        self.init(
            id: try row.decode("id"),
            agentID: try row.decode("agent_id"),
            executionID: try row.decode("execution_id"),
            step: try row.decode("step"),
            status: try row.decode("status"),
            priority: try row.decode("priority"),
            attempt: try row.decode("attempt"),
            maxAttempts: try row.decode("max_attempts"),
            runAt: try row.decode("run_at"),
            idempotencyKey: try row.decode("idempotency_key"),
            requestJSON: withBodies ? try row.decode("request", as: PostgresJSONText?.self)?.text : nil,
            resultJSON: withBodies ? try row.decode("result", as: PostgresJSONText?.self)?.text : nil,
            errorJSON: withBodies ? try row.decode("error", as: PostgresJSONText?.self)?.text : nil,
            createdAt: try row.decode("created_at"),
            startedAt: try row.decode("started_at"),
            finishedAt: try row.decode("finished_at"),
            updatedAt: try row.decode("updated_at"),
            cancelRequestedAt: try row.decode("cancel_requested_at"),
            tenantID: try row.decode("tenant_id")
        )
    }
}

/// One provider call of a job (`model_usage`), as `GET /api/jobs/{id}` lists them.
public struct JobAttemptRecord: Sendable, Equatable {
    public var jobAttempt: Int
    public var provider: String
    public var modelID: String
    public var fallbackDepth: Int
    /// success | error
    public var outcome: String
    public var errorClass: String?
    public var httpStatus: Int?
    public var latencyMilliseconds: Int?
    public var inputTokens: Int?
    public var outputTokens: Int?
    public var cachedInputTokens: Int?
    public var cacheCreationInputTokens: Int?
    public var reasoningTokens: Int?
    /// USD, exact; nil when the price was unknown.
    public var cost: Decimal?
    public var workerID: String?
    public var providerRequestID: String?
    public var startedAt: Date
    public var finishedAt: Date
    /// The call was made by an attempt that had lost its lease (a duplicate provider call, still
    /// real spend; migrations/0031).
    public var superseded: Bool = false
    /// `downgrade`: a budget moved the call to a cheaper model of the chain (migrations/0033).
    public var budgetDecision: String? = nil
    /// What the call reserved against its budgets (its maximum cost); nil: no budget applied.
    public var reservedUSD: String? = nil
}
