import Foundation

extension LLMModel {
    /// USD per 1M input tokens (per-1K × 1000, exact), the unit provider price pages use.
    public var inputCostPer1M: Decimal? { inputCostPer1K.map { $0 * 1000 } }
    /// USD per 1M output tokens, exact.
    public var outputCostPer1M: Decimal? { outputCostPer1K.map { $0 * 1000 } }
    /// USD per 1M cached input tokens, exact.
    public var cachedInputCostPer1M: Decimal? { cachedInputCostPer1K.map { $0 * 1000 } }

    /// Whether both the input and output price are known (the model can be costed).
    public var isPriced: Bool { inputCostPer1K != nil && outputCostPer1K != nil }

    /// Input tokens per output token assumed by `blendedCostPer1K` (3:1, the usual industry blend:
    /// prompts carry context and instructions and are typically several times longer than replies).
    public static let blendedInputShare = 3

    /// One comparable price per 1K tokens: (3 × input + 1 × output) / 4, exact; nil when either price
    /// is unknown. The recommender's `max_cost` is compared against this.
    public var blendedCostPer1K: Decimal? {
        guard let input = inputCostPer1K, let output = outputCostPer1K else { return nil }
        let share = Decimal(LLMModel.blendedInputShare)
        return (input * share + output) / (share + 1)
    }
}
