import Foundation
import Postgres

/// What the OpenAI/Anthropic-compatible `/v1` endpoints need from `agents`: agents by name, the
/// list for `GET /v1/models`, and the one agent that owns calls naming a catalog model directly.
extension AgentRepository {
    /// Owner of `/v1` calls whose `model` is a plain catalog model id: every job needs an agent
    /// (`llm_jobs.agent_id`), and usage rows and counters are kept per agent. A fixed id, so every
    /// registry process finds the same row without coordination. Archive it to refuse direct calls.
    public static let directAgentID = UUID(uuidString: "00000000-0000-4000-8000-00000000d1ec")!
    public static let directAgentType = "switchboard_direct"

    /// The tenant's direct-calls agent, created unless it exists (any status: an operator may have
    /// archived it on purpose). No `model_config`: its jobs always name their model
    /// (`request.model`). The default tenant's has the fixed `directAgentID`; other tenants' get
    /// one on first use (one per tenant, by a unique index).
    public func ensureDirectAgent(tenantID: UUID = TenantRecord.defaultID) async throws -> AgentRecord {
        let id = tenantID == TenantRecord.defaultID ? Self.directAgentID : UUID()
        try await pool.execute("""
            INSERT INTO agents (id, name, agent_type, description, tenant_id)
            VALUES (\(id), 'direct model calls (/v1)', \(Self.directAgentType),
                    'Owns /v1 calls that name a catalog model instead of an agent, for usage accounting. Archive it to refuse such calls.',
                    \(tenantID))
            ON CONFLICT DO NOTHING
            """)
        guard let agent = try await pool.query("""
            SELECT \(AgentRecord.columns) FROM agents WHERE tenant_id = \(tenantID) AND agent_type = \(Self.directAgentType)
            """).rows.first.map(AgentRecord.init(row:)) else {
            throw PostgresError(kind: .decoding, message: "the direct-calls agent of tenant \(tenantID) is missing")
        }
        return agent
    }

    /// Agents of `scope` named exactly `name` (the direct-calls agent excluded), active ones first,
    /// then newest.
    public func find(named name: String, scope: TenantScope = .all, limit: Int = 3) async throws -> [AgentRecord] {
        try await pool.query("""
            SELECT \(AgentRecord.columns) FROM agents
             WHERE name = \(name) AND agent_type <> \(Self.directAgentType) AND \(scope.condition("tenant_id"))
             ORDER BY (status = 'active') DESC, created_at DESC, id
             LIMIT \(limit)
            """).rows.map(AgentRecord.init(row:))
    }

    /// An agent as `GET /v1/models` lists it.
    public struct ListedAgent: Sendable, Equatable {
        public var id: UUID
        public var name: String
        public var createdAt: Date
        /// Another active agent has the same name (so `agent:<name>` cannot name it).
        public var nameIsShared: Bool
    }

    /// Every active agent of `scope` (the direct-calls agent excluded), by name.
    public func activeForListing(scope: TenantScope = .all) async throws -> [ListedAgent] {
        try await pool.query("""
            SELECT id, name, created_at, count(*) OVER (PARTITION BY name) > 1 AS shared
              FROM agents
             WHERE status = 'active' AND agent_type <> \(Self.directAgentType) AND \(scope.condition("tenant_id"))
             ORDER BY name, id
            """).rows.map { row in
            ListedAgent(
                id: try row.decode("id"), name: try row.decode("name"), createdAt: try row.decode("created_at"),
                nameIsShared: try row.decode("shared"))
        }
    }
}
