import Catalog
import CurlHTTP

/// OpenAI Chat Completions (`POST {base}/v1/chat/completions`, `Authorization: Bearer`), and the
/// same wire format at any other base URL.
public struct OpenAIChatAdapter: ChatAdapter {
    /// The differences between OpenAI itself and servers that imitate it.
    public enum Dialect: String, Sendable {
        /// api.openai.com: `max_completion_tokens` (its o-series models reject `max_tokens`).
        case openAI
        /// HuggingFace's router and TGI, vLLM, Ollama, LM Studio…: `max_tokens`, which is what
        /// they all understand; usage is often missing and then recorded as unknown.
        case compatible
    }

    public let provider: Provider
    public let dialect: Dialect

    public init(provider: Provider, dialect: Dialect) {
        self.provider = provider
        self.dialect = dialect
    }

    public var endpointPath: String { "/v1/chat/completions" }

    public func headers(apiKey: APIKey?) -> [(name: String, value: String)] {
        guard let apiKey else { return [] }
        return [("Authorization", "Bearer \(apiKey.value)")]
    }
}
