import JSON
import Catalog
import Foundation
import Storage

/// Create and update bodies of `/api/agents`. Double optionals tell "sent as null" (clear it)
/// from "not sent" (leave it) for the nullable fields.
struct AgentInput: Decodable, Sendable {
    var name: String?
    var agentType: String?
    var description: String??
    var skills: [String]?
    var status: String?
    var modelConfig: ModelConfiguration?
    var preferredModel: String??
    var temperature: Double??
    var maxTokens: Int??
    /// Creation only: the owning tenant, by id or by name.
    var tenantID: String?
    var tenant: String?

    enum CodingKeys: String, CodingKey {
        case name, description, skills, status, temperature, tenant
        case tenantID = "tenant_id"
        case agentType = "agent_type"
        case modelConfig = "model_config"
        case preferredModel = "preferred_model"
        case maxTokens = "max_tokens"
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func nullable<T: Decodable>(_ type: T.Type, _ key: CodingKeys) throws -> T?? {
            c.contains(key) ? .some(try c.decodeIfPresent(T.self, forKey: key)) : nil
        }
        name = try c.decodeIfPresent(String.self, forKey: .name)
        agentType = try c.decodeIfPresent(String.self, forKey: .agentType)
        description = try nullable(String.self, .description)
        skills = try c.decodeIfPresent([String].self, forKey: .skills)
        status = try c.decodeIfPresent(String.self, forKey: .status)
        modelConfig = try c.decodeIfPresent(ModelConfiguration.self, forKey: .modelConfig)
        preferredModel = try nullable(String.self, .preferredModel)
        temperature = try nullable(Double.self, .temperature)
        maxTokens = try nullable(Int.self, .maxTokens)
        tenantID = try c.decodeIfPresent(String.self, forKey: .tenantID)
        tenant = try c.decodeIfPresent(String.self, forKey: .tenant)
    }

    /// Whether the client used the pre-Switchboard fields.
    var usesLegacyFields: Bool { preferredModel != nil || temperature != nil || maxTokens != nil }
}

/// An agent as the API serves it: its effective model configuration (stored, or derived from the
/// legacy columns) and, after a write, the validator's warnings.
struct AgentBody: Encodable, Sendable {
    var agent: AgentRecord
    var warnings: [FieldIssue]?

    enum CodingKeys: String, CodingKey {
        case id, name, description, skills, status, temperature, warnings
        case agentType = "agent_type"
        case modelConfig = "model_config"
        case modelConfigSource = "model_config_source"
        case preferredModel = "preferred_model"
        case maxTokens = "max_tokens"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case tenantID = "tenant_id"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(agent.id.jsonString, forKey: .id)
        try c.encode(agent.name, forKey: .name)
        try c.encode(agent.agentType, forKey: .agentType)
        try c.encode(agent.description, forKey: .description)
        try c.encode(agent.skills, forKey: .skills)
        try c.encode(agent.status, forKey: .status)
        try c.encode(agent.effectiveModelConfig, forKey: .modelConfig)
        try c.encode(agent.modelConfig == nil ? "legacy" : "stored", forKey: .modelConfigSource)
        try c.encode(agent.preferredModel, forKey: .preferredModel)
        try c.encode(agent.temperature, forKey: .temperature)
        try c.encode(agent.maxTokens, forKey: .maxTokens)
        try c.encode(agent.createdAt, forKey: .createdAt)
        try c.encode(agent.updatedAt, forKey: .updatedAt)
        try c.encode(agent.tenantID.jsonString, forKey: .tenantID)
        try c.encodeIfPresent(warnings, forKey: .warnings)
    }
}

struct AgentListBody: Encodable, Sendable {
    var agents: [AgentBody]
    var count: Int
    /// Agents matching the filters on every page.
    var total: Int
}

struct AgentModelConfigBody: Encodable, Sendable {
    /// Lowercase UUID text.
    var agentID: String
    var modelConfig: ModelConfiguration
    var source: String
    var warnings: [FieldIssue]

    enum CodingKeys: String, CodingKey {
        case source, warnings
        case agentID = "agent_id"
        case modelConfig = "model_config"
    }
}

struct AgentModelUsageBody: Encodable, Sendable {
    struct CurrentModel: Encodable, Sendable {
        var modelID: String
        var provider: String?
        var displayName: String?
        var status: ModelStatus?
        var inCatalog: Bool

        enum CodingKeys: String, CodingKey {
            case provider, status
            case modelID = "model_id"
            case displayName = "display_name"
            case inCatalog = "in_catalog"
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(modelID, forKey: .modelID)
            try c.encode(provider, forKey: .provider)
            try c.encode(displayName, forKey: .displayName)
            try c.encode(status, forKey: .status)
            try c.encode(inCatalog, forKey: .inCatalog)
        }
    }

    struct Entry: Encodable, Sendable {
        var totals: UsageRepository.ModelTotals
        var role: String

        enum CodingKeys: String, CodingKey {
            case provider, role, requests, successes, errors, cost
            case modelID = "model_id"
            case errorRate = "error_rate"
            case fallbackRequests = "fallback_requests"
            case inputTokens = "input_tokens"
            case outputTokens = "output_tokens"
            case cachedInputTokens = "cached_input_tokens"
            case cacheCreationInputTokens = "cache_creation_input_tokens"
            case reasoningTokens = "reasoning_tokens"
            case unpricedRequests = "unpriced_requests"
            case averageLatency = "avg_latency_ms"
            case firstUsedDay = "first_used_day"
            case lastUsedAt = "last_used_at"
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(totals.modelID, forKey: .modelID)
            try c.encode(totals.provider, forKey: .provider)
            try c.encode(role, forKey: .role)
            try c.encode(totals.requests, forKey: .requests)
            try c.encode(totals.successes, forKey: .successes)
            try c.encode(totals.errors, forKey: .errors)
            try c.encode(totals.errorRate, forKey: .errorRate)
            try c.encode(totals.fallbackRequests, forKey: .fallbackRequests)
            try c.encode(totals.inputTokens, forKey: .inputTokens)
            try c.encode(totals.outputTokens, forKey: .outputTokens)
            try c.encode(totals.cachedInputTokens, forKey: .cachedInputTokens)
            try c.encode(totals.cacheCreationInputTokens, forKey: .cacheCreationInputTokens)
            try c.encode(totals.reasoningTokens, forKey: .reasoningTokens)
            try c.encode(totals.cost, forKey: .cost)
            try c.encode(totals.unpricedRequests, forKey: .unpricedRequests)
            try c.encode(totals.averageLatencyMilliseconds, forKey: .averageLatency)
            try c.encode(totals.firstUsedDay?.description, forKey: .firstUsedDay)
            try c.encode(totals.lastUsedAt, forKey: .lastUsedAt)
        }
    }

    /// The PRD's usage shape over the window.
    struct Stats: Encodable, Sendable {
        var stats: UsageRepository.Stats

        enum CodingKeys: String, CodingKey {
            case successes, errors
            case totalTokens = "total_tokens"
            case totalCost = "total_cost"
            case totalRequests = "total_requests"
            case averageTokensPerRequest = "avg_tokens_per_request"
            case lastUsedAt = "last_used_at"
            case unpricedRequests = "unpriced_requests"
            case fallbackRequests = "fallback_requests"
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(stats.totalTokens, forKey: .totalTokens)
            try c.encode(stats.totalCost, forKey: .totalCost)
            try c.encode(stats.totalRequests, forKey: .totalRequests)
            try c.encode(stats.averageTokensPerRequest, forKey: .averageTokensPerRequest)
            try c.encode(stats.lastUsedAt, forKey: .lastUsedAt)
            try c.encode(stats.unpricedRequests, forKey: .unpricedRequests)
            try c.encode(stats.successes, forKey: .successes)
            try c.encode(stats.errors, forKey: .errors)
            try c.encode(stats.fallbackRequests, forKey: .fallbackRequests)
        }
    }

    struct Window: Encodable, Sendable {
        var window: UsageRepository.Window

        enum CodingKeys: String, CodingKey { case from, to }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(window.from?.description, forKey: .from)
            try c.encode(window.to?.description, forKey: .to)
        }
    }

    struct Totals: Encodable, Sendable {
        var requests = 0
        var successes = 0
        var errors = 0
        var inputTokens = 0
        var outputTokens = 0
        var cost: Decimal?
        var unpricedRequests = 0

        enum CodingKeys: String, CodingKey {
            case requests, successes, errors, cost
            case inputTokens = "input_tokens"
            case outputTokens = "output_tokens"
            case unpricedRequests = "unpriced_requests"
        }

        init(_ entries: [UsageRepository.ModelTotals]) {
            for entry in entries {
                requests += entry.requests
                successes += entry.successes
                errors += entry.errors
                inputTokens += entry.inputTokens
                outputTokens += entry.outputTokens
                unpricedRequests += entry.unpricedRequests
                if let entryCost = entry.cost { cost = (cost ?? 0) + entryCost }
            }
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(requests, forKey: .requests)
            try c.encode(successes, forKey: .successes)
            try c.encode(errors, forKey: .errors)
            try c.encode(inputTokens, forKey: .inputTokens)
            try c.encode(outputTokens, forKey: .outputTokens)
            try c.encode(cost, forKey: .cost)
            try c.encode(unpricedRequests, forKey: .unpricedRequests)
        }
    }

    /// Lowercase UUID text.
    var agentID: String
    var agentName: String
    var currentModel: CurrentModel
    var configuration: ModelConfiguration
    var window: Window
    var usageStats: Stats
    var models: [Entry]
    var totals: Totals

    init(
        agentID: String, agentName: String, currentModel: CurrentModel, configuration: ModelConfiguration,
        window: UsageRepository.Window, usageStats: UsageRepository.Stats, models: [Entry], totals: Totals
    ) {
        self.agentID = agentID
        self.agentName = agentName
        self.currentModel = currentModel
        self.configuration = configuration
        self.window = Window(window: window)
        self.usageStats = Stats(stats: usageStats)
        self.models = models
        self.totals = totals
    }

    enum CodingKeys: String, CodingKey {
        case configuration, models, totals, window
        case agentID = "agent_id"
        case agentName = "agent_name"
        case currentModel = "current_model"
        case usageStats = "usage_stats"
    }
}

struct AgentRecommendationsBody: Encodable, Sendable {
    /// Lowercase UUID text.
    var agentID: String
    var taskTypes: [TaskTypeMatch]
    var recommendations: [Recommendation]
    var consideredCount: Int
    var exclusions: [Exclusion]

    enum CodingKeys: String, CodingKey {
        case recommendations, exclusions
        case agentID = "agent_id"
        case taskTypes = "task_types"
        case consideredCount = "considered_count"
    }
}
