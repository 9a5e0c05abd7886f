import Catalog
import CurlHTTP
import Foundation
import Providers
import Testing

/// Parses a fixture written as a Swift string literal; a broken fixture fails the test.
func json(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> JSONValue {
    try #require(JSONValue.parse(text), "fixture is not JSON", sourceLocation: sourceLocation)
}

/// Compares a body structurally against the expected JSON text, printing both on mismatch.
func expectJSON(_ actual: JSONValue, equals expectedText: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let expected = try json(expectedText, sourceLocation: sourceLocation)
    #expect(
        actual == expected,
        "\nactual:   \(actual.encodedString())\nexpected: \(expected.encodedString())",
        sourceLocation: sourceLocation)
}

func response(_ status: Int, _ body: String, headers: [(name: String, value: String)] = []) -> CurlHTTPResponse {
    CurlHTTPResponse(status: status, headers: [("content-type", "application/json")] + headers, body: Data(body.utf8))
}

let openAIProvider = Provider(
    name: "openai", apiStyle: .openai, baseURL: "https://api.openai.com", apiKeyEnv: "OPENAI_API_KEY",
    connectTimeoutSeconds: 5, requestTimeoutSeconds: 60)
let huggingFaceProvider = Provider(
    name: "huggingface", apiStyle: .openai, baseURL: "https://router.huggingface.co", apiKeyEnv: "HF_TOKEN")
let anthropicProvider = Provider(
    name: "anthropic", apiStyle: .anthropic, baseURL: "https://api.anthropic.com/", apiKeyEnv: "ANTHROPIC_API_KEY")

let openAI = OpenAIChatAdapter(provider: openAIProvider, dialect: .openAI)
let compatible = OpenAIChatAdapter(provider: huggingFaceProvider, dialect: .compatible)
let anthropic = AnthropicMessagesAdapter(provider: anthropicProvider)

let weatherTool = ToolDefinition(
    name: "get_weather",
    description: "Current weather for a city",
    parameters: [
        "type": "object",
        "properties": ["city": ["type": "string"], "unit": ["type": "string", "enum": ["celsius", "fahrenheit"]]],
        "required": ["city"],
    ])

/// The `ProviderError` a throwing expression threw; records an issue when it threw nothing or
/// something else.
func providerError(
    sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
) -> ProviderError? {
    do {
        try body()
        Issue.record("expected a ProviderError, nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as ProviderError {
        return error
    } catch {
        Issue.record("expected a ProviderError, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

func providerError(
    sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void
) async -> ProviderError? {
    do {
        try await body()
        Issue.record("expected a ProviderError, nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as ProviderError {
        return error
    } catch {
        Issue.record("expected a ProviderError, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}
