/// The wire protocol a provider speaks.
public enum APIStyle: String, Sendable, Codable, CaseIterable {
    /// OpenAI Chat Completions, also spoken by HuggingFace's router, TGI, vLLM, Ollama, LM Studio…
    case openai
    /// Anthropic Messages.
    case anthropic
}

/// A row of `llm_providers`: where a provider lives and which environment variable holds its key.
/// Secrets never live here: `apiKeyEnv` is the *name* of a variable the gateway reads.
public struct Provider: Sendable, Codable, Equatable {
    public var name: String
    public var apiStyle: APIStyle
    public var baseURL: String
    public var apiKeyEnv: String?
    public var enabled: Bool
    /// Seconds allowed to establish a connection.
    public var connectTimeoutSeconds: Double
    /// Seconds allowed for a whole request, connect to last byte.
    public var requestTimeoutSeconds: Double

    public init(
        name: String,
        apiStyle: APIStyle,
        baseURL: String,
        apiKeyEnv: String?,
        enabled: Bool = true,
        connectTimeoutSeconds: Double = 10,
        requestTimeoutSeconds: Double = 120
    ) {
        self.name = name
        self.apiStyle = apiStyle
        self.baseURL = baseURL
        self.apiKeyEnv = apiKeyEnv
        self.enabled = enabled
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.requestTimeoutSeconds = requestTimeoutSeconds
    }
}

extension Provider {
    /// Variables that hold Switchboard's own secrets. A provider must never name one as its key
    /// variable: the gateway would send, say, the database password to that provider's URL.
    public static func isReservedKeyVariable(_ name: String) -> Bool {
        let upper = name.uppercased()
        return upper == "DATABASE_URL" || upper.hasPrefix("PG") || upper.hasPrefix("SWITCHBOARD_")
    }
}

