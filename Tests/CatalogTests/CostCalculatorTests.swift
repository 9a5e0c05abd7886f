import Catalog
import Foundation
import Testing

@Suite struct CostCalculatorTests {
    @Test func pricesGPT4oExactly() throws {
        // 1,234 × 0.0025 / 1000 = 0.003085; 567 × 0.01 / 1000 = 0.00567.
        let cost = try CostCalculator.cost(model: Fixtures.gpt4o, inputTokens: 1234, outputTokens: 567)
        #expect(cost.inputCost == Fixtures.decimal("0.003085"))
        #expect(cost.outputCost == Fixtures.decimal("0.00567"))
        #expect(cost.cachedInputCost == 0)
        #expect(cost.totalCost == Fixtures.decimal("0.008755"))
        #expect(cost.totalCost.description == "0.008755")
        #expect(cost.inputCostPer1K == Fixtures.decimal("0.0025"))
        #expect(cost.outputCostPer1K == Fixtures.decimal("0.01"))
        #expect(cost.modelID == "gpt-4o")
    }

    @Test func pricesCachedPromptTokensAtTheCachedRate() throws {
        // 234 uncached × 0.0025 + 1000 cached × 0.00125 + 567 × 0.01, all / 1000.
        let cost = try CostCalculator.cost(model: Fixtures.gpt4o, inputTokens: 1234, outputTokens: 567, cachedInputTokens: 1000)
        #expect(cost.inputCost == Fixtures.decimal("0.000585"))
        #expect(cost.cachedInputCost == Fixtures.decimal("0.00125"))
        #expect(cost.cachedInputCostPer1K == Fixtures.decimal("0.00125"))
        #expect(cost.totalCost == Fixtures.decimal("0.007505"))
    }

    @Test func withoutACachedPriceCachedTokensCostTheInputPrice() throws {
        let cost = try CostCalculator.cost(model: Fixtures.gpt4oMini, inputTokens: 2000, outputTokens: 0, cachedInputTokens: 500)
        #expect(cost.cachedInputCostPer1K == Fixtures.decimal("0.00015"))
        #expect(cost.totalCost == Fixtures.decimal("0.0003"))
    }

    @Test func staysExactWhereDoubleWouldNot() throws {
        // Large counts and tiny prices: Double would carry 16-17 significant digits and drift.
        var model = Fixtures.gpt4oMini
        model.inputCostPer1K = Fixtures.decimal("0.0001")
        model.outputCostPer1K = Fixtures.decimal("0.0002")
        let cost = try CostCalculator.cost(model: model, inputTokens: 1_000_000_007, outputTokens: 3)
        #expect(cost.totalCost == Fixtures.decimal("100.0000013"))
        #expect(cost.totalCost.description == "100.0000013")
    }

    @Test func zeroTokensCostZero() throws {
        #expect(try CostCalculator.cost(model: Fixtures.gpt4o, inputTokens: 0, outputTokens: 0).totalCost == 0)
    }

    @Test func anUnknownPriceIsAnErrorNeverZero() {
        #expect(throws: CostError.priceUnknown(modelID: "meta-llama/Llama-3.1-8B-Instruct", missing: ["input", "output"])) {
            try CostCalculator.cost(model: Fixtures.llama, inputTokens: 10, outputTokens: 10)
        }
        var halfPriced = Fixtures.gpt4o
        halfPriced.outputCostPer1K = nil
        #expect(throws: CostError.priceUnknown(modelID: "gpt-4o", missing: ["output"])) {
            try CostCalculator.cost(model: halfPriced, inputTokens: 10, outputTokens: 0)
        }
        let message = CostError.priceUnknown(modelID: "x", missing: ["input", "output"]).description
        #expect(message == "model 'x' has no known input and output price, so its cost cannot be computed")
    }

    @Test func rejectsImpossibleTokenCounts() {
        #expect(throws: CostError.negativeTokenCount(field: "output_tokens", value: -1)) {
            try CostCalculator.cost(model: Fixtures.gpt4o, inputTokens: 1, outputTokens: -1)
        }
        #expect(throws: CostError.cachedTokensExceedInput(cached: 11, input: 10)) {
            try CostCalculator.cost(model: Fixtures.gpt4o, inputTokens: 10, outputTokens: 1, cachedInputTokens: 11)
        }
    }
    @Test func pricesCacheWritesAtTheCacheWriteRateAndReadsAtTheReadRate() throws {
        // Anthropic-style: 3.00 $/M input, 3.75 $/M cache write, 0.30 $/M cache read, 15 $/M output.
        var model = Fixtures.gpt4o
        model.inputCostPer1K = Fixtures.decimal("0.003")
        model.cacheCreationInputCostPer1K = Fixtures.decimal("0.00375")
        model.cachedInputCostPer1K = Fixtures.decimal("0.0003")
        model.outputCostPer1K = Fixtures.decimal("0.015")
        // 3,000 prompt tokens: 1,000 read from the cache, 1,500 written to it, 500 plain.
        let cost = try CostCalculator.cost(
            model: model, inputTokens: 3000, outputTokens: 200, cachedInputTokens: 1000, cacheCreationInputTokens: 1500)
        #expect(cost.inputCost == Fixtures.decimal("0.0015"))
        #expect(cost.cachedInputCost == Fixtures.decimal("0.0003"))
        #expect(cost.cacheCreationInputCost == Fixtures.decimal("0.005625"))
        #expect(cost.outputCost == Fixtures.decimal("0.003"))
        #expect(cost.totalCost == Fixtures.decimal("0.010425"))
        // Without a cache-write price, writes cost the input price.
        model.cacheCreationInputCostPer1K = nil
        let fallback = try CostCalculator.cost(
            model: model, inputTokens: 3000, outputTokens: 0, cachedInputTokens: 0, cacheCreationInputTokens: 1000)
        #expect(fallback.cacheCreationInputCost == Fixtures.decimal("0.003"))
        #expect(throws: CostError.cachedTokensExceedInput(cached: 11, input: 10)) {
            try CostCalculator.cost(model: model, inputTokens: 10, outputTokens: 0, cachedInputTokens: 6, cacheCreationInputTokens: 5)
        }
    }
}
