import Catalog
import CurlHTTP
import Foundation
import ProviderStub
import Providers
import Testing

/// One body the real API refuses: the stub must refuse it too, with the real wording, and the
/// classifier must put the answer in the right class.
struct RefusedBody: Sendable, CustomTestStringConvertible {
    var label: String
    var style: APIStyle
    var body: String
    var messageContains: String
    var expected: ProviderErrorClass
    var code: String? = nil

    var testDescription: String { label }
}

@Suite("provider-stub is as strict as the real APIs")
struct StubStrictnessTests {
    static let refused: [RefusedBody] = [
        // Anthropic
        .init(label: "Anthropic blank stop sequence", style: .anthropic,
              body: #"{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"Hi"}],"stop_sequences":["END","\n\n"]}"#,
              messageContains: "each stop sequence must contain non-whitespace", expected: .invalidRequest),
        .init(label: "Anthropic temperature with top_p", style: .anthropic,
              body: #"{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"Hi"}],"temperature":0.3,"top_p":0.8}"#,
              messageContains: "cannot both be specified", expected: .unsupportedParameter),
        .init(label: "Anthropic empty content", style: .anthropic,
              body: #"{"model":"c","max_tokens":10,"messages":[{"role":"user","content":[]},{"role":"assistant","content":"x"},{"role":"user","content":"y"}]}"#,
              messageContains: "all messages must have non-empty content", expected: .invalidRequest),
        .init(label: "Anthropic whitespace-only text", style: .anthropic,
              body: #"{"model":"c","max_tokens":10,"messages":[{"role":"user","content":"  "}]}"#,
              messageContains: "must contain non-whitespace text", expected: .invalidRequest),
        .init(label: "Anthropic unknown top-level field", style: .anthropic,
              body: #"{"model":"c","max_tokens":10,"messages":[{"role":"user","content":"Hi"}],"frequency_penalty":0.5}"#,
              messageContains: "frequency_penalty: Extra inputs are not permitted", expected: .invalidRequest),
        .init(label: "Anthropic tool id outside the pattern", style: .anthropic,
              body: #"{"model":"c","max_tokens":10,"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":[{"type":"tool_use","id":"functions.f:0","name":"f","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"functions.f:0","content":"x"}]}]}"#,
              messageContains: "String should match pattern", expected: .invalidRequest),
        .init(label: "Anthropic duplicate tool ids", style: .anthropic,
              body: #"{"model":"c","max_tokens":10,"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":[{"type":"tool_use","id":"call_0","name":"f","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"call_0","content":"x"}]},{"role":"assistant","content":[{"type":"tool_use","id":"call_0","name":"f","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"call_0","content":"y"}]}]}"#,
              messageContains: "`tool_use` ids must be unique", expected: .invalidRequest),
        .init(label: "Anthropic unanswered tool_use", style: .anthropic,
              body: #"{"model":"c","max_tokens":10,"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]},{"role":"user","content":"go on"}]}"#,
              messageContains: "without `tool_result` blocks immediately after", expected: .invalidRequest),
        .init(label: "Anthropic tool_result after text", style: .anthropic,
              body: #"{"model":"c","max_tokens":10,"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"x"},{"type":"text","text":"and"},{"type":"tool_result","tool_use_id":"t1","content":"y"}]}]}"#,
              messageContains: "tool_result blocks must come before", expected: .invalidRequest),
        .init(label: "Anthropic email user_id", style: .anthropic,
              body: #"{"model":"c","max_tokens":10,"messages":[{"role":"user","content":"Hi"}],"metadata":{"user_id":"jane@example.com"}}"#,
              messageContains: "user_id appears to contain an email address", expected: .invalidRequest),
        .init(label: "Anthropic first turn from the assistant", style: .anthropic,
              body: #"{"model":"c","max_tokens":10,"messages":[{"role":"assistant","content":"Hello"},{"role":"user","content":"Hi"}]}"#,
              messageContains: "first message must use the \"user\" role", expected: .invalidRequest),
        .init(label: "Anthropic prefill ending in whitespace", style: .anthropic,
              body: #"{"model":"c","max_tokens":10,"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Sure "}]}"#,
              messageContains: "cannot end with trailing whitespace", expected: .invalidRequest),
        .init(label: "Anthropic input + max_tokens over the context window", style: .anthropic,
              body: #"{"model":"c","max_tokens":64000,"messages":[{"role":"user","content":"\#(String(repeating: "word ", count: 120_000))"}]}"#,
              messageContains: "exceed context limit", expected: .contextLengthExceeded),
        .init(label: "Anthropic max_tokens over the model's limit", style: .anthropic,
              body: #"{"model":"claude-sonnet-4-5","max_tokens":64001,"messages":[{"role":"user","content":"Hi"}]}"#,
              messageContains: "maximum allowed number of output tokens", expected: .invalidRequest),

        // OpenAI
        .init(label: "OpenAI max_tokens for a reasoning model", style: .openai,
              body: #"{"model":"o3","messages":[{"role":"user","content":"Hi"}],"max_tokens":10}"#,
              messageContains: "Use 'max_completion_tokens' instead", expected: .unsupportedParameter, code: "unsupported_parameter"),
        .init(label: "OpenAI temperature for gpt-5", style: .openai,
              body: #"{"model":"gpt-5","messages":[{"role":"user","content":"Hi"}],"temperature":0.2}"#,
              messageContains: "does not support 0.2 with this model", expected: .unsupportedParameter, code: "unsupported_value"),
        .init(label: "OpenAI parallel_tool_calls for o4-mini", style: .openai,
              body: #"{"model":"o4-mini","messages":[{"role":"user","content":"Hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{}}}}],"parallel_tool_calls":false}"#,
              messageContains: "'parallel_tool_calls' is not supported", expected: .unsupportedParameter, code: "unsupported_parameter"),
        .init(label: "OpenAI stop for o3", style: .openai,
              body: #"{"model":"o3","messages":[{"role":"user","content":"Hi"}],"stop":["END"]}"#,
              messageContains: "'stop' is not supported", expected: .unsupportedParameter, code: "unsupported_parameter"),
        .init(label: "OpenAI more than 4 stop sequences", style: .openai,
              body: #"{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}],"stop":["a","b","c","d","e"]}"#,
              messageContains: "array too long", expected: .invalidRequest, code: "array_above_max_length"),
        .init(label: "OpenAI user over 64 characters", style: .openai,
              body: #"{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}],"user":"\#(String(repeating: "u", count: 80))"}"#,
              messageContains: "string too long", expected: .invalidRequest, code: "string_above_max_length"),
        .init(label: "OpenAI unknown field", style: .openai,
              body: #"{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}],"top_k":5}"#,
              messageContains: "Unrecognized request argument supplied: top_k", expected: .invalidRequest),
        .init(label: "OpenAI tool message without a preceding call", style: .openai,
              body: #"{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"},{"role":"tool","tool_call_id":"call_1","content":"x"}]}"#,
              messageContains: "must be a response to a preceeding message with 'tool_calls'", expected: .invalidRequest),
        .init(label: "OpenAI unanswered tool call", style: .openai,
              body: #"{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"user","content":"and?"}]}"#,
              messageContains: "did not have response messages: call_1", expected: .invalidRequest),
    ]

    @Test("each refused body gets the real status, wording and code, and the right class", arguments: refused)
    func refusedBodies(row: RefusedBody) async throws {
        try await withStub { stub in
            let path = row.style == .openai ? "/v1/chat/completions" : "/v1/messages"
            let raw = try await stub.http.send(CurlHTTPRequest(
                method: "POST", url: stub.baseURL + path,
                headers: [("content-type", "application/json"), ("anthropic-version", "2023-06-01")],
                body: Data(row.body.utf8)))
            #expect(raw.status == 400)
            let body = try #require(JSONValue.parse(raw.body))
            #expect(body["error"]?["message"]?.stringValue?.contains(row.messageContains) == true, "\(raw.bodyText)")
            if row.style == .anthropic {
                #expect(body["type"] == "error")
                #expect(body["error"]?["type"] == "invalid_request_error")
            } else {
                #expect(body["error"]?["type"] == "invalid_request_error")
                #expect(body["error"]?["code"]?.stringValue == row.code)
            }
            #expect(ProviderErrorClassifier.classify(response: raw).errorClass == row.expected)
        }
    }

    /// Requests a caller may send in OpenAI's shape that Anthropic or reasoning models refuse as
    /// they are: the adapters repair them, so the strict stub answers each with 200.
    @Test("what the adapters send passes the strict stub", arguments: [APIStyle.anthropic, .openai])
    func adaptedRequestsPass(style: APIStyle) async throws {
        let hostile = ChatRequest(
            messages: [
                .system("Be brief."), .assistant("Hi! Ask me anything. "), .user(""),
                .user("Weather in Paris?"),
                .assistant(nil, toolCalls: [ToolCall(id: "functions.get_weather:0", name: "get_weather", arguments: #"{"city":"Par"#)]),
                .tool(callID: "functions.get_weather:0", content: "sunny"),
                .assistant(nil, toolCalls: [ToolCall(id: "call_0", name: "get_weather", arguments: #"{"city":"Rome"}"#)]),
                .tool(callID: "call_0", content: "rain"),
                .assistant(nil, toolCalls: [ToolCall(id: "call_0", name: "get_weather", arguments: "null")]),
                .tool(callID: "call_0", content: "snow"),
                .user("Thanks"),
            ],
            tools: [weatherTool], parallelToolCalls: false, stop: ["END", "\n\n"], temperature: 0.3, topP: 0.8,
            frequencyPenalty: 0.2, user: "jane.doe@example.com")
        try await withStub { stub in
            let models = style == .anthropic ? ["claude-sonnet-4-5"] : ["gpt-4o", "o3", "gpt-5"]
            for model in models {
                let options = ChatCallOptions(defaultMaxTokens: 64_000, contextWindow: 200_000, maxOutputTokens: 64_000)
                var request = hostile
                if style == .openai {
                    // OpenAI itself takes these as they are; only the reasoning models refuse some.
                    request.messages = Array(hostile.messages.dropFirst(3))
                    request.user = "agent-7"
                }
                let result = try await stub.client().complete(request, model: model, provider: stub.provider(style), options: options)
                #expect(result.text != nil, "\(model)")
                #expect(result.warnings.isEmpty == (model == "gpt-4o"), "\(model): \(result.warnings)")
            }
        }
    }

    @Test("a long prompt with the catalog's 64k max_tokens fits Claude's window after sizing")
    func longPromptFits() async throws {
        try await withStub { stub in
            let long = ChatRequest(messages: [.user(String(repeating: "word ", count: 120_000))])
            let options = ChatCallOptions(defaultMaxTokens: 64_000, contextWindow: 200_000, maxOutputTokens: 64_000)
            let result = try await stub.client().complete(long, model: "claude-sonnet-4-5", provider: stub.provider(.anthropic), options: options)
            // Accepted (the reply echoes the prompt, so it is cut at the sized max_tokens).
            #expect(result.finishReason == .length)
            #expect((result.usage?.outputTokens ?? 0) + (result.usage?.inputTokens ?? 0) <= 200_000)
        }
    }
}

@Suite("provider-stub replies have the real shapes")
struct StubReplyShapeTests {
    /// Every member path of a document (`choices[].message.refusal`…).
    static func paths(_ value: JSONValue, prefix: String = "") -> Set<String> {
        switch value {
        case .object(let members):
            return members.reduce(into: Set<String>()) { result, member in
                let path = prefix.isEmpty ? member.key : "\(prefix).\(member.key)"
                result.insert(path)
                result.formUnion(paths(member.value, prefix: path))
            }
        case .array(let items):
            return items.reduce(into: Set<String>()) { $0.formUnion(paths($1, prefix: prefix + "[]")) }
        default:
            return []
        }
    }

    @Test("the stub's success bodies have every member of the documented examples", arguments: [
        (APIStyle.openai, "openai/response-chat-completion.json"), (.anthropic, "anthropic/response-message.json"),
    ])
    func successShape(style: APIStyle, fixture: String) async throws {
        try await withStub { stub in
            let path = style == .openai ? "/v1/chat/completions" : "/v1/messages"
            let body = style == .openai
                ? #"{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}]}"#
                : #"{"model":"claude-sonnet-4-5","max_tokens":50,"messages":[{"role":"user","content":"Hi"}]}"#
            let raw = try await stub.http.send(CurlHTTPRequest(
                method: "POST", url: stub.baseURL + path,
                headers: [("content-type", "application/json"), ("anthropic-version", "2023-06-01")], body: Data(body.utf8)))
            #expect(raw.status == 200)
            let reply = try JSONParser.parse(contiguous: raw.body)
            let documented = try #require(GoldenFixtures.load(fixture)["body"])
            let expected = Self.paths(documented)
            #expect(expected.subtracting(Self.paths(reply)).isEmpty, "missing: \(expected.subtracting(Self.paths(reply)).sorted())")
            #expect(raw.header(style == .openai ? "x-request-id" : "request-id") != nil)
        }
    }
}
