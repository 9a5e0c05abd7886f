import ChatModel
import Foundation
import Providers
import Testing

/// F5 (issue 22): token counts a provider reports are accepted only in 0…2^31−1; anything else is
/// unknown and flagged, never a number that traps a sum or that `model_usage` refuses.
@Suite("Hostile token counts")
struct HostileUsageTests {
    static let hostile = ["9223372036854775807", "-1", "2147483648", "1e300", "12.5"]

    static func openAIBody(_ count: String) -> String {
        """
        {"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o","choices":[{"index":0,
         "message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],
         "usage":{"prompt_tokens":\(count),"completion_tokens":\(count),"total_tokens":\(count),
                  "prompt_tokens_details":{"cached_tokens":\(count)}}}
        """
    }

    static func anthropicBody(input: String, cacheRead: String = "0", cacheCreation: String = "0", output: String = "1") -> String {
        """
        {"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[{"type":"text","text":"hi"}],
         "stop_reason":"end_turn","usage":{"input_tokens":\(input),"output_tokens":\(output),
         "cache_read_input_tokens":\(cacheRead),"cache_creation_input_tokens":\(cacheCreation)}}
        """
    }

    @Test("OpenAI: a count outside 0…2^31−1 leaves usage unknown and flagged", arguments: hostile)
    func openAIHostile(count: String) throws {
        let parsed = try openAI.parse(response(200, Self.openAIBody(count)), apiKey: nil)
        #expect(parsed.text == "hi")
        #expect(parsed.usage == nil)
        #expect(parsed.usageInvalid)
    }

    @Test("OpenAI: 2^31−1 is accepted; a bad optional count is dropped alone")
    func openAIBoundary() throws {
        let parsed = try openAI.parse(response(200, Self.openAIBody("2147483647")), apiKey: nil)
        #expect(parsed.usage?.inputTokens == 2_147_483_647)
        #expect(!parsed.usageInvalid)
        let body = Self.openAIBody("5").replacingOccurrences(of: #""cached_tokens":5"#, with: #""cached_tokens":-3"#)
        let partial = try openAI.parse(response(200, body), apiKey: nil)
        #expect(partial.usage == TokenUsage(inputTokens: 5, outputTokens: 5, cachedInputTokens: nil))
        #expect(partial.usageInvalid)
    }

    @Test("Anthropic: Int.max counts and a sum beyond 2^31−1 do not trap and leave usage unknown")
    func anthropicHostile() throws {
        let max = "9223372036854775807"
        let overflowing = try anthropic.parse(response(200, Self.anthropicBody(input: max, cacheRead: max, cacheCreation: max)), apiKey: nil)
        #expect(overflowing.usage == nil && overflowing.usageInvalid)
        // Each part in range, their sum not: the neutral input count would not fit a row.
        let big = "2000000000"
        let sum = try anthropic.parse(response(200, Self.anthropicBody(input: big, cacheRead: big)), apiKey: nil)
        #expect(sum.usage == nil && sum.usageInvalid)
        let negative = try anthropic.parse(response(200, Self.anthropicBody(input: "10", output: "-1")), apiKey: nil)
        #expect(negative.usage == nil && negative.usageInvalid)
        let fine = try anthropic.parse(response(200, Self.anthropicBody(input: "10", cacheRead: "5")), apiKey: nil)
        #expect(fine.usage == TokenUsage(inputTokens: 15, outputTokens: 1, cachedInputTokens: 5, cacheCreationInputTokens: 0))
        #expect(!fine.usageInvalid)
    }

    @Test("TokenUsage.totalTokens saturates")
    func totalSaturates() {
        #expect(TokenUsage(inputTokens: Int.max, outputTokens: Int.max).totalTokens == Int.max)
    }
}
