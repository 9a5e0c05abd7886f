/// What kind of failure a provider call ended in. The gateway decides retries and fallbacks from
/// this alone, so each case is defined by what the caller should do, not by what went wrong inside.
public enum ProviderErrorClass: String, Sendable, Codable, CaseIterable {
    /// 429: too many requests or tokens per minute for this key.
    case rateLimited = "rate_limited"
    /// The account is out of credit or over its spend limit (OpenAI `insufficient_quota`,
    /// Anthropic `billing_error` / spend limits): waiting minutes will not help.
    case quotaExhausted = "quota_exhausted"
    /// The provider is short of capacity for everyone (Anthropic 529, 503).
    case overloaded
    /// 5xx other than overload, and 409.
    case serverError = "server_error"
    /// No complete response in time (client timeout, 408, 504).
    case timeout
    /// The connection failed or broke (refused, DNS, TLS, reset).
    case connection
    /// The key was rejected or lacks permission (401, 403).
    case auth
    /// The provider does not serve this model (404).
    case modelNotFound = "model_not_found"
    /// The prompt (or the whole request) is too large for the model.
    case contextLengthExceeded = "context_length_exceeded"
    /// The request is malformed or has invalid parameters.
    case invalidRequest = "invalid_request"
    /// The provider's content policy rejected the input.
    case contentFilter = "content_filter"
    /// The environment variable holding the provider's key is unset or empty; nothing was sent.
    case missingCredentials = "missing_credentials"
    /// A success status with a body we cannot read as a completion.
    case malformedResponse = "malformed_response"

    /// Whether sending the same request to the same model again, after a pause, can succeed.
    public var isRetryable: Bool {
        switch self {
        case .rateLimited, .overloaded, .serverError, .timeout, .connection, .malformedResponse:
            return true
        case .quotaExhausted, .auth, .modelNotFound, .contextLengthExceeded, .invalidRequest,
            .contentFilter, .missingCredentials:
            return false
        }
    }

    /// Whether another model (possibly at another provider) may succeed where this one failed.
    /// Only a request the provider judged invalid is expected to be invalid for every model.
    public var allowsFallback: Bool {
        self != .invalidRequest
    }
}

/// A failed provider call. Carries no secret: messages from providers are truncated and have the
/// API key scrubbed before they get here, and the request (with its auth header) is never kept.
public struct ProviderError: Error, Sendable, Equatable, CustomStringConvertible {
    public var errorClass: ProviderErrorClass
    /// The HTTP status, when a response arrived.
    public var httpStatus: Int?
    /// The provider's error type (`rate_limit_error`, `invalid_request_error`…).
    public var providerErrorType: String?
    /// The provider's error code (`insufficient_quota`, `context_length_exceeded`…).
    public var providerErrorCode: String?
    public var message: String
    /// How long the provider asked us to wait (`retry-after-ms`, `Retry-After`).
    public var retryAfter: Duration?
    /// The provider's request id header, for support tickets.
    public var requestID: String?
    /// True when the adapter decided before sending anything (missing key, a parameter this
    /// provider cannot take): such a request may still be fine for another provider.
    public var detectedLocally: Bool

    public init(
        _ errorClass: ProviderErrorClass,
        message: String,
        httpStatus: Int? = nil,
        providerErrorType: String? = nil,
        providerErrorCode: String? = nil,
        retryAfter: Duration? = nil,
        requestID: String? = nil,
        detectedLocally: Bool = false
    ) {
        self.errorClass = errorClass
        self.message = message
        self.httpStatus = httpStatus
        self.providerErrorType = providerErrorType
        self.providerErrorCode = providerErrorCode
        self.retryAfter = retryAfter
        self.requestID = requestID
        self.detectedLocally = detectedLocally
    }

    /// Whether retrying the same model can help.
    public var isRetryable: Bool { errorClass.isRetryable }

    /// Whether the next model in the chain should be tried. A request rejected locally as invalid
    /// was invalid for this provider's API only (e.g. temperature 1.5 for Anthropic).
    public var allowsFallback: Bool {
        errorClass.allowsFallback || (errorClass == .invalidRequest && detectedLocally)
    }

    public var description: String {
        var parts = [errorClass.rawValue]
        if let httpStatus { parts.append("HTTP \(httpStatus)") }
        if let providerErrorType { parts.append("type=\(providerErrorType)") }
        if let providerErrorCode { parts.append("code=\(providerErrorCode)") }
        var text = parts.joined(separator: " ") + ": " + message
        if let retryAfter { text += " (retry after \(retryAfter))" }
        return text
    }
}
