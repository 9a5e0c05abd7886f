import Catalog
import Foundation
import TestSupport

/// A small catalog shaped like the seed (migrations/0011), with every lifecycle state the rules care about.
enum Fixtures {
    /// The day tests run "on": the shared test clock (`TestClock`), so results never depend on the
    /// wall clock. Every deprecation date below is relative to it.
    static let today = TestClock.today.startOfDay

    /// The day `offset` days after (before, when negative) `today`.
    static func daysFromToday(_ offset: Int) -> CalendarDate { TestClock.day(offset) }

    static func day(_ text: String) -> Date {
        CalendarDate(text)?.startOfDay ?? Date(timeIntervalSince1970: 0)
    }

    static func decimal(_ text: String) -> Decimal {
        Decimal(string: text) ?? Decimal.nan
    }

    static let gpt4o = LLMModel(
        provider: "openai", modelID: "gpt-4o", displayName: "GPT-4o", modelFamily: "gpt-4o",
        capabilities: ["chat", "function_calling", "vision", "prompt_caching"],
        contextWindow: 128_000, maxOutputTokens: 16_384, supportsFunctions: true, supportsVision: true,
        inputCostPer1K: decimal("0.0025"), outputCostPer1K: decimal("0.01"), cachedInputCostPer1K: decimal("0.00125"),
        deprecationDate: daysFromToday(74), recommendedFor: ["chat", "vision", "summarization"],
        successorModelID: "gpt-6-luna", source: "seed")

    static let gpt4oMini = LLMModel(
        provider: "openai", modelID: "gpt-4o-mini", displayName: "GPT-4o mini", modelFamily: "gpt-4o",
        capabilities: ["chat", "function_calling", "vision"],
        contextWindow: 128_000, maxOutputTokens: 16_384, supportsFunctions: true, supportsVision: true,
        inputCostPer1K: decimal("0.00015"), outputCostPer1K: decimal("0.0006"),
        recommendedFor: ["chat", "classification", "extraction", "summarization"], source: "seed")

    /// Reasoning model: accepts only temperature 1.
    static let gpt5 = LLMModel(
        provider: "openai", modelID: "gpt-5", displayName: "GPT-5", modelFamily: "gpt-5",
        capabilities: ["chat", "function_calling", "vision", "reasoning"],
        contextWindow: 272_000, maxOutputTokens: 128_000, supportsFunctions: true, supportsVision: true,
        inputCostPer1K: decimal("0.00125"), outputCostPer1K: decimal("0.01"),
        deprecationDate: daysFromToday(40), recommendedFor: ["reasoning", "coding", "analysis", "chat"],
        defaultTemperature: 1, minTemperature: 1, maxTemperature: 1, successorModelID: "gpt-5.6-sol", source: "seed")

    static let claudeSonnet = LLMModel(
        provider: "anthropic", modelID: "claude-sonnet-4-5", displayName: "Claude Sonnet 4.5",
        modelFamily: "claude-4.5", capabilities: ["chat", "function_calling", "vision", "reasoning"],
        contextWindow: 200_000, maxOutputTokens: 64_000, supportsFunctions: true, supportsVision: true,
        inputCostPer1K: decimal("0.003"), outputCostPer1K: decimal("0.015"),
        recommendedFor: ["coding", "chat", "analysis", "vision"], maxTemperature: 1, source: "seed")

    /// Deprecated by its status column.
    static let claude3Haiku = LLMModel(
        provider: "anthropic", modelID: "claude-3-haiku-20240307", displayName: "Claude 3 Haiku",
        capabilities: ["chat", "function_calling", "vision"], contextWindow: 200_000, maxOutputTokens: 4096,
        supportsFunctions: true, supportsVision: true,
        inputCostPer1K: decimal("0.00025"), outputCostPer1K: decimal("0.00125"),
        status: .deprecated, recommendedFor: ["classification", "extraction", "summarization"],
        maxTemperature: 1, successorModelID: "claude-haiku-4-5", source: "seed")

    /// Status still "active" but its deprecation date has passed: effectively deprecated.
    static let gpt35Dated = LLMModel(
        provider: "openai", modelID: "gpt-3.5-turbo-1106", displayName: "GPT-3.5 Turbo (1106)",
        capabilities: ["chat", "function_calling"], contextWindow: 16_385, maxOutputTokens: 4096,
        supportsFunctions: true, inputCostPer1K: decimal("0.001"), outputCostPer1K: decimal("0.002"),
        deprecationDate: daysFromToday(-34), recommendedFor: ["chat", "classification"],
        successorModelID: "gpt-5.6-terra", source: "litellm")

    static let gpt4TurboRetired = LLMModel(
        provider: "openai", modelID: "gpt-4-turbo-preview", displayName: "GPT-4 Turbo (preview)",
        capabilities: ["chat", "function_calling"], contextWindow: 128_000, maxOutputTokens: 4096,
        supportsFunctions: true, inputCostPer1K: decimal("0.0001"), outputCostPer1K: decimal("0.0001"),
        status: .retired, recommendedFor: ["chat", "coding", "reasoning"], successorModelID: "gpt-4.1", source: "seed")

    /// HuggingFace router model: price and context unknown.
    static let llama = LLMModel(
        provider: "huggingface", modelID: "meta-llama/Llama-3.1-8B-Instruct", displayName: "Llama 3.1 8B Instruct",
        capabilities: ["chat"], maxOutputTokens: 4096,
        recommendedFor: ["chat", "classification", "summarization"], source: "seed")

    static let all = [gpt4o, gpt4oMini, gpt5, claudeSonnet, claude3Haiku, gpt35Dated, gpt4TurboRetired, llama]

    static func model(_ id: String) -> LLMModel? {
        all.first { $0.modelID == id }
    }

    static let providersByName: [String: Provider] = [
        "openai": Provider(name: "openai", apiStyle: .openai, baseURL: "https://api.openai.com/v1", apiKeyEnv: "OPENAI_API_KEY"),
        "anthropic": Provider(name: "anthropic", apiStyle: .anthropic, baseURL: "https://api.anthropic.com", apiKeyEnv: "ANTHROPIC_API_KEY"),
        "huggingface": Provider(name: "huggingface", apiStyle: .openai, baseURL: "https://router.huggingface.co/v1",
                                apiKeyEnv: "HF_TOKEN", enabled: false),
    ]

    static func provider(_ name: String) -> Provider? {
        providersByName[name]
    }

    /// Repository root: this file is <repo>/Tests/CatalogTests/CatalogFixtures.swift.
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// LiteLLM's cost map, kept outside the repository at <repo>/../shared/data/litellm/.
    static let liteLLMMapURL = repositoryRoot.deletingLastPathComponent()
        .appendingPathComponent("shared/data/litellm/model_prices_and_context_window.json")
}
