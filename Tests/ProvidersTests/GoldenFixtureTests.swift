import Catalog
import CurlHTTP
import Foundation
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
        let expected = try JSONDecoder().decode(ChatResponse.self, from: try #require(fixture["expected"]).encoded())
        #expect(parsed == expected)
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
        // Foundation's Codable path reads the same documented shape.
        #expect(try JSONDecoder().decode(ChatRequest.self, from: try #require(fixture["request"]).encoded()) == request)
    }

    static func httpResponse(_ fixture: JSONValue) -> CurlHTTPResponse {
        let headers = (fixture["headers"]?.objectValue ?? []).map { (name: $0.key, value: $0.value.stringValue ?? "") }
        return CurlHTTPResponse(
            status: fixture["status"]?.intValue ?? 0,
            headers: [("content-type", "application/json")] + headers,
            body: (fixture["body"] ?? .null).encoded())
    }
}
