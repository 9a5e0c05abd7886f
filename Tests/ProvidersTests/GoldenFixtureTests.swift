import Catalog
import CurlHTTP
import Foundation
@testable import ChatModel
@testable import Providers
import Testing

/// The golden files under `Tests/Fixtures/providers` (see its README).
enum GoldenFixtures {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/providers")

    /// `openai/response-chat-completion.json`…, sorted, for one kind of file.
    static func names(prefix: String) -> [String] {
        ["openai", "anthropic"].flatMap { provider in
            let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent(provider).path)) ?? []
            return files.filter { $0.hasPrefix(prefix) && $0.hasSuffix(".json") }.sorted().map { "\(provider)/\($0)" }
        }
    }

    static func load(_ name: String) throws -> JSONValue {
        let data = try Data(contentsOf: directory.appendingPathComponent(name))
        return try JSONParser.parse(contiguous: data, maximumDepth: 512)
    }

    static func adapter(for name: String) -> any ChatAdapter {
        name.hasPrefix("anthropic/") ? anthropic as any ChatAdapter : openAI as any ChatAdapter
    }
}

@Suite("Golden fixtures from the providers' documented examples")
struct GoldenFixtureTests {
    @Test("the fixture directory holds both providers' cases")
    func inventory() {
        #expect(GoldenFixtures.names(prefix: "response-").count >= 6)
        #expect(GoldenFixtures.names(prefix: "error-").count >= 15)
        #expect(GoldenFixtures.names(prefix: "request-").count >= 5)
    }

    @Test("responses parse to the expected neutral response", arguments: GoldenFixtures.names(prefix: "response-"))
    func responses(name: String) throws {
        let fixture = try GoldenFixtures.load(name)
        let parsed = try GoldenFixtures.adapter(for: name).parse(Self.httpResponse(fixture), apiKey: nil)
        #expect(parsed == (try ChatResponse(expected: try #require(fixture["expected"]))))
    }

    @Test("errors get their class, gateway action, Retry-After and request id", arguments: GoldenFixtures.names(prefix: "error-"))
    func errors(name: String) throws {
        let fixture = try GoldenFixtures.load(name)
        let now = fixture["now"]?.stringValue.flatMap(Timestamp.date(from:)) ?? Date(timeIntervalSince1970: 1_735_689_600)
        let error = ProviderErrorClassifier.classify(response: Self.httpResponse(fixture), now: now)
        let expected = try #require(fixture["expected"])
        #expect(error.errorClass.rawValue == expected["error_class"]?.stringValue)
        #expect(error.gatewayAction.rawValue == expected["gateway_action"]?.stringValue)
        #expect(error.retryAfter == expected["retry_after_ms"]?.intValue.map { Duration.milliseconds($0) })
        #expect(error.requestID == expected["request_id"]?.stringValue)
        #expect(error.httpStatus == fixture["status"]?.intValue)
        // Classified through the adapter too (it is what the client calls).
        let viaAdapter = providerError { _ = try GoldenFixtures.adapter(for: name).parse(Self.httpResponse(fixture), apiKey: nil) }
        #expect(viaAdapter?.errorClass == error.errorClass)
    }

    @Test("neutral requests become exactly the expected body, member order included", arguments: GoldenFixtures.names(prefix: "request-"))
    func requests(name: String) throws {
        let fixture = try GoldenFixtures.load(name)
        let request = try ChatRequest(json: try #require(fixture["request"]))
        let model = try #require(fixture["model"]?.stringValue)
        let options = ChatCallOptions(
            defaultMaxTokens: fixture["options"]?["default_max_tokens"]?.intValue,
            contextWindow: fixture["options"]?["context_window"]?.intValue)
        let body = try GoldenFixtures.adapter(for: name).makeBody(for: request, model: model, options: options)
        let expected = try #require(fixture["expected_body"]).encodedString()
        #expect(String(decoding: body.bytes, as: UTF8.self) == expected)
        let warnings = fixture["expected_warnings"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(body.warnings.sorted() == warnings.sorted())
        // The stored (job) form round-trips without losing anything the adapters send.
        #expect(try ChatRequest(jsonBytes: request.jsonBytes()) == request)
    }

    static func httpResponse(_ fixture: JSONValue) -> CurlHTTPResponse {
        let headers = (fixture["headers"]?.objectValue ?? []).map { (name: $0.key, value: $0.value.stringValue ?? "") }
        return CurlHTTPResponse(
            status: fixture["status"]?.intValue ?? 0,
            headers: [("content-type", "application/json")] + headers,
            body: (fixture["body"] ?? .null).encoded())
    }
}

extension ChatResponse {
    /// A fixture's `expected` member: ChatResponse's fields in snake_case, tool calls in the
    /// neutral request's form. Responses have no stored JSON form of their own (the worker writes
    /// job results with `ErrorHistory.make`), so only the tests read one.
    init(expected: JSONValue) throws {
        let usage = expected["usage"].map { usage in
            TokenUsage(
                inputTokens: usage["input_tokens"]?.intValue ?? 0, outputTokens: usage["output_tokens"]?.intValue ?? 0,
                cachedInputTokens: usage["cached_input_tokens"]?.intValue,
                cacheCreationInputTokens: usage["cache_creation_input_tokens"]?.intValue,
                reasoningTokens: usage["reasoning_tokens"]?.intValue)
        }
        var toolCalls: [ToolCall] = []
        for (index, call) in (expected["tool_calls"]?.arrayValue ?? []).enumerated() {
            toolCalls.append(try ToolCall(json: call, path: "tool_calls[\(index)]"))
        }
        self.init(
            text: expected["text"]?.stringValue, toolCalls: toolCalls,
            finishReason: expected["finish_reason"]?.stringValue.flatMap(FinishReason.init(rawValue:)),
            providerFinishReason: expected["provider_finish_reason"]?.stringValue,
            stopSequence: expected["stop_sequence"]?.stringValue, refusal: expected["refusal"]?.stringValue,
            usage: usage, model: expected["model"]?.stringValue, responseID: expected["response_id"]?.stringValue,
            requestID: expected["request_id"]?.stringValue,
            warnings: expected["warnings"]?.arrayValue?.compactMap(\.stringValue) ?? [])
    }
}
