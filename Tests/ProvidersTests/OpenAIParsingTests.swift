import CurlHTTP
import Foundation
import Providers
import Testing

@Suite("OpenAI response parsing")
struct OpenAIParsingTests {
    // Shaped as in OpenAI's Chat Completions reference.
    static let textCompletion = """
        {
          "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
          "object": "chat.completion",
          "created": 1741569952,
          "model": "gpt-4.1-2025-04-14",
          "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": "Hello! How can I assist you today?", "refusal": null, "annotations": []},
            "logprobs": null,
            "finish_reason": "stop"
          }],
          "usage": {
            "prompt_tokens": 2019, "completion_tokens": 310, "total_tokens": 2329,
            "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 192, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
          },
          "service_tier": "default"
        }
        """

    @Test("text, model, ids and usage with cached and reasoning tokens")
    func text() throws {
        let parsed = try openAI.parse(response(200, Self.textCompletion, headers: [("x-request-id", "req_abc")]), apiKey: nil)
        #expect(parsed.text == "Hello! How can I assist you today?")
        #expect(parsed.toolCalls.isEmpty)
        #expect(parsed.finishReason == .stop)
        #expect(parsed.providerFinishReason == "stop")
        #expect(parsed.model == "gpt-4.1-2025-04-14")
        #expect(parsed.responseID == "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT")
        #expect(parsed.requestID == "req_abc")
        #expect(parsed.usage == TokenUsage(inputTokens: 2019, outputTokens: 310, cachedInputTokens: 1920, reasoningTokens: 192))
    }

    @Test("tool calls keep their ids and JSON-string arguments")
    func toolCalls() throws {
        let body = """
            {"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o",
             "choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","content":null,"refusal":null,
               "tool_calls":[
                 {"id":"call_abc","type":"function","function":{"name":"get_weather","arguments":"{\\"city\\":\\"Paris\\"}"}},
                 {"id":"call_def","type":"function","function":{"name":"get_time","arguments":"{}"}}]}}],
             "usage":{"prompt_tokens":82,"completion_tokens":17,"total_tokens":99}}
            """
        let parsed = try openAI.parse(response(200, body), apiKey: nil)
        #expect(parsed.text == nil)
        #expect(parsed.finishReason == .toolCalls)
        #expect(parsed.toolCalls == [
            ToolCall(id: "call_abc", name: "get_weather", arguments: #"{"city":"Paris"}"#),
            ToolCall(id: "call_def", name: "get_time", arguments: "{}"),
        ])
        // Details absent: the breakdowns are unknown, not zero.
        #expect(parsed.usage == TokenUsage(inputTokens: 82, outputTokens: 17))
    }

    @Test("a named tool_choice answers finish_reason stop with tool calls: normalised to tool_calls")
    func namedToolQuirk() throws {
        let body = """
            {"id":"chatcmpl-2","model":"gpt-4o","choices":[{"index":0,"finish_reason":"stop",
              "message":{"role":"assistant","content":null,
                "tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{}"}}]}}]}
            """
        let parsed = try openAI.parse(response(200, body), apiKey: nil)
        #expect(parsed.finishReason == .toolCalls)
        #expect(parsed.providerFinishReason == "stop")
    }

    @Test("finish reasons, including other servers' spellings", arguments: [
        ("stop", FinishReason.stop), ("length", .length), ("tool_calls", .toolCalls),
        ("content_filter", .contentFilter), ("function_call", .toolCalls),
        ("eos_token", .stop), ("stop_sequence", .stop),
    ])
    func finishReasons(raw: String, expected: FinishReason) throws {
        let body = """
            {"id":"x","model":"m","choices":[{"index":0,"finish_reason":"\(raw)","message":{"role":"assistant","content":"t"}}]}
            """
        #expect(try compatible.parse(response(200, body), apiKey: nil).finishReason == expected)
    }

    @Test("an unknown finish reason is kept raw and not guessed")
    func unknownFinishReason() throws {
        let body = #"{"id":"x","model":"m","choices":[{"index":0,"finish_reason":"abort","message":{"role":"assistant","content":"t"}}]}"#
        let parsed = try compatible.parse(response(200, body), apiKey: nil)
        #expect(parsed.finishReason == nil)
        #expect(parsed.providerFinishReason == "abort")
    }

    @Test("a refusal is reported apart from text")
    func refusal() throws {
        let body = """
            {"id":"x","model":"gpt-4o","choices":[{"index":0,"finish_reason":"stop",
              "message":{"role":"assistant","content":null,"refusal":"I'm sorry, I can't help with that."}}]}
            """
        let parsed = try openAI.parse(response(200, body), apiKey: nil)
        #expect(parsed.text == nil)
        #expect(parsed.refusal == "I'm sorry, I can't help with that.")
        // OpenAI says "stop"; the neutral reason is the one refusal reason of every provider.
        #expect(parsed.finishReason == .contentFilter)
        #expect(parsed.providerFinishReason == "stop")
        let empty = try openAI.parse(response(200, body.replacingOccurrences(of: #""I'm sorry, I can't help with that.""#, with: "null")), apiKey: nil)
        #expect(empty.finishReason == .stop)
    }

    @Test("a compatible server's reply without usage records unknown usage, never zero")
    func missingUsage() throws {
        let body = """
            {"id":"chatcmpl-tgi","object":"chat.completion","created":1,"model":"tgi",
             "choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"eos_token"}]}
            """
        let parsed = try compatible.parse(response(200, body), apiKey: nil)
        #expect(parsed.usage == nil)
        #expect(parsed.text == "Hi")
        let nullUsage = try compatible.parse(response(200, body.replacingOccurrences(of: #""model":"tgi","#, with: #""model":"tgi","usage":null,"#)), apiKey: nil)
        #expect(nullUsage.usage == nil)
    }

    @Test("content as an array of text parts (some compatible servers) is joined")
    func contentParts() throws {
        let body = #"{"id":"x","model":"m","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":[{"type":"text","text":"Hel"},{"type":"text","text":"lo"}]}}]}"#
        #expect(try compatible.parse(response(200, body), apiKey: nil).text == "Hello")
    }

    @Test("a tool call without id or with object arguments (compatible servers) is still usable")
    func lenientToolCalls() throws {
        let body = #"{"id":"x","model":"m","choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","content":"","tool_calls":[{"type":"function","function":{"name":"f","arguments":{"a":1}}}]}}]}"#
        let parsed = try compatible.parse(response(200, body), apiKey: nil)
        #expect(parsed.toolCalls == [ToolCall(id: "call_x_0", name: "f", arguments: #"{"a":1}"#)])
        // Without a response id the invented ids are still unique across responses.
        let anonymous = body.replacingOccurrences(of: #""id":"x","#, with: "")
        let first = try compatible.parse(response(200, anonymous), apiKey: nil).toolCalls.first?.id
        let second = try compatible.parse(response(200, anonymous), apiKey: nil).toolCalls.first?.id
        #expect(first != nil && first != second)
    }

    @Test("bodies that are not a completion are malformed_response", arguments: [
        #"{"id":"chatcmpl-1","choices":[{"index":0,"message":"#,
        "<html>oops</html>",
        #"{"id":"x","object":"chat.completion"}"#,
        #"{"id":"x","choices":[]}"#,
        #"{"id":"x","choices":[{"index":0,"message":{"role":"assistant","tool_calls":[{"id":"c","function":{}}]}}]}"#,
        // content of a type no server sends (found by the fault tests): not an empty success
        #"{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":{"text":42}},"finish_reason":"stop"}]}"#,
        #"{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":42},"finish_reason":"stop"}]}"#,
    ])
    func malformed(body: String) {
        let error = providerError { _ = try openAI.parse(response(200, body), apiKey: nil) }
        #expect(error?.errorClass == .malformedResponse)
        #expect(error?.isRetryable == true)
    }

    @Test("an error object inside a 200 is classified as an error")
    func errorInSuccess() {
        let body = #"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#
        let error = providerError { _ = try compatible.parse(response(200, body), apiKey: nil) }
        #expect(error?.errorClass == .rateLimited)
    }

    @Test("an error status is classified, with Retry-After and request id")
    func errorStatus() {
        let body = #"{"error":{"message":"Rate limit reached for gpt-4o","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#
        let error = providerError {
            _ = try openAI.parse(response(429, body, headers: [("retry-after-ms", "1500"), ("x-request-id", "req_9")]), apiKey: nil)
        }
        #expect(error?.errorClass == .rateLimited)
        #expect(error?.retryAfter == .milliseconds(1500))
        #expect(error?.requestID == "req_9")
        #expect(error?.providerErrorCode == "rate_limit_exceeded")
        #expect(error?.httpStatus == 429)
    }
}
