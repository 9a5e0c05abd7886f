import CurlHTTP
import Foundation
import Providers
import Testing

@Suite("Anthropic response parsing")
struct AnthropicParsingTests {
    // Shaped as in Anthropic's Messages reference.
    static let textMessage = """
        {
          "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF",
          "type": "message",
          "role": "assistant",
          "model": "claude-sonnet-4-5-20250929",
          "content": [{"type": "text", "text": "Hi! My name is Claude."}],
          "stop_reason": "end_turn",
          "stop_sequence": null,
          "usage": {"input_tokens": 2095, "output_tokens": 503, "cache_creation_input_tokens": 100, "cache_read_input_tokens": 1800, "service_tier": "standard"}
        }
        """

    @Test("text, ids, and usage whose input count includes cache reads and writes")
    func text() throws {
        let parsed = try anthropic.parse(response(200, Self.textMessage, headers: [("request-id", "req_018EeWyXxfu5pfWkrYcMdjWG")]), apiKey: nil)
        #expect(parsed.text == "Hi! My name is Claude.")
        #expect(parsed.finishReason == .stop)
        #expect(parsed.providerFinishReason == "end_turn")
        #expect(parsed.model == "claude-sonnet-4-5-20250929")
        #expect(parsed.responseID == "msg_013Zva2CMHLNnXjNJJKqJ2EF")
        #expect(parsed.requestID == "req_018EeWyXxfu5pfWkrYcMdjWG")
        #expect(parsed.usage == TokenUsage(
            inputTokens: 2095 + 100 + 1800, outputTokens: 503, cachedInputTokens: 1800, cacheCreationInputTokens: 100))
    }

    @Test("tool_use blocks become tool calls with the input object as JSON text; text before them is kept")
    func toolUse() throws {
        let body = """
            {"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5",
             "content":[
               {"type":"thinking","thinking":"The user wants weather.","signature":"abc"},
               {"type":"text","text":"I'll check."},
               {"type":"tool_use","id":"toolu_01A09q90qw90lq917835lq9","name":"get_weather","input":{"unit":"celsius","city":"Paris"}}],
             "stop_reason":"tool_use","stop_sequence":null,
             "usage":{"input_tokens":472,"output_tokens":91}}
            """
        let parsed = try anthropic.parse(response(200, body), apiKey: nil)
        #expect(parsed.text == "I'll check.")
        #expect(parsed.finishReason == .toolCalls)
        // The input's members keep the order the model wrote them in.
        #expect(parsed.toolCalls == [
            ToolCall(id: "toolu_01A09q90qw90lq917835lq9", name: "get_weather", arguments: #"{"unit":"celsius","city":"Paris"}"#)
        ])
        // No cache fields: the breakdown is unknown.
        #expect(parsed.usage == TokenUsage(inputTokens: 472, outputTokens: 91))
    }

    @Test("every stop reason maps to a neutral finish reason", arguments: [
        ("end_turn", FinishReason.stop), ("stop_sequence", .stop), ("max_tokens", .length),
        ("tool_use", .toolCalls), ("refusal", .contentFilter), ("pause_turn", .stop),
        ("model_context_window_exceeded", .length),
    ])
    func stopReasons(raw: String, expected: FinishReason) throws {
        let body = """
            {"id":"m","type":"message","role":"assistant","model":"c","content":[{"type":"text","text":"x"}],
             "stop_reason":"\(raw)","stop_sequence":\(raw == "stop_sequence" ? "\"###\"" : "null"),"usage":{"input_tokens":1,"output_tokens":1}}
            """
        let parsed = try anthropic.parse(response(200, body), apiKey: nil)
        #expect(parsed.finishReason == expected)
        #expect(parsed.providerFinishReason == raw)
        #expect(parsed.stopSequence == (raw == "stop_sequence" ? "###" : nil))
    }

    @Test("a reply with no text blocks has nil text; missing usage is unknown")
    func emptyContent() throws {
        let body = #"{"id":"m","type":"message","role":"assistant","model":"c","content":[],"stop_reason":"end_turn"}"#
        let parsed = try anthropic.parse(response(200, body), apiKey: nil)
        #expect(parsed.text == nil)
        #expect(parsed.usage == nil)
    }

    @Test("bodies that are not a message are malformed_response", arguments: [
        #"{"id":"msg_1","type":"message","content":[{"type":"te"#,
        #"{"id":"msg_1","type":"message"}"#,
        #"{"id":"m","type":"message","content":[{"type":"tool_use","input":{}}]}"#,
        "",
        // found by the fault tests: these were empty successes
        #"{"id":"m","type":"message","content":[{"type":"text","text":42}],"stop_reason":"end_turn"}"#,
        #"{"id":"m","type":"message","content":[1,2],"stop_reason":"end_turn"}"#,
    ])
    func malformed(body: String) {
        let error = providerError { _ = try anthropic.parse(response(200, body), apiKey: nil) }
        #expect(error?.errorClass == .malformedResponse)
    }

    @Test("an error body is classified from its type, with retry-after and request id")
    func errorBody() {
        let body = #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}"#
        let error = providerError { _ = try anthropic.parse(response(529, body, headers: [("retry-after", "7")]), apiKey: nil) }
        #expect(error?.errorClass == .overloaded)
        #expect(error?.isRetryable == true)
        #expect(error?.retryAfter == .seconds(7))
        #expect(error?.requestID == "req_011CSHoEeqs5C35K2UUqR7Fy")
        #expect(error?.providerErrorType == "overloaded_error")
        #expect(error?.message == "Overloaded")
    }
}
