import Foundation

/// One recommended model with its score and the reasons behind it.
public struct Recommendation: Sendable, Equatable, Codable {
    public var model: LLMModel
    /// 0–100, higher is better; one decimal.
    public var score: Double
    /// Plain-language reasons ("recommended for coding", "128,000-token context window", …).
    public var reasons: [String]
    /// The blended price the cost criterion used (USD per 1K tokens, 3:1 input:output); nil = unknown.
    public var blendedCostPer1K: Decimal?

    public init(model: LLMModel, score: Double, reasons: [String], blendedCostPer1K: Decimal?) {
        self.model = model
        self.score = score
        self.reasons = reasons
        self.blendedCostPer1K = blendedCostPer1K
    }

    public enum CodingKeys: String, CodingKey {
        case model, score, reasons
        case blendedCostPer1K = "blended_cost_per_1k"
    }
}

/// Why a model was ruled out. A model may be ruled out for several reasons; each is counted.
public enum ExclusionReason: Sendable, Hashable {
    case deprecated
    case retired
    /// Blended price above the requested max_cost (the associated value).
    case exceedsMaxCost(Decimal)
    /// max_cost was given but the model's price is unknown.
    case priceUnknown
    /// Context window below the requested min_context (the associated value).
    case contextTooSmall(Int)
    /// min_context was given but the model's context window is unknown.
    case contextUnknown
    /// The model lacks a required capability tag.
    case missingCapability(String)
    case lacksFunctions
    case lacksVision

    /// Stable machine-readable code, for grouping in an API response.
    public var code: String {
        switch self {
        case .deprecated: return "deprecated"
        case .retired: return "retired"
        case .exceedsMaxCost: return "exceeds_max_cost"
        case .priceUnknown: return "price_unknown"
        case .contextTooSmall: return "context_too_small"
        case .contextUnknown: return "context_unknown"
        case .missingCapability: return "missing_capability"
        case .lacksFunctions: return "lacks_functions"
        case .lacksVision: return "lacks_vision"
        }
    }

    /// "12 models exceed max_cost 0.001 …", "1 model lacks vision".
    public func message(count: Int) -> String {
        let noun = count == 1 ? "model" : "models"
        let isAre = count == 1 ? "is" : "are"
        let s = count == 1 ? "s" : ""  // third person singular verb ending
        let has = count == 1 ? "has" : "have"
        switch self {
        case .deprecated: return "\(count) \(noun) \(isAre) deprecated"
        case .retired: return "\(count) \(noun) \(isAre) retired"
        case .exceedsMaxCost(let max):
            return "\(count) \(noun) exceed\(s) max_cost \(max) (blended USD per 1K tokens, 3:1 input:output)"
        case .priceUnknown: return "\(count) \(noun) \(has) no known price, so max_cost cannot be checked"
        case .contextTooSmall(let min): return "\(count) \(noun) \(has) a context window below min_context \(min)"
        case .contextUnknown: return "\(count) \(noun) \(has) an unknown context window"
        case .missingCapability(let tag): return "\(count) \(noun) lack\(s) capability '\(tag)'"
        case .lacksFunctions: return "\(count) \(noun) lack\(s) function calling"
        case .lacksVision: return "\(count) \(noun) lack\(s) vision"
        }
    }
}

/// How many models one reason ruled out.
public struct Exclusion: Sendable, Equatable, Encodable {
    public var reason: ExclusionReason
    public var count: Int
    /// Which models (sorted), so a person can check.
    public var modelIDs: [String]
    /// Plain-language summary, e.g. "3 models lack vision".
    public var message: String { reason.message(count: count) }

    public init(reason: ExclusionReason, count: Int, modelIDs: [String]) {
        self.reason = reason
        self.count = count
        self.modelIDs = modelIDs
    }

    enum CodingKeys: String, CodingKey {
        case reason, count, message
        case modelIDs = "model_ids"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(reason.code, forKey: .reason)
        try c.encode(count, forKey: .count)
        try c.encode(message, forKey: .message)
        try c.encode(modelIDs, forKey: .modelIDs)
    }
}

/// The recommender's answer: the ranking, and what ruled the other models out.
public struct RecommendationResult: Sendable, Equatable {
    /// Best first. Empty when nothing matched.
    public var recommendations: [Recommendation]
    /// Per reason, how many models it ruled out (largest count first). Filled whether or not
    /// anything matched; it is what a "no match" reply shows.
    public var exclusions: [Exclusion]
    /// How many models were looked at.
    public var consideredCount: Int

    public init(recommendations: [Recommendation], exclusions: [Exclusion], consideredCount: Int) {
        self.recommendations = recommendations
        self.exclusions = exclusions
        self.consideredCount = consideredCount
    }

    public var hasMatches: Bool { !recommendations.isEmpty }

    /// One sentence per exclusion reason, for a 404 reply.
    public var exclusionMessages: [String] { exclusions.map(\.message) }
}

extension RecommendationResult: Encodable {
    public enum CodingKeys: String, CodingKey {
        case recommendations, exclusions
        case consideredCount = "considered_count"
    }
}
