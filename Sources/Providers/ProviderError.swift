/// What the gateway does after a failed attempt. One place decides it: `ProviderErrorClass.gatewayAction`.
public enum ProviderErrorAction: String, Sendable, CaseIterable {
    /// Send the same request to the same model again after a backoff (honouring `retryAfter`);
    /// when that model's retries are spent, move on to the next model; when every model failed
    /// transiently, requeue the job with backoff until `max_attempts`.
    case retry
    /// This model cannot serve this request; try the next model in the chain at once.
    case nextModel = "next_model"
    /// The request is invalid for every model; fail the job without fallback.
    case failJob = "fail_job"
    /// The call was cancelled (shutdown, job cancelled): stop, record no failed attempt and release
    /// the job without spending an attempt.
    case release
}

/// What kind of failure a provider call ended in. The gateway decides retries and fallbacks from
/// this alone, so each case is defined by what the caller should do, not by what went wrong inside.
/// Raw values are stored in `model_usage.error_class`: never change one, only add.
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
    /// The prompt plus the requested output does not fit the model's context window.
    case contextLengthExceeded = "context_length_exceeded"
    /// This model cannot take a parameter or value of the request (OpenAI `unsupported_parameter` /
    /// `unsupported_value`, a combination a model refuses, tools on a server without tool support),
    /// or the adapter found locally that this provider's API cannot express it.
    case unsupportedParameter = "unsupported_parameter"
    /// The request body is larger than the provider accepts (Anthropic 413 `request_too_large`), or
    /// one request needs more tokens than the key's per-minute limit (OpenAI 429 "Request too large").
    case requestTooLarge = "request_too_large"
    /// The request is malformed or has invalid parameters, for every model.
    case invalidRequest = "invalid_request"
    /// The provider's content policy rejected the input (including OpenAI `invalid_prompt`).
    case contentFilter = "content_filter"
    /// The environment variable holding the provider's key is unset or empty; nothing was sent.
    case missingCredentials = "missing_credentials"
    /// The provider row cannot be used (its base URL is not a usable http(s) URL); nothing was sent.
    case providerMisconfigured = "provider_misconfigured"
    /// A success status with a body we cannot read as a completion.
    case malformedResponse = "malformed_response"
    /// The caller cancelled the call (shutdown, job cancelled). Not a provider failure.
    case cancelled
    /// A streamed answer broke after its first token reached the caller (a cut, a stall past the
    /// inter-token deadline, an error event, a malformed chunk): another model cannot take over
    /// without the caller seeing two answers, so the job fails with what was received.
    case streamInterrupted = "stream_interrupted"

    /// What the gateway does next; docs/providers.md's class table lists the same.
    public var gatewayAction: ProviderErrorAction {
        switch self {
        case .rateLimited, .overloaded, .serverError, .timeout, .connection, .malformedResponse:
            return .retry
        case .quotaExhausted, .auth, .modelNotFound, .contextLengthExceeded, .unsupportedParameter,
            .requestTooLarge, .contentFilter, .missingCredentials, .providerMisconfigured:
            return .nextModel
        case .invalidRequest, .streamInterrupted:
            return .failJob
        case .cancelled:
            return .release
        }
    }

    /// Whether sending the same request to the same model again, after a pause, can succeed.
    public var isRetryable: Bool { gatewayAction == .retry }

    /// Whether another model (possibly at another provider) may succeed where this one failed
    /// (at once for `nextModel`, after the retries for `retry`).
    public var allowsFallback: Bool {
        gatewayAction == .retry || gatewayAction == .nextModel
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
    /// How long the provider asked us to wait (`retry-after-ms`, `Retry-After`, or the reset time
    /// of an exhausted rate limit), clamped to a day.
    public var retryAfter: Duration?
    /// The provider's request id header, for support tickets.
    public var requestID: String?
    /// True when the adapter decided before sending anything (missing key, a parameter this
    /// provider cannot take).
    public var detectedLocally: Bool
    /// A timeout after the request was sent: the provider may well finish and bill the call, so
    /// sending it again to the same model is likely a second bill (issue 22, F4).
    public var afterSend = false
    /// A `stream_interrupted` call: the text, tool calls and usage received before it broke
    /// (`usage` nil when the provider sent none).
    public var partial: ChatResponse?
    /// The stream broke before its closing token counts: `partial.usage`'s output count (if any)
    /// is an estimate, and the call's true bill unknown.
    public var partialTokensEstimated = false

    /// An `invalid_request` no evidence backs: a 4xx that is not 400, or one with neither the
    /// provider's `invalid_request_error` type nor an error code (a vLLM/TGI quirk, a proxy's
    /// page). Another model may well take the request, so it is not a reason to fail the job (F11).
    public var isUnrecognisedClientError: Bool {
        guard errorClass == .invalidRequest, !detectedLocally, let httpStatus else { return false }
        let typed = providerErrorType?.lowercased() == "invalid_request_error" || providerErrorCode != nil
        return !(httpStatus == 400 && typed)
    }

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

    /// What the gateway does next (the class decides).
    public var gatewayAction: ProviderErrorAction { errorClass.gatewayAction }

    /// Whether retrying the same model can help.
    public var isRetryable: Bool { errorClass.isRetryable }

    /// Whether the next model in the chain should be tried.
    public var allowsFallback: Bool { errorClass.allowsFallback }

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
