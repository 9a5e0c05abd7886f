import Foundation

/// A row of `llm_models`: one model of the catalog with its capabilities, limits, prices and lifecycle.
///
/// Prices are exact `Decimal` USD per 1,000 tokens. `nil` means the price is unknown (e.g. a
/// HuggingFace router model whose price depends on the serving provider) and must never be read as 0:
/// `CostCalculator` refuses to price such a model.
public struct LLMModel: Sendable, Equatable, Hashable {
    /// Database row id; nil for a model not stored yet (an import candidate, an API create body).
    public var id: UUID?
    /// `llm_providers.name` of the provider that serves the model.
    public var provider: String
    /// Provider-side model name, sent verbatim on the wire; unique in the catalog.
    /// May contain `/`, `:` and `.` (`meta-llama/Llama-3.1-8B-Instruct`).
    public var modelID: String
    public var displayName: String
    /// Family for grouping ("gpt-4o", "claude-4.5"); nil when unknown.
    public var modelFamily: String?
    /// Capability tags, lower_snake_case (chat, function_calling, vision, reasoning, …).
    public var capabilities: [String]
    /// Maximum input (prompt) tokens; nil = unknown.
    public var contextWindow: Int?
    /// Maximum output tokens per request; nil = unknown.
    public var maxOutputTokens: Int?
    public var supportsFunctions: Bool
    public var supportsVision: Bool
    public var supportsStreaming: Bool
    /// USD per 1,000 input tokens, exact; nil = unknown (never 0 by default).
    public var inputCostPer1K: Decimal?
    /// USD per 1,000 output tokens, exact; nil = unknown.
    public var outputCostPer1K: Decimal?
    /// USD per 1,000 prompt tokens read from the provider's cache; nil = no discount known
    /// (cached tokens are then priced at `inputCostPer1K`).
    public var cachedInputCostPer1K: Decimal?
    /// USD per 1,000 prompt tokens written to the provider's cache (Anthropic bills these above the
    /// input price); nil = unknown (cache-write tokens are then priced at `inputCostPer1K`).
    public var cacheCreationInputCostPer1K: Decimal?
    public var description: String?
    public var releaseDate: CalendarDate?
    /// From this day on the model counts as deprecated even if `status` still says active
    /// (see `effectiveStatus(on:)`).
    public var deprecationDate: CalendarDate?
    /// The stored status. Use `effectiveStatus(on:)` for decisions: it also honours `deprecationDate`.
    public var status: ModelStatus
    /// Task tags for the recommender (reasoning, coding, chat, summarization, classification,
    /// extraction, vision, analysis, long_context).
    public var recommendedFor: [String]
    public var defaultTemperature: Double
    /// min = max means the model accepts only that one value.
    public var minTemperature: Double
    public var maxTemperature: Double
    /// Suggested replacement (plain text, may name a model not in the catalog).
    public var successorModelID: String?
    /// Origin of the row: "seed", "litellm", "manual".
    public var source: String
    public var createdAt: Date?
    public var updatedAt: Date?

    /// Defaults are the column defaults of `llm_models`.
    public init(
        id: UUID? = nil,
        provider: String,
        modelID: String,
        displayName: String,
        modelFamily: String? = nil,
        capabilities: [String] = [],
        contextWindow: Int? = nil,
        maxOutputTokens: Int? = nil,
        supportsFunctions: Bool = false,
        supportsVision: Bool = false,
        supportsStreaming: Bool = true,
        inputCostPer1K: Decimal? = nil,
        outputCostPer1K: Decimal? = nil,
        cachedInputCostPer1K: Decimal? = nil,
        cacheCreationInputCostPer1K: Decimal? = nil,
        description: String? = nil,
        releaseDate: CalendarDate? = nil,
        deprecationDate: CalendarDate? = nil,
        status: ModelStatus = .active,
        recommendedFor: [String] = [],
        defaultTemperature: Double = 0.7,
        minTemperature: Double = 0,
        maxTemperature: Double = 2,
        successorModelID: String? = nil,
        source: String = "manual",
        createdAt: Date? = nil,
        updatedAt: Date? = nil
    ) {
        self.id = id
        self.provider = provider
        self.modelID = modelID
        self.displayName = displayName
        self.modelFamily = modelFamily
        self.capabilities = capabilities
        self.contextWindow = contextWindow
        self.maxOutputTokens = maxOutputTokens
        self.supportsFunctions = supportsFunctions
        self.supportsVision = supportsVision
        self.supportsStreaming = supportsStreaming
        self.inputCostPer1K = inputCostPer1K
        self.outputCostPer1K = outputCostPer1K
        self.cachedInputCostPer1K = cachedInputCostPer1K
        self.cacheCreationInputCostPer1K = cacheCreationInputCostPer1K
        self.description = description
        self.releaseDate = releaseDate
        self.deprecationDate = deprecationDate
        self.status = status
        self.recommendedFor = recommendedFor
        self.defaultTemperature = defaultTemperature
        self.minTemperature = minTemperature
        self.maxTemperature = maxTemperature
        self.successorModelID = successorModelID
        self.source = source
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}
