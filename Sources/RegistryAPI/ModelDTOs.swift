import Catalog
import Foundation
import Storage

/// A catalog model as the API serves it: the model's own JSON (`LLMModel`'s Codable, the column
/// names) plus the status to act on today and the locally edited fields.
struct ModelBody: Encodable, Sendable {
    var stored: StoredModel
    var today: Date

    enum ExtraKeys: String, CodingKey {
        case id
        case effectiveStatus = "effective_status"
        case locallyEditedFields = "locally_edited_fields"
    }

    func encode(to encoder: any Encoder) throws {
        try stored.model.encode(to: encoder)
        var container = encoder.container(keyedBy: ExtraKeys.self)
        // The API writes UUIDs in lowercase (RFC 4122, and as PostgreSQL prints them).
        try container.encodeIfPresent(stored.model.id?.jsonString, forKey: .id)
        try container.encode(stored.model.effectiveStatus(on: today), forKey: .effectiveStatus)
        try container.encode(stored.locallyEditedFields, forKey: .locallyEditedFields)
    }
}

struct ModelListBody: Encodable, Sendable {
    var models: [ModelBody]
    var count: Int
    var total: Int
    var nextCursor: String?

    enum CodingKeys: String, CodingKey {
        case models, count, total
        case nextCursor = "next_cursor"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(models, forKey: .models)
        try c.encode(count, forKey: .count)
        try c.encode(total, forKey: .total)
        try c.encode(nextCursor, forKey: .nextCursor)
    }
}

struct ProvidersViewBody: Encodable, Sendable {
    struct Entry: Encodable, Sendable {
        var name: String
        var apiStyle: String
        var enabled: Bool
        var modelCount: Int
        var models: [ModelBody]

        enum CodingKeys: String, CodingKey {
            case name, enabled, models
            case apiStyle = "api_style"
            case modelCount = "model_count"
        }
    }
    var providers: [Entry]
}

struct RetireBody: Encodable, Sendable {
    struct AffectedAgent: Encodable, Sendable {
        var id: String
        var name: String
        var role: ModelUsageByAgent.Role
    }
    var model: ModelBody
    /// Agents that still name the model (only possible with `force=true`); the gateway skips a
    /// retired model in their chains.
    var affectedAgents: [AffectedAgent]

    enum CodingKeys: String, CodingKey {
        case model
        case affectedAgents = "affected_agents"
    }
}

/// The fields a person compares, side by side.
struct ComparedModel: Encodable, Sendable {
    var modelID: String
    var displayName: String
    var provider: String
    var status: ModelStatus
    var contextWindow: Int?
    var maxOutputTokens: Int?
    var inputCostPer1K: Decimal?
    var outputCostPer1K: Decimal?
    var inputCostPer1M: Decimal?
    var outputCostPer1M: Decimal?
    var blendedCostPer1K: Decimal?
    var capabilities: [String]
    var supportsFunctions: Bool
    var supportsVision: Bool
    var supportsStreaming: Bool
    var recommendedFor: [String]
    var deprecationDate: CalendarDate?
    var successorModelID: String?

    init(_ model: LLMModel, today: Date) {
        modelID = model.modelID
        displayName = model.displayName
        provider = model.provider
        status = model.effectiveStatus(on: today)
        contextWindow = model.contextWindow
        maxOutputTokens = model.maxOutputTokens
        inputCostPer1K = model.inputCostPer1K
        outputCostPer1K = model.outputCostPer1K
        inputCostPer1M = model.inputCostPer1M
        outputCostPer1M = model.outputCostPer1M
        blendedCostPer1K = model.blendedCostPer1K
        capabilities = model.capabilities
        supportsFunctions = model.supportsFunctions
        supportsVision = model.supportsVision
        supportsStreaming = model.supportsStreaming
        recommendedFor = model.recommendedFor
        deprecationDate = model.deprecationDate
        successorModelID = model.successorModelID
    }

    enum CodingKeys: String, CodingKey {
        case provider, status, capabilities
        case modelID = "model_id"
        case displayName = "display_name"
        case contextWindow = "context_window"
        case maxOutputTokens = "max_output_tokens"
        case inputCostPer1K = "input_cost_per_1k"
        case outputCostPer1K = "output_cost_per_1k"
        case inputCostPer1M = "input_cost_per_1m"
        case outputCostPer1M = "output_cost_per_1m"
        case blendedCostPer1K = "blended_cost_per_1k"
        case supportsFunctions = "supports_functions"
        case supportsVision = "supports_vision"
        case supportsStreaming = "supports_streaming"
        case recommendedFor = "recommended_for"
        case deprecationDate = "deprecation_date"
        case successorModelID = "successor_model_id"
    }

    /// Every key written, nulls included: a comparison table needs every cell.
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(modelID, forKey: .modelID)
        try c.encode(displayName, forKey: .displayName)
        try c.encode(provider, forKey: .provider)
        try c.encode(status, forKey: .status)
        try c.encode(contextWindow, forKey: .contextWindow)
        try c.encode(maxOutputTokens, forKey: .maxOutputTokens)
        try c.encode(inputCostPer1K, forKey: .inputCostPer1K)
        try c.encode(outputCostPer1K, forKey: .outputCostPer1K)
        try c.encode(inputCostPer1M, forKey: .inputCostPer1M)
        try c.encode(outputCostPer1M, forKey: .outputCostPer1M)
        try c.encode(blendedCostPer1K, forKey: .blendedCostPer1K)
        try c.encode(capabilities, forKey: .capabilities)
        try c.encode(supportsFunctions, forKey: .supportsFunctions)
        try c.encode(supportsVision, forKey: .supportsVision)
        try c.encode(supportsStreaming, forKey: .supportsStreaming)
        try c.encode(recommendedFor, forKey: .recommendedFor)
        try c.encode(deprecationDate, forKey: .deprecationDate)
        try c.encode(successorModelID, forKey: .successorModelID)
    }
}

struct CompareBody: Encodable, Sendable {
    var models: [ComparedModel]
    /// Lowest blended price among the priced models (nil when none is priced).
    var cheapestModelID: String?
    var largestContextModelID: String?

    enum CodingKeys: String, CodingKey {
        case models
        case cheapestModelID = "cheapest_model_id"
        case largestContextModelID = "largest_context_model_id"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(models, forKey: .models)
        try c.encode(cheapestModelID, forKey: .cheapestModelID)
        try c.encode(largestContextModelID, forKey: .largestContextModelID)
    }
}

struct EstimateCostRequest: Decodable, Sendable {
    var modelID: String
    var inputTokens: Int
    var outputTokens: Int
    var cachedInputTokens: Int?

    enum CodingKeys: String, CodingKey {
        case modelID = "model_id"
        case inputTokens = "input_tokens"
        case outputTokens = "output_tokens"
        case cachedInputTokens = "cached_input_tokens"
    }
}

struct EstimateCostBody: Encodable, Sendable {
    var breakdown: CostBreakdown

    enum CodingKeys: String, CodingKey {
        case modelID = "model_id"
        case inputTokens = "input_tokens"
        case outputTokens = "output_tokens"
        case cachedInputTokens = "cached_input_tokens"
        case inputCostPer1K = "input_cost_per_1k"
        case outputCostPer1K = "output_cost_per_1k"
        case cachedInputCostPer1K = "cached_input_cost_per_1k"
        case inputCost = "input_cost"
        case cachedInputCost = "cached_input_cost"
        case outputCost = "output_cost"
        case totalCost = "total_cost"
        case currency
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(breakdown.modelID, forKey: .modelID)
        try c.encode(breakdown.inputTokens, forKey: .inputTokens)
        try c.encode(breakdown.outputTokens, forKey: .outputTokens)
        try c.encode(breakdown.cachedInputTokens, forKey: .cachedInputTokens)
        try c.encode(breakdown.inputCostPer1K, forKey: .inputCostPer1K)
        try c.encode(breakdown.outputCostPer1K, forKey: .outputCostPer1K)
        try c.encode(breakdown.cachedInputCostPer1K, forKey: .cachedInputCostPer1K)
        try c.encode(breakdown.inputCost, forKey: .inputCost)
        try c.encode(breakdown.cachedInputCost, forKey: .cachedInputCost)
        try c.encode(breakdown.outputCost, forKey: .outputCost)
        try c.encode(breakdown.totalCost, forKey: .totalCost)
        try c.encode("USD", forKey: .currency)
    }
}

struct RecommendationsBody: Encodable, Sendable {
    var recommendations: [Recommendation]
    var consideredCount: Int
    var exclusions: [Exclusion]

    enum CodingKeys: String, CodingKey {
        case recommendations, exclusions
        case consideredCount = "considered_count"
    }
}

struct ImportReportBody: Encodable, Sendable {
    struct UpdatedModel: Encodable, Sendable {
        var modelID: String
        var fields: [String]
        enum CodingKeys: String, CodingKey {
            case fields
            case modelID = "model_id"
        }
    }

    struct SkipGroup: Encodable, Sendable {
        var reason: String
        var category: String
        var count: Int
        var examples: [String]
    }

    var format: String
    var inserted: Int
    var updated: Int
    var unchanged: Int
    var skipped: Int
    var insertedModelIDs: [String]
    var updatedModels: [UpdatedModel]
    var skippedReasons: [SkipGroup]

    init(format: CatalogImporter.Format, report: CatalogImporter.Report) {
        self.format = format.rawValue
        inserted = report.inserted.count
        updated = report.updated.count
        unchanged = report.unchanged.count
        skipped = report.skipped.count
        insertedModelIDs = report.inserted
        updatedModels = report.updated.map { UpdatedModel(modelID: $0.modelID, fields: $0.fields) }
        skippedReasons = report.skippedByReason.map {
            SkipGroup(reason: $0.reason, category: $0.category, count: $0.count, examples: $0.examples)
        }
    }

    enum CodingKeys: String, CodingKey {
        case format, inserted, updated, unchanged, skipped
        case insertedModelIDs = "inserted_model_ids"
        case updatedModels = "updated_models"
        case skippedReasons = "skipped_reasons"
    }
}

extension UUID {
    /// Lowercase text, as the API writes ids.
    var jsonString: String { uuidString.lowercased() }
}
