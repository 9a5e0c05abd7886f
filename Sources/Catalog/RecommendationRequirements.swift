import Foundation

/// What a caller needs from a model (`POST /api/models/recommend`; the PRD's fields plus
/// needs_functions / needs_vision).
///
/// Hard filters (a model failing one is ruled out): `maxCost`, `minContext`, `requiredCapabilities`,
/// `needsFunctions`, `needsVision`, and the effective status (deprecated/retired never recommended).
/// Soft preferences (they only move the score): `taskType`, `preferProvider`.
public struct RecommendationRequirements: Sendable, Equatable, Hashable {
    /// A `recommended_for` tag: reasoning, coding, chat, summarization, classification, extraction,
    /// vision, analysis, long_context.
    public var taskType: String?
    /// Most the caller will pay, in USD per 1K tokens, compared with the model's blended price
    /// `(3 × input + output) / 4` per 1K tokens (`LLMModel.blendedCostPer1K`). A model with an unknown
    /// price is ruled out when `maxCost` is set (it might cost anything).
    public var maxCost: Decimal?
    /// Smallest acceptable context window (input tokens). A model with an unknown window is ruled out.
    public var minContext: Int?
    /// Capability tags the model must have (see `LLMModel.hasCapability`).
    public var requiredCapabilities: [String]
    /// Provider to favour (a score bonus, not a filter).
    public var preferProvider: String?
    public var needsFunctions: Bool
    public var needsVision: Bool

    public init(
        taskType: String? = nil,
        maxCost: Decimal? = nil,
        minContext: Int? = nil,
        requiredCapabilities: [String] = [],
        preferProvider: String? = nil,
        needsFunctions: Bool = false,
        needsVision: Bool = false
    ) {
        self.taskType = taskType
        self.maxCost = maxCost
        self.minContext = minContext
        self.requiredCapabilities = requiredCapabilities
        self.preferProvider = preferProvider
        self.needsFunctions = needsFunctions
        self.needsVision = needsVision
    }
}

extension RecommendationRequirements: Codable {
    public enum CodingKeys: String, CodingKey, CaseIterable {
        case taskType = "task_type"
        case maxCost = "max_cost"
        case minContext = "min_context"
        case requiredCapabilities = "required_capabilities"
        case preferProvider = "prefer_provider"
        case needsFunctions = "needs_functions"
        case needsVision = "needs_vision"
    }

    /// Every key a client may send (the API rejects others).
    public static let acceptedJSONKeys: Set<String> = Set(CodingKeys.allCases.map(\.rawValue))

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            taskType: try c.decodeIfPresent(String.self, forKey: .taskType),
            maxCost: try c.decodeIfPresent(Decimal.self, forKey: .maxCost),
            minContext: try c.decodeIfPresent(Int.self, forKey: .minContext),
            requiredCapabilities: try c.decodeIfPresent([String].self, forKey: .requiredCapabilities) ?? [],
            preferProvider: try c.decodeIfPresent(String.self, forKey: .preferProvider),
            needsFunctions: try c.decodeIfPresent(Bool.self, forKey: .needsFunctions) ?? false,
            needsVision: try c.decodeIfPresent(Bool.self, forKey: .needsVision) ?? false
        )
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(taskType, forKey: .taskType)
        try c.encode(maxCost, forKey: .maxCost)
        try c.encode(minContext, forKey: .minContext)
        try c.encode(requiredCapabilities, forKey: .requiredCapabilities)
        try c.encode(preferProvider, forKey: .preferProvider)
        try c.encode(needsFunctions, forKey: .needsFunctions)
        try c.encode(needsVision, forKey: .needsVision)
    }
}
