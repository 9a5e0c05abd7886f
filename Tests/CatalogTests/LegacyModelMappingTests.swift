import Catalog
import Foundation
import Testing

struct LegacyCase: Sendable, CustomTestStringConvertible {
    var preferredModel: String?
    var temperature: Double?
    var maxTokens: Int?
    var modelID: String
    var provider: String
    var expectedTemperature: Double
    var expectedMaxTokens: Int?

    var testDescription: String {
        "\(preferredModel.map { "'\($0)'" } ?? "nil"), \(temperature.map { "\($0)" } ?? "nil"), \(maxTokens.map { "\($0)" } ?? "nil")"
    }
}

@Suite struct LegacyModelMappingTests {
    static let cases: [LegacyCase] = [
        LegacyCase(preferredModel: "claude-3-opus-20240229", temperature: 0.9, maxTokens: 2000,
                   modelID: "claude-3-opus-20240229", provider: "anthropic", expectedTemperature: 0.9, expectedMaxTokens: 2000),
        // "claude" prefix is case-insensitive; Anthropic's range is 0..1.
        LegacyCase(preferredModel: "Claude-Instant-1", temperature: 1.5, maxTokens: nil,
                   modelID: "Claude-Instant-1", provider: "anthropic", expectedTemperature: 1, expectedMaxTokens: nil),
        LegacyCase(preferredModel: "gpt-4", temperature: nil, maxTokens: 0,
                   modelID: "gpt-4", provider: "openai", expectedTemperature: 0.7, expectedMaxTokens: nil),
        LegacyCase(preferredModel: nil, temperature: nil, maxTokens: nil,
                   modelID: "gpt-4o-mini", provider: "openai", expectedTemperature: 0.7, expectedMaxTokens: nil),
        LegacyCase(preferredModel: "   ", temperature: 3, maxTokens: -1,
                   modelID: "gpt-4o-mini", provider: "openai", expectedTemperature: 2, expectedMaxTokens: nil),
        LegacyCase(preferredModel: "  gpt-4  ", temperature: -0.5, maxTokens: 100,
                   modelID: "gpt-4", provider: "openai", expectedTemperature: 0, expectedMaxTokens: 100),
        // Anything not starting with "claude" is OpenAI-style, even a model named after Claude later.
        LegacyCase(preferredModel: "my-claude-clone", temperature: 1.8, maxTokens: 1,
                   modelID: "my-claude-clone", provider: "openai", expectedTemperature: 1.8, expectedMaxTokens: 1),
    ]

    @Test(arguments: cases)
    func mapsLikeTheBackfill(_ testCase: LegacyCase) {
        let config = LegacyModelMapping.configuration(
            preferredModel: testCase.preferredModel, temperature: testCase.temperature, maxTokens: testCase.maxTokens)
        #expect(config.modelID == testCase.modelID)
        #expect(config.provider == testCase.provider)
        #expect(config.temperature == testCase.expectedTemperature)
        #expect(config.maxTokens == testCase.expectedMaxTokens)
        // The rest is what the backfill writes for every agent.
        #expect(config.topP == nil)
        #expect(config.frequencyPenalty == 0)
        #expect(config.presencePenalty == 0)
        #expect(config.fallbackModelIDs == [])
    }

    @Test func theDefaultConfigPassesValidation() {
        let config = LegacyModelMapping.configuration(preferredModel: nil, temperature: nil, maxTokens: nil)
        let outcome = ModelConfigurationValidator.validate(
            config, models: Fixtures.model, providers: Fixtures.provider, today: Fixtures.today)
        #expect(outcome.errors.isEmpty && outcome.warnings.isEmpty)
    }

    @Test func serialisesLikeTheBackfilledJSON() throws {
        let config = LegacyModelMapping.configuration(preferredModel: "claude-3-haiku-20240307", temperature: 0.3, maxTokens: 800)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(config), as: UTF8.self)
        #expect(json == #"{"fallback_model_ids":[],"frequency_penalty":0,"max_tokens":800,"model_id":"claude-3-haiku-20240307","presence_penalty":0,"provider":"anthropic","temperature":0.3,"top_p":null}"#)
    }
}
