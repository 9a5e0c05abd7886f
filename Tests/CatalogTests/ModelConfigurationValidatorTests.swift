import Catalog
import Foundation
import Testing

/// One validation case: a configuration and the fields expected to carry errors / warnings, in order.
struct ValidationCase: Sendable, CustomTestStringConvertible {
    var name: String
    var config: ModelConfiguration
    var errorFields: [String] = []
    var warningFields: [String] = []
    /// Text the first error (or, without errors, the first warning) must contain.
    var messageContains: String? = nil

    var testDescription: String { name }
}

@Suite struct ModelConfigurationValidatorTests {
    static func config(
        _ model: String, provider: String? = nil, temperature: Double? = nil, maxTokens: Int? = nil,
        topP: Double? = nil, frequency: Double? = nil, presence: Double? = nil, fallbacks: [String] = []
    ) -> ModelConfiguration {
        ModelConfiguration(modelID: model, provider: provider, temperature: temperature, maxTokens: maxTokens,
                           topP: topP, frequencyPenalty: frequency, presencePenalty: presence, fallbackModelIDs: fallbacks)
    }

    static let cases: [ValidationCase] = [
        // Model
        ValidationCase(name: "minimal valid config", config: config("gpt-4o")),
        ValidationCase(name: "full valid config", config: config(
            "gpt-4o", provider: "openai", temperature: 0.7, maxTokens: 1000, topP: 0.9, fallbacks: ["claude-sonnet-4-5", "gpt-4o-mini"])),
        // Every fallback against its own limits: warnings on the setting, naming the fallback.
        ValidationCase(name: "penalties an Anthropic fallback ignores", config: config(
            "gpt-4o", frequency: 0.5, presence: -0.5, fallbacks: ["claude-sonnet-4-5", "gpt-4o-mini"]),
            warningFields: ["frequency_penalty", "presence_penalty"],
            messageContains: "ignored by fallback 'claude-sonnet-4-5' (fallback_model_ids[0])"),
        ValidationCase(name: "temperature a fallback cannot take", config: config(
            "gpt-4o", temperature: 1.5, fallbacks: ["gpt-4o-mini", "claude-sonnet-4-5"]),
            warningFields: ["temperature"],
            messageContains: "fallback 'claude-sonnet-4-5' (fallback_model_ids[1]) accepts temperature 0–1; with temperature 1.5 that fallback will fail"),
        ValidationCase(name: "max_tokens beyond a fallback's output limit", config: config(
            "gpt-4o", maxTokens: 16_000, fallbacks: ["claude-3-haiku-20240307"]),
            warningFields: ["fallback_model_ids[0]", "max_tokens"],
            messageContains: "fallback model 'claude-3-haiku-20240307' is deprecated"),
        ValidationCase(name: "fallback on a disabled provider", config: config(
            "gpt-4o", fallbacks: ["meta-llama/Llama-3.1-8B-Instruct"]),
            warningFields: ["fallback_model_ids[0]"],
            messageContains: "provider 'huggingface' is disabled: fallback 'meta-llama/Llama-3.1-8B-Instruct' (fallback_model_ids[0]) will be skipped"),
        ValidationCase(name: "unknown model", config: config("gpt-9"), errorFields: ["model_id"],
                       messageContains: "'gpt-9' is not in the catalog"),
        ValidationCase(name: "blank model id", config: config("  "), errorFields: ["model_id"]),
        ValidationCase(name: "retired model names its successor", config: config("gpt-4-turbo-preview"),
                       errorFields: ["model_id"], messageContains: "retired; use its successor 'gpt-4.1'"),
        ValidationCase(name: "deprecated model accepted with a warning naming the successor",
                       config: config("claude-3-haiku-20240307"), warningFields: ["model_id"],
                       messageContains: "successor 'claude-haiku-4-5'"),
        ValidationCase(name: "model past its deprecation date warns", config: config("gpt-3.5-turbo-1106"),
                       warningFields: ["model_id"], messageContains: "deprecated (since \(Fixtures.daysFromToday(-34)))"),
        ValidationCase(name: "disabled provider warns", config: config("meta-llama/Llama-3.1-8B-Instruct"),
                       warningFields: ["model_id"], messageContains: "provider 'huggingface' is disabled"),
        // Provider
        ValidationCase(name: "provider matches", config: config("claude-sonnet-4-5", provider: "anthropic")),
        ValidationCase(name: "provider mismatch", config: config("claude-sonnet-4-5", provider: "openai"),
                       errorFields: ["provider"], messageContains: "served by 'anthropic', not 'openai'"),
        // Temperature
        ValidationCase(name: "temperature at the OpenAI maximum", config: config("gpt-4o", temperature: 2)),
        ValidationCase(name: "temperature at the minimum", config: config("gpt-4o", temperature: 0)),
        ValidationCase(name: "temperature above Anthropic's range", config: config("claude-sonnet-4-5", temperature: 1.5),
                       errorFields: ["temperature"], messageContains: "outside the range of model 'claude-sonnet-4-5' (0–1)"),
        ValidationCase(name: "negative temperature", config: config("gpt-4o", temperature: -0.1), errorFields: ["temperature"]),
        ValidationCase(name: "fixed-temperature model rejects another value", config: config("gpt-5", temperature: 0.7),
                       errorFields: ["temperature"], messageContains: "accepts only temperature 1"),
        ValidationCase(name: "fixed-temperature model accepts its value", config: config("gpt-5", temperature: 1)),
        ValidationCase(name: "non-finite temperature", config: config("gpt-4o", temperature: .nan), errorFields: ["temperature"]),
        // max_tokens
        ValidationCase(name: "max_tokens at the model's maximum", config: config("gpt-4o", maxTokens: 16_384)),
        ValidationCase(name: "max_tokens of 1", config: config("gpt-4o", maxTokens: 1)),
        ValidationCase(name: "max_tokens above the model's maximum", config: config("gpt-4o", maxTokens: 16_385),
                       errorFields: ["max_tokens"], messageContains: "exceeds the 16384 output tokens"),
        ValidationCase(name: "max_tokens zero", config: config("gpt-4o", maxTokens: 0), errorFields: ["max_tokens"]),
        ValidationCase(name: "max_tokens negative", config: config("gpt-4o", maxTokens: -5), errorFields: ["max_tokens"]),
        // top_p
        ValidationCase(name: "top_p of 1", config: config("gpt-4o", topP: 1)),
        ValidationCase(name: "top_p just above 0", config: config("gpt-4o", topP: 0.01)),
        ValidationCase(name: "top_p of 0", config: config("gpt-4o", topP: 0), errorFields: ["top_p"],
                       messageContains: "greater than 0 and at most 1"),
        ValidationCase(name: "top_p above 1", config: config("gpt-4o", topP: 1.5), errorFields: ["top_p"]),
        // Penalties
        ValidationCase(name: "penalties at the bounds", config: config("gpt-4o", frequency: -2, presence: 2)),
        ValidationCase(name: "frequency_penalty below -2", config: config("gpt-4o", frequency: -2.5),
                       errorFields: ["frequency_penalty"], messageContains: "between -2 and 2; got -2.5"),
        ValidationCase(name: "presence_penalty above 2", config: config("gpt-4o", presence: 3), errorFields: ["presence_penalty"]),
        ValidationCase(name: "non-zero penalties on Anthropic warn", config: config("claude-sonnet-4-5", frequency: 0.5, presence: 0.1),
                       warningFields: ["frequency_penalty", "presence_penalty"], messageContains: "ignored by 'anthropic'"),
        ValidationCase(name: "zero penalties on Anthropic are silent", config: config("claude-sonnet-4-5", frequency: 0, presence: 0)),
        // Fallbacks
        ValidationCase(name: "cross-provider fallback", config: config("gpt-4o", fallbacks: ["claude-sonnet-4-5"])),
        ValidationCase(name: "unknown fallback", config: config("gpt-4o", fallbacks: ["gpt-4o-mini", "nope"]),
                       errorFields: ["fallback_model_ids[1]"], messageContains: "fallback model 'nope' is not in the catalog"),
        ValidationCase(name: "retired fallback", config: config("gpt-4o", fallbacks: ["gpt-4-turbo-preview"]),
                       errorFields: ["fallback_model_ids[0]"], messageContains: "retired"),
        ValidationCase(name: "deprecated fallback warns", config: config("gpt-4o", fallbacks: ["claude-3-haiku-20240307"]),
                       warningFields: ["fallback_model_ids[0]"]),
        ValidationCase(name: "fallback equal to the primary", config: config("gpt-4o", fallbacks: ["gpt-4o"]),
                       errorFields: ["fallback_model_ids[0]"], messageContains: "is the primary model"),
        ValidationCase(name: "duplicate fallbacks", config: config("gpt-4o", fallbacks: ["gpt-4o-mini", "gpt-4o-mini"]),
                       errorFields: ["fallback_model_ids[1]"], messageContains: "listed more than once"),
        ValidationCase(name: "five fallbacks allowed", config: config(
            "gpt-4o", fallbacks: ["gpt-4o-mini", "gpt-5", "claude-sonnet-4-5", "claude-3-haiku-20240307", "gpt-3.5-turbo-1106"]),
            warningFields: ["fallback_model_ids[3]", "fallback_model_ids[4]"]),
        ValidationCase(name: "six fallbacks rejected", config: config(
            "gpt-4o", fallbacks: ["gpt-4o-mini", "gpt-5", "claude-sonnet-4-5", "claude-3-haiku-20240307", "gpt-3.5-turbo-1106",
                                  "meta-llama/Llama-3.1-8B-Instruct"]),
            errorFields: ["fallback_model_ids"], warningFields: ["fallback_model_ids[3]", "fallback_model_ids[4]", "fallback_model_ids[5]"],
            messageContains: "at most 5 fallback models"),
        // Several problems at once: one error per bad field.
        ValidationCase(name: "every bad field reported once", config: config(
            "claude-sonnet-4-5", provider: "openai", temperature: 5, maxTokens: 0, topP: 0, frequency: 9, presence: -9,
            fallbacks: ["claude-sonnet-4-5"]),
            errorFields: ["provider", "temperature", "max_tokens", "top_p", "frequency_penalty", "presence_penalty",
                          "fallback_model_ids[0]"]),
        ValidationCase(name: "retired primary still reports other fields", config: config("gpt-4-turbo-preview", maxTokens: 5000),
                       errorFields: ["model_id", "max_tokens"]),
        // Stream deadlines: (0, 300] seconds.
        ValidationCase(name: "stream deadlines inside their range", config: ModelConfiguration(
            modelID: "gpt-4o", streamFirstTokenSeconds: 300, streamStallSeconds: 0.5)),
        ValidationCase(name: "a zero first-token deadline", config: ModelConfiguration(modelID: "gpt-4o", streamFirstTokenSeconds: 0),
                       errorFields: ["stream_first_token_seconds"], messageContains: "more than 0 and at most 300 seconds"),
        ValidationCase(name: "stream deadlines past five minutes or negative", config: ModelConfiguration(
            modelID: "gpt-4o", streamFirstTokenSeconds: 300.5, streamStallSeconds: -1),
            errorFields: ["stream_first_token_seconds", "stream_stall_seconds"]),
    ]

    @Test(arguments: cases)
    func validates(_ testCase: ValidationCase) {
        let outcome = ModelConfigurationValidator.validate(
            testCase.config, models: Fixtures.model, providers: Fixtures.provider, today: Fixtures.today)
        #expect(outcome.errors.map(\.field) == testCase.errorFields, "errors: \(outcome.errors)")
        #expect(outcome.warnings.map(\.field) == testCase.warningFields, "warnings: \(outcome.warnings)")
        #expect(outcome.isValid == testCase.errorFields.isEmpty)
        if let expected = testCase.messageContains {
            let message = (outcome.errors.first ?? outcome.warnings.first)?.message ?? ""
            #expect(message.contains(expected), "message: \(message)")
        }
    }

    @Test func aModelBecomesDeprecatedWhenItsDateArrives() throws {
        let config = ModelConfiguration(modelID: "gpt-5")
        let deprecation = try #require(Fixtures.gpt5.deprecationDate)
        let before = ModelConfigurationValidator.validate(config, models: Fixtures.model, providers: Fixtures.provider,
                                                          today: deprecation.advanced(byDays: -1).startOfDay)
        let after = ModelConfigurationValidator.validate(config, models: Fixtures.model, providers: Fixtures.provider,
                                                         today: deprecation.startOfDay)
        #expect(before.warnings.isEmpty)
        #expect(after.warnings.map(\.field) == ["model_id"])
        #expect(after.warnings.first?.message.contains("gpt-5.6-sol") == true)
    }

    @Test func penaltiesWarnByAPIStyleEvenForAnUnlistedProvider() {
        // No provider row: the style is guessed from the provider name.
        let outcome = ModelConfigurationValidator.validate(
            ModelConfiguration(modelID: "claude-sonnet-4-5", presencePenalty: 1), models: Fixtures.model,
            providers: { _ in nil }, today: Fixtures.today)
        #expect(outcome.warnings.map(\.field) == ["presence_penalty"])
    }
}
