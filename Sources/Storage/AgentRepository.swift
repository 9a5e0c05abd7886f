import Catalog
import Foundation
import Postgres

/// `agents`. Inserts, deletes and updates that touch the model configuration, status or legacy
/// model columns fire the `switchboard_config` NOTIFY (row level, with the agent id; 0010).
public struct AgentRepository: Sendable {
    public let pool: PostgresPool

    public init(pool: PostgresPool) {
        self.pool = pool
    }

    public struct Filter: Sendable {
        public var status: String?
        public var agentType: String?
        /// Agents whose configuration names this model (primary or fallback), legacy rows included
        /// (their `preferred_model`, mapped as the backfill does).
        public var modelID: String?
        public var limit: Int
        public var offset: Int
        public var scope: TenantScope

        public init(
            status: String? = nil, agentType: String? = nil, modelID: String? = nil, limit: Int = 100, offset: Int = 0,
            scope: TenantScope = .all
        ) {
            self.scope = scope
            self.status = status
            self.agentType = agentType
            self.modelID = modelID
            self.limit = limit
            self.offset = offset
        }
    }

    /// A page of agents and how many match the filter in all.
    public func page(_ filter: Filter) async throws -> (agents: [AgentRecord], total: Int) {
        let condition = try Self.condition(filter)
        let total = try await pool.query("SELECT count(*) AS total FROM agents WHERE \(condition)").rows.first?
            .decode("total", as: Int.self) ?? 0
        let agents = try await pool.query("""
            SELECT \(AgentRecord.columns) FROM agents
             WHERE \(condition)
             ORDER BY name, id
             LIMIT \(filter.limit) OFFSET \(filter.offset)
            """).rows.map(AgentRecord.init(row:))
        return (agents, total)
    }

    static func condition(_ filter: Filter) throws -> SQL {
        var conditions: [SQL] = [filter.scope.condition("tenant_id")]
        if let status = filter.status { conditions.append("status = \(status)") }
        if let agentType = filter.agentType { conditions.append("agent_type = \(agentType)") }
        if let modelID = filter.modelID {
            let primary = try PostgresJSON(["model_id": modelID])
            let fallback = try PostgresJSON(["fallback_model_ids": [modelID]])
            conditions.append("""
                (model_config @> \(primary)
                 OR model_config @> \(fallback)
                 OR (model_config IS NULL
                     AND coalesce(nullif(btrim(preferred_model), ''), \(LegacyModelMapping.defaultModelID)) = \(modelID)))
                """)
        }
        return SQL.joined(conditions, separator: " AND ")
    }

    public func find(_ id: UUID) async throws -> AgentRecord? {
        try await pool.query("SELECT \(AgentRecord.columns) FROM agents WHERE id = \(id)").rows.first.map(AgentRecord.init(row:))
    }

    public func create(_ agent: AgentRecord, actor: ChangeActor? = nil) async throws -> AgentRecord {
        try await create(actor: actor) { _ in agent }
    }

    /// Inserts the agent `build` returns, in one transaction with whatever `build` reads on the
    /// connection (e.g. the models of its chain `FOR SHARE`).
    public func create(actor: ChangeActor?, _ build: (PostgresConnection) async throws -> AgentRecord) async throws -> AgentRecord {
        try await pool.withTransaction { connection in
            try await connection.announce(actor)
            let agent = try await build(connection)
            return try await insert(agent, on: connection)
        }
    }

    private func insert(_ agent: AgentRecord, on connection: PostgresConnection) async throws -> AgentRecord {
        let modelConfig = try agent.modelConfig.map(PostgresJSON.init)
        let rows = try await connection.query("""
            INSERT INTO agents (id, name, agent_type, description, skills, status, preferred_model, temperature,
                                max_tokens, model_config, tenant_id)
            VALUES (\(agent.id), \(agent.name), \(agent.agentType), \(agent.description), \(agent.skills), \(agent.status),
                    \(agent.preferredModel), \(agent.temperature), \(agent.maxTokens), \(modelConfig), \(agent.tenantID))
            RETURNING \(AgentRecord.columns)
            """).rows
        guard let row = rows.first else { throw PostgresError(kind: .decoding, message: "INSERT … RETURNING returned no row") }
        return try AgentRecord(row: row)
    }

    /// Reads the agent with a row lock, lets `change` edit it, and writes it back in the same
    /// transaction, so two concurrent updates cannot lose each other's fields. nil when the agent
    /// does not exist. Errors thrown by `change` roll back and propagate.
    public func update(_ id: UUID, actor: ChangeActor? = nil, _ change: (inout AgentRecord) throws -> Void) async throws -> AgentRecord? {
        try await update(id, actor: actor) { agent, _ in try change(&agent) }
    }

    /// As `update(_:actor:_:)`, with the transaction's connection for reads that must happen under
    /// the same locks (the chain's models `FOR SHARE`).
    public func update(
        _ id: UUID, actor: ChangeActor?, _ change: (inout AgentRecord, PostgresConnection) async throws -> Void
    ) async throws -> AgentRecord? {
        try await pool.withTransaction { connection in
            try await connection.announce(actor)
            guard let row = try await connection.query("SELECT \(AgentRecord.columns) FROM agents WHERE id = \(id) FOR UPDATE").rows.first else {
                return nil
            }
            var agent = try AgentRecord(row: row)
            try await change(&agent, connection)
            let rows = try await connection.query("""
                UPDATE agents
                   SET name = \(agent.name), agent_type = \(agent.agentType), description = \(agent.description),
                       skills = \(agent.skills), status = \(agent.status), preferred_model = \(agent.preferredModel),
                       temperature = \(agent.temperature), max_tokens = \(agent.maxTokens),
                       model_config = \(try agent.modelConfig.map(PostgresJSON.init)), updated_at = now()
                 WHERE id = \(id)
                RETURNING \(AgentRecord.columns)
                """).rows
            return try rows.first.map(AgentRecord.init(row:))
        }
    }

    public enum DeleteOutcome: Sendable, Equatable {
        case deleted
        case notFound
        /// Jobs refer to the agent (llm_jobs.agent_id has no cascade, on purpose: job history stays).
        case hasJobs(Int)
    }

    public func delete(_ id: UUID, actor: ChangeActor? = nil) async throws -> DeleteOutcome {
        try await pool.withTransaction { connection in
            try await connection.announce(actor)
            let jobs = try await connection.query("SELECT count(*) AS jobs FROM llm_jobs WHERE agent_id = \(id)").rows.first?
                .decode("jobs", as: Int.self) ?? 0
            if jobs > 0 {
                let exists = try await connection.query("SELECT 1 AS found FROM agents WHERE id = \(id)").rows.isEmpty == false
                return exists ? .hasJobs(jobs) : .notFound
            }
            return try await connection.execute("DELETE FROM agents WHERE id = \(id)") == 1 ? .deleted : .notFound
        }
    }
}
