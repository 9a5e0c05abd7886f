import Catalog
import Foundation
import Testing

@Suite struct ModelConfigurationCodingTests {
    @Test func writesEveryKeyWithExplicitNulls() throws {
        let config = ModelConfiguration(modelID: "gpt-4o", provider: "openai", temperature: 0.7, fallbackModelIDs: ["claude-sonnet-4-5"])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(config), as: UTF8.self)
        #expect(json == #"{"fallback_model_ids":["claude-sonnet-4-5"],"frequency_penalty":null,"max_tokens":null,"model_id":"gpt-4o","presence_penalty":null,"provider":"openai","temperature":0.7,"top_p":null}"#)
        #expect(try JSONDecoder().decode(ModelConfiguration.self, from: Data(json.utf8)) == config)
    }

    @Test func acceptsThePRDsSingleFallbackAsAOneElementChain() throws {
        let body = #"{"model_id":"gpt-4o","fallback_model_id":"claude-sonnet-4-5","temperature":0.2,"max_tokens":500}"#
        let config = try JSONDecoder().decode(ModelConfiguration.self, from: Data(body.utf8))
        #expect(config.fallbackModelIDs == ["claude-sonnet-4-5"])
        #expect(config.maxTokens == 500)
        #expect(config.provider == nil)

        let none = try JSONDecoder().decode(ModelConfiguration.self, from: Data(#"{"model_id":"gpt-4o","fallback_model_id":null}"#.utf8))
        #expect(none.fallbackModelIDs == [])
    }

    @Test func rejectsConflictingFallbackSpellings() {
        let body = #"{"model_id":"gpt-4o","fallback_model_id":"a","fallback_model_ids":["b"]}"#
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(ModelConfiguration.self, from: Data(body.utf8))
        }
    }

    @Test func requiresAModelID() {
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(ModelConfiguration.self, from: Data(#"{"temperature":0.5}"#.utf8))
        }
    }

    @Test func listsTheKeysTheAPIAccepts() {
        #expect(ModelConfiguration.acceptedJSONKeys == [
            "model_id", "provider", "temperature", "max_tokens", "top_p", "frequency_penalty",
            "presence_penalty", "fallback_model_ids", "fallback_model_id",
            "stream_first_token_seconds", "stream_stall_seconds",
        ])
    }

    /// Keys added after 0002 are written only when set, so configurations without them keep
    /// 0002's shape (the test above) and a set one round-trips.
    @Test func writesStreamDeadlinesOnlyWhenSet() throws {
        let config = ModelConfiguration(modelID: "gpt-4o", streamFirstTokenSeconds: 90, streamStallSeconds: 2.5)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(config), as: UTF8.self)
        #expect(json.contains(#""stream_first_token_seconds":90"#) && json.contains(#""stream_stall_seconds":2.5"#))
        #expect(try JSONDecoder().decode(ModelConfiguration.self, from: Data(json.utf8)) == config)
        let unset = String(decoding: try encoder.encode(ModelConfiguration(modelID: "gpt-4o")), as: UTF8.self)
        #expect(!unset.contains("stream_"))
    }

    /// What the gateway uses: a deadline the API would accept, else none (the gateway's own), also
    /// for values written by SQL that the API refuses: before, 1e300 trapped the worker.
    @Test func streamDeadlinesOutsideTheirRangeAreIgnored() throws {
        func decoded(_ body: String) throws -> ModelConfiguration {
            try JSONDecoder().decode(ModelConfiguration.self, from: Data(body.utf8))
        }
        let set = try decoded(#"{"model_id":"m","stream_first_token_seconds":2.5,"stream_stall_seconds":300}"#)
        #expect(set.streamFirstTokenDeadline == .milliseconds(2500))
        #expect(set.streamStallDeadline == .seconds(300))
        let hostile = try decoded(#"{"model_id":"m","stream_first_token_seconds":1e300,"stream_stall_seconds":-4}"#)
        #expect(hostile.streamFirstTokenDeadline == nil && hostile.streamStallDeadline == nil)
        #expect(ModelConfiguration(modelID: "m", streamFirstTokenSeconds: .nan).streamFirstTokenDeadline == nil)
        #expect(ModelConfiguration(modelID: "m", streamStallSeconds: 0).streamStallDeadline == nil)
        #expect(ModelConfiguration(modelID: "m").streamFirstTokenDeadline == nil)
    }

    @Test func modelChainIsPrimaryThenFallbacksWithoutRepeats() {
        let config = ModelConfiguration(modelID: "a", fallbackModelIDs: ["b", "a", "c", "b"])
        #expect(config.modelChain == ["a", "b", "c"])
    }
}
