import CurlHTTP
import Foundation

/// Turns failed calls into `ProviderError`s.
///
/// Order of evidence: the provider's error code and type first (they are documented and stable),
/// then the HTTP status, and message text only as a last resort for the few conditions that some
/// providers report with nothing but a 400 and prose (Anthropic's "prompt is too long", "credit
/// balance is too low"; OpenAI-compatible servers that have no codes at all).
public enum ProviderErrorClassifier {
    /// Classifies a response whose status is not 2xx (or a 2xx carrying an error object).
    public static func classify(
        response: CurlHTTPResponse,
        apiKey: APIKey? = nil,
        now: Date = Date()
    ) -> ProviderError {
        let body = ProviderErrorBody(parsing: response.body)
        let requestID = response.providerRequestID ?? body.requestID
        let errorClass = classify(status: response.status, body: body)
        let fallbackMessage = "HTTP \(response.status) without an error message"
        return ProviderError(
            errorClass,
            message: ProviderErrorBody.truncated(APIKey.redact(body.message ?? fallbackMessage, key: apiKey)),
            httpStatus: response.status,
            providerErrorType: body.type,
            providerErrorCode: body.code,
            retryAfter: RetryAfter.parse(headers: response.headers, now: now),
            requestID: requestID
        )
    }

    /// Classifies a status and an error body already read.
    static func classify(status: Int, body: ProviderErrorBody) -> ProviderErrorClass {
        if let byCode = classByCode(body, status: status) { return byCode }
        if let byMessage = classByMessageBeforeStatus(body.message, status: status) { return byMessage }
        if let byStatus = classByStatus(status) { return byStatus }
        if let byMessage = classByMessage(body.message, status: status) { return byMessage }
        return status >= 500 ? .serverError : .invalidRequest
    }

    /// Classifies a transfer that produced no HTTP response.
    public static func classify(transportError error: CurlHTTPError) -> ProviderError {
        switch error {
        case .timeout:
            return ProviderError(.timeout, message: "the provider did not answer within the request timeout")
        case .timeoutAfterSend:
            var error = ProviderError(.timeout, message: "the provider did not answer within the request timeout (the request was sent)")
            error.afterSend = true
            return error
        case .connectionRefused, .nameResolution, .tls, .connection, .transfer, .shutdown:
            return ProviderError(.connection, message: error.description)
        case .responseTooLarge:
            // A provider answering with an unbounded body is broken, not a client mistake.
            return ProviderError(.malformedResponse, message: error.description)
        case .addressNotAllowed:
            // SSRF guard: the base URL's host resolves to an address the operator did not allow.
            return ProviderError(.providerMisconfigured, message: "provider base URL rejected: \(error.description)", detectedLocally: true)
        case .invalidURL, .unsupportedScheme, .invalidHeader:
            // The provider row's base URL is unusable: no retry helps, another provider may.
            return ProviderError(.providerMisconfigured, message: "provider base URL rejected: \(error.description)", detectedLocally: true)
        }
    }

    // MARK: - Evidence, strongest first

    private static func classByCode(_ body: ProviderErrorBody, status: Int) -> ProviderErrorClass? {
        let code = body.code?.lowercased()
        let type = body.type?.lowercased()
        if code == "insufficient_quota" || type == "insufficient_quota" || type == "billing_error"
            || body.detailCode == "enforced_spend_limit_reached"
        {
            return .quotaExhausted
        }
        switch code {
        case "context_length_exceeded":
            return .contextLengthExceeded
        case "unsupported_parameter", "unsupported_value":
            return .unsupportedParameter
        case "model_not_found", "model_not_supported":
            return .modelNotFound
        case "content_filter", "content_policy_violation", "invalid_prompt":
            return .contentFilter
        case "invalid_api_key", "invalid_organization", "unsupported_country_region_territory":
            return .auth
        case "rate_limit_exceeded":
            // OpenAI words a single request above the tokens-per-minute limit as a rate limit;
            // waiting cannot make it fit (documented text rule, see classByMessageBeforeStatus).
            return isTooLargeForRateLimit(body.message) ? .requestTooLarge : .rateLimited
        case "string_above_max_length":
            // A field longer than allowed (`user` over 64 characters, a long tool description):
            // not a context error, and just as invalid for every model.
            return .invalidRequest
        default:
            break
        }
        switch type {
        case "overloaded_error":
            return .overloaded
        case "rate_limit_error":
            return .rateLimited
        case "authentication_error", "permission_error":
            return .auth
        case "not_found_error", "notfounderror":
            return .modelNotFound
        case "request_too_large":
            return .requestTooLarge
        case "timeout_error":
            return .timeout
        default:
            return nil
        }
    }

    private static func classByStatus(_ status: Int) -> ProviderErrorClass? {
        switch status {
        case 401, 403: return .auth
        case 402: return .quotaExhausted
        case 404: return .modelNotFound
        case 408, 504: return .timeout
        case 409: return .serverError
        case 413: return .requestTooLarge
        case 429: return .rateLimited
        case 503, 529: return .overloaded
        case 500...599: return .serverError
        default: return nil
        }
    }

    /// Text rules that must win over the status: the few messages whose status says "rate limit"
    /// while waiting cannot help.
    private static func classByMessageBeforeStatus(_ message: String?, status: Int) -> ProviderErrorClass? {
        if status == 429, isTooLargeForRateLimit(message) { return .requestTooLarge }
        return nil
    }

    /// OpenAI: "Request too large for gpt-4o in organization org-… on tokens per min (TPM): Limit
    /// 30000, Requested 45000."
    private static func isTooLargeForRateLimit(_ message: String?) -> Bool {
        message?.lowercased().contains("request too large for") ?? false
    }

    /// Last resort, documented in docs/providers.md ("Error classes"): phrases servers use when they send only a 4xx and
    /// prose (Anthropic's 400s carry only `invalid_request_error`; TGI, vLLM and Ollama have no codes).
    static let contextPhrases = [
        "prompt is too long",  // Anthropic
        "exceed context limit",  // Anthropic: "input length and `max_tokens` exceed context limit: …"
        "maximum context length",  // OpenAI wording, copied by vLLM and others
        "context length", "context window", "too many tokens", "input is too long", "reduce the length",
        "`inputs` tokens + `max_new_tokens`", "inputs tokens + max_new_tokens",  // TGI
    ]
    static let unsupportedPhrases = [
        "unsupported parameter", "unsupported value",  // OpenAI behind proxies that drop the code
        "cannot both be specified",  // Anthropic: "`temperature` and `top_p` cannot both be specified for this model"
        "is not supported with this model", "does not support tools",  // Ollama
        "tool choice requires", "--enable-auto-tool-choice",  // vLLM without tool parsing
        "does not support parameters",
    ]

    private static func classByMessage(_ message: String?, status: Int) -> ProviderErrorClass? {
        guard let text = message?.lowercased() else { return nil }
        if contextPhrases.contains(where: text.contains) { return .contextLengthExceeded }
        if text.contains("content filtering policy") || text.contains("content management policy")
            || text.contains("flagged as potentially violating")
        {
            return .contentFilter
        }
        if text.contains("credit balance is too low") || text.contains("spend limit") || text.contains("exceeded your current quota") {
            return .quotaExhausted
        }
        if unsupportedPhrases.contains(where: text.contains) { return .unsupportedParameter }
        if text.contains("model"), text.contains("not found") || text.contains("does not exist") {
            return .modelNotFound
        }
        return nil
    }
}
