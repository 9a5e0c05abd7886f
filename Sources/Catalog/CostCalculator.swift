import Foundation

/// The exact cost of a number of tokens on one model, with the prices used, so a reply can show its work.
public struct CostBreakdown: Sendable, Equatable, Hashable {
    public var modelID: String
    /// All prompt tokens, cached ones included.
    public var inputTokens: Int
    public var outputTokens: Int
    /// The part of `inputTokens` served from the provider's prompt cache.
    public var cachedInputTokens: Int
    /// The part of `inputTokens` written to the provider's prompt cache (Anthropic).
    public var cacheCreationInputTokens: Int
    /// USD per 1K tokens used for the uncached input tokens.
    public var inputCostPer1K: Decimal
    public var outputCostPer1K: Decimal
    /// USD per 1K tokens used for the cached input tokens: the model's cached price, else its input price.
    public var cachedInputCostPer1K: Decimal
    /// USD per 1K tokens used for the cache-write tokens: the model's cache-write price, else its input price.
    public var cacheCreationInputCostPer1K: Decimal
    /// USD for the uncached input tokens.
    public var inputCost: Decimal
    /// USD for the cached input tokens.
    public var cachedInputCost: Decimal
    /// USD for the cache-write tokens.
    public var cacheCreationInputCost: Decimal
    public var outputCost: Decimal
    /// USD, exact: inputCost + cachedInputCost + cacheCreationInputCost + outputCost.
    public var totalCost: Decimal
}

/// Why a cost cannot be computed. Never answered with 0: an unknown price is not a free one.
public enum CostError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The model lacks the named prices ("input", "output").
    case priceUnknown(modelID: String, missing: [String])
    /// A token count below zero (field name as in the API: input_tokens, output_tokens, cached_input_tokens).
    case negativeTokenCount(field: String, value: Int)
    /// More cached (read + written) prompt tokens than prompt tokens.
    case cachedTokensExceedInput(cached: Int, input: Int)

    public var description: String {
        switch self {
        case .priceUnknown(let modelID, let missing):
            return "model '\(modelID)' has no known \(missing.joined(separator: " and ")) price, so its cost cannot be computed"
        case .negativeTokenCount(let field, let value):
            return "\(field) must not be negative; got \(value)"
        case .cachedTokensExceedInput(let cached, let input):
            return "cached_input_tokens + cache_creation_input_tokens (\(cached)) cannot exceed input_tokens (\(input))"
        }
    }
}

/// Prices tokens exactly in `Decimal` (prices are per 1K tokens, so cost = tokens × price / 1000, which
/// is exact in decimal arithmetic: no binary floating point anywhere).
public enum CostCalculator {
    /// - Parameter cachedInputTokens: the part of `inputTokens` read from the provider's prompt cache
    ///   (OpenAI's `prompt_tokens_details.cached_tokens` convention: included in the prompt count).
    ///   Those tokens are priced at `cachedInputCostPer1K` when known, else at the input price.
    /// - Parameter cacheCreationInputTokens: the part of `inputTokens` written to the prompt cache
    ///   (Anthropic's `cache_creation_input_tokens`), priced at `cacheCreationInputCostPer1K` when
    ///   known, else at the input price.
    public static func cost(
        model: LLMModel, inputTokens: Int, outputTokens: Int, cachedInputTokens: Int = 0,
        cacheCreationInputTokens: Int = 0
    ) throws(CostError) -> CostBreakdown {
        for (field, value) in [
            ("input_tokens", inputTokens), ("output_tokens", outputTokens), ("cached_input_tokens", cachedInputTokens),
            ("cache_creation_input_tokens", cacheCreationInputTokens),
        ] where value < 0 {
            throw .negativeTokenCount(field: field, value: value)
        }
        // Reported counts can be anything: an overflowing sum is "more than the input", not a trap.
        let (cacheTotal, overflow) = cachedInputTokens.addingReportingOverflow(cacheCreationInputTokens)
        guard !overflow, cacheTotal <= inputTokens else {
            throw .cachedTokensExceedInput(cached: overflow ? Int.max : cacheTotal, input: inputTokens)
        }
        guard let inputPrice = model.inputCostPer1K, let outputPrice = model.outputCostPer1K else {
            var missing: [String] = []
            if model.inputCostPer1K == nil { missing.append("input") }
            if model.outputCostPer1K == nil { missing.append("output") }
            throw .priceUnknown(modelID: model.modelID, missing: missing)
        }
        let cachedPrice = model.cachedInputCostPer1K ?? inputPrice
        let cacheWritePrice = model.cacheCreationInputCostPer1K ?? inputPrice
        let uncached = inputTokens - cachedInputTokens - cacheCreationInputTokens
        let inputCost = price(tokens: uncached, per1K: inputPrice)
        let cachedCost = price(tokens: cachedInputTokens, per1K: cachedPrice)
        let cacheWriteCost = price(tokens: cacheCreationInputTokens, per1K: cacheWritePrice)
        let outputCost = price(tokens: outputTokens, per1K: outputPrice)
        return CostBreakdown(
            modelID: model.modelID,
            inputTokens: inputTokens,
            outputTokens: outputTokens,
            cachedInputTokens: cachedInputTokens,
            cacheCreationInputTokens: cacheCreationInputTokens,
            inputCostPer1K: inputPrice,
            outputCostPer1K: outputPrice,
            cachedInputCostPer1K: cachedPrice,
            cacheCreationInputCostPer1K: cacheWritePrice,
            inputCost: inputCost,
            cachedInputCost: cachedCost,
            cacheCreationInputCost: cacheWriteCost,
            outputCost: outputCost,
            totalCost: inputCost + cachedCost + cacheWriteCost + outputCost
        )
    }

    /// tokens × price / 1000. Division by 1000 only shifts the decimal exponent, so it is exact.
    /// No tokens (most calls have no cached or cache-write tokens) cost nothing without a
    /// `Decimal` division, which showed in the gateway's profile.
    static func price(tokens: Int, per1K: Decimal) -> Decimal {
        tokens == 0 ? 0 : Decimal(tokens) * per1K / 1000
    }
}
