import Catalog
import Foundation
import Postgres

/// A row of `agents`: identity, the legacy model columns (read-only for Switchboard, kept for
/// older readers), and the structured `model_config`
/// (usage lives in `agent_usage_daily`; `model_usage_stats` is deprecated and not read).
public struct AgentRecord: Sendable, Equatable {
    public var id: UUID
    public var name: String
    public var agentType: String
    public var description: String?
    public var skills: [String]
    /// active | inactive | archived (CHECK in 0001).
    public var status: String
    public var preferredModel: String?
    public var temperature: Double?
    public var maxTokens: Int?
    /// nil: a row written by pre-Switchboard code; `effectiveModelConfig` derives one.
    public var modelConfig: ModelConfiguration?
    public var createdAt: Date
    public var updatedAt: Date
    /// Fixed at creation: an agent never moves between tenants (its jobs and usage stay with it).
    public var tenantID: UUID

    public static let statuses = ["active", "inactive", "archived"]

    public init(
        id: UUID = UUID(), name: String, agentType: String, description: String? = nil, skills: [String] = [],
        status: String = "active", preferredModel: String? = nil, temperature: Double? = nil, maxTokens: Int? = nil,
        modelConfig: ModelConfiguration? = nil,
        createdAt: Date = Date(), updatedAt: Date = Date(), tenantID: UUID = TenantRecord.defaultID
    ) {
        self.tenantID = tenantID
        self.id = id
        self.name = name
        self.agentType = agentType
        self.description = description
        self.skills = skills
        self.status = status
        self.preferredModel = preferredModel
        self.temperature = temperature
        self.maxTokens = maxTokens
        self.modelConfig = modelConfig
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// The configuration the gateway runs: the stored one, else the legacy columns mapped with the
    /// backfill's rules (0002).
    public var effectiveModelConfig: ModelConfiguration {
        modelConfig ?? LegacyModelMapping.configuration(preferredModel: preferredModel, temperature: temperature, maxTokens: maxTokens)
    }
}

extension AgentRecord {
    static let columns: SQL = """
        id, name, agent_type, description, skills, status, preferred_model, temperature, max_tokens,
        model_config, created_at, updated_at, tenant_id
        """

    init(row: PostgresRow) throws {
        self.init(
            id: try row.decode("id"),
            name: try row.decode("name"),
            agentType: try row.decode("agent_type"),
            description: try row.decode("description"),
            skills: try row.decode("skills"),
            status: try row.decode("status"),
            preferredModel: try row.decode("preferred_model"),
            temperature: try row.decode("temperature"),
            maxTokens: try row.decode("max_tokens"),
            modelConfig: try row.decode("model_config", as: PostgresJSON<ModelConfiguration>?.self)?.value,
            createdAt: try row.decode("created_at"),
            updatedAt: try row.decode("updated_at"),
            tenantID: try row.decode("tenant_id")
        )
    }
}
