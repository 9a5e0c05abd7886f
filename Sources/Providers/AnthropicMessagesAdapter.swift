import Catalog
import CurlHTTP

/// Anthropic Messages (`POST {base}/v1/messages`, `x-api-key`, `anthropic-version: 2023-06-01`).
public struct AnthropicMessagesAdapter: ChatAdapter {
    /// The API version every request declares; it fixes the response shape we parse.
    public static let apiVersion = "2023-06-01"
    /// `max_tokens` is mandatory in Messages; used when neither the request nor the call options
    /// (the model's catalog limit) give one.
    public static let fallbackMaxTokens = 4096

    public let provider: Provider

    public init(provider: Provider) {
        self.provider = provider
    }

    public var endpointPath: String { "/v1/messages" }

    public func headers(apiKey: APIKey?) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = [("anthropic-version", Self.apiVersion)]
        if let apiKey { headers.append(("x-api-key", apiKey.value)) }
        return headers
    }
}
