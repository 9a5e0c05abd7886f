import Foundation

/// Which API a request came in on; errors are written in that API's format.
enum StubAPIStyle {
    case openAI
    case anthropic
}

/// A response before it becomes a Hummingbird `Response`.
struct StubHTTPReply {
    var status: Int
    var headers: [(name: String, value: String)] = []
    var body: Data

    static func json(_ status: Int, _ value: StubJSON, headers: [(name: String, value: String)] = []) -> StubHTTPReply {
        StubHTTPReply(status: status, headers: [("content-type", "application/json")] + headers, body: value.encoded())
    }
}

/// Error responses shaped like the real providers' (bodies, status codes, rate-limit headers).
enum StubErrors {
    static func injected(
        _ error: StubBehavior.InjectedError, style: StubAPIStyle, model: String, retryAfterSeconds: Int, requestID: String
    ) -> StubHTTPReply {
        switch style {
        case .openAI: return openAI(error, model: model, retryAfterSeconds: retryAfterSeconds, requestID: requestID)
        case .anthropic: return anthropic(error, model: model, retryAfterSeconds: retryAfterSeconds, requestID: requestID)
        }
    }

    /// A 400 for a request the stub finds invalid, as the real API words it.
    static func invalidRequest(style: StubAPIStyle, message: String, param: String? = nil, code: String? = nil, requestID: String) -> StubHTTPReply {
        switch style {
        case .openAI:
            return openAIError(400, message: message, type: "invalid_request_error", param: param, code: code, requestID: requestID)
        case .anthropic:
            return anthropicError(400, type: "invalid_request_error", message: message, requestID: requestID)
        }
    }

    static func authentication(style: StubAPIStyle, presentedKey: String?, requestID: String) -> StubHTTPReply {
        switch style {
        case .openAI:
            guard let presentedKey, !presentedKey.isEmpty else {
                return openAIError(
                    401,
                    message: "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                    type: "invalid_request_error", param: nil, code: nil, requestID: requestID)
            }
            // OpenAI echoes a masked key: its first and last four characters.
            let masked = presentedKey.count > 8 ? "\(presentedKey.prefix(4))***\(presentedKey.suffix(4))" : "***"
            return openAIError(
                401,
                message: "Incorrect API key provided: \(masked). You can find your API key at https://platform.openai.com/account/api-keys.",
                type: "invalid_request_error", param: nil, code: "invalid_api_key", requestID: requestID)
        case .anthropic:
            let message = presentedKey == nil ? "x-api-key header is required" : "invalid x-api-key"
            return anthropicError(401, type: "authentication_error", message: message, requestID: requestID)
        }
    }

    static func gatewayTimeout() -> StubHTTPReply {
        html(504, title: "504 Gateway Time-out")
    }

    // MARK: - OpenAI

    private static func openAI(_ error: StubBehavior.InjectedError, model: String, retryAfterSeconds: Int, requestID: String) -> StubHTTPReply {
        switch error {
        case .quota:
            return openAIError(
                429, message: "You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
                type: "insufficient_quota", param: nil, code: "insufficient_quota", requestID: requestID)
        case .contextLength:
            return openAIError(
                400, message: "This model's maximum context length is 128000 tokens. However, your messages resulted in 131072 tokens. Please reduce the length of the messages.",
                type: "invalid_request_error", param: "messages", code: "context_length_exceeded", requestID: requestID)
        case .contentFilter:
            return openAIError(
                400, message: "Your request was rejected as a result of our safety system.",
                type: "invalid_request_error", param: nil, code: "content_policy_violation", requestID: requestID)
        case .status(let status):
            let retryHeaders: [(name: String, value: String)] = [
                ("retry-after", String(retryAfterSeconds)), ("retry-after-ms", String(retryAfterSeconds * 1000)),
            ]
            switch status {
            case 400:
                return openAIError(400, message: "Invalid value for 'messages': the stub was asked to reject this request.", type: "invalid_request_error", param: "messages", code: nil, requestID: requestID)
            case 401:
                return authentication(style: .openAI, presentedKey: "sk-stub-rejected-key", requestID: requestID)
            case 403:
                return openAIError(403, message: "Country, region, or territory not supported", type: "request_forbidden", param: nil, code: "unsupported_country_region_territory", requestID: requestID)
            case 404:
                return openAIError(404, message: "The model `\(model)` does not exist or you do not have access to it.", type: "invalid_request_error", param: nil, code: "model_not_found", requestID: requestID)
            case 429:
                var reply = openAIError(
                    429, message: "Rate limit reached for \(model) in organization org-stub on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in \(retryAfterSeconds)s.",
                    type: "requests", param: nil, code: "rate_limit_exceeded", requestID: requestID)
                reply.headers += retryHeaders + [
                    ("x-ratelimit-limit-requests", "3"), ("x-ratelimit-remaining-requests", "0"),
                    ("x-ratelimit-reset-requests", "\(retryAfterSeconds)s"),
                ]
                return reply
            case 500:
                return openAIError(500, message: "The server had an error while processing your request. Sorry about that!", type: "server_error", param: nil, code: nil, requestID: requestID)
            case 502:
                return html(502, title: "502 Bad Gateway")
            case 503, 529:
                var reply = openAIError(status, message: "The engine is currently overloaded, please try again later.", type: "server_error", param: nil, code: nil, requestID: requestID)
                reply.headers += retryHeaders
                return reply
            case 504:
                return html(504, title: "504 Gateway Time-out")
            default:
                let type = status >= 500 ? "server_error" : "invalid_request_error"
                return openAIError(status, message: "The stub was asked to fail with HTTP \(status).", type: type, param: nil, code: nil, requestID: requestID)
            }
        }
    }

    private static func openAIError(
        _ status: Int, message: String, type: String, param: String?, code: String?, requestID: String
    ) -> StubHTTPReply {
        let error: StubJSON = [
            "message": .string(message), "type": .string(type),
            "param": param.map(StubJSON.string) ?? .null, "code": code.map(StubJSON.string) ?? .null,
        ]
        return .json(status, ["error": error], headers: [("x-request-id", requestID)])
    }

    // MARK: - Anthropic

    private static func anthropic(_ error: StubBehavior.InjectedError, model: String, retryAfterSeconds: Int, requestID: String) -> StubHTTPReply {
        switch error {
        case .quota:
            return anthropicError(400, type: "invalid_request_error", message: "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.", requestID: requestID)
        case .contextLength:
            return anthropicError(400, type: "invalid_request_error", message: "prompt is too long: 210432 tokens > 200000 maximum", requestID: requestID)
        case .contentFilter:
            return anthropicError(400, type: "invalid_request_error", message: "Output blocked by content filtering policy", requestID: requestID)
        case .status(let status):
            let retryHeaders: [(name: String, value: String)] = [("retry-after", String(retryAfterSeconds))]
            switch status {
            case 400: return anthropicError(400, type: "invalid_request_error", message: "messages: the stub was asked to reject this request", requestID: requestID)
            case 401: return authentication(style: .anthropic, presentedKey: "rejected", requestID: requestID)
            case 402: return anthropicError(402, type: "billing_error", message: "Your organization has no remaining credit.", requestID: requestID)
            case 403: return anthropicError(403, type: "permission_error", message: "Your API key does not have permission to use the specified resource.", requestID: requestID)
            case 404: return anthropicError(404, type: "not_found_error", message: "model: \(model)", requestID: requestID)
            case 413: return anthropicError(413, type: "request_too_large", message: "Request exceeds the maximum allowed number of bytes.", requestID: requestID)
            case 429:
                var reply = anthropicError(429, type: "rate_limit_error", message: "This request would exceed the rate limit for your organization of 50 requests per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits.", requestID: requestID)
                reply.headers += retryHeaders + [
                    ("anthropic-ratelimit-requests-limit", "50"), ("anthropic-ratelimit-requests-remaining", "0"),
                ]
                return reply
            case 500: return anthropicError(500, type: "api_error", message: "Internal server error", requestID: requestID)
            case 502: return html(502, title: "502 Bad Gateway")
            case 503:
                var reply = anthropicError(503, type: "api_error", message: "Service unavailable", requestID: requestID)
                reply.headers += retryHeaders
                return reply
            case 504: return anthropicError(504, type: "timeout_error", message: "Request timeout", requestID: requestID)
            case 529:
                var reply = anthropicError(529, type: "overloaded_error", message: "Overloaded", requestID: requestID)
                reply.headers += retryHeaders
                return reply
            default:
                let type = status >= 500 ? "api_error" : "invalid_request_error"
                return anthropicError(status, type: type, message: "The stub was asked to fail with HTTP \(status).", requestID: requestID)
            }
        }
    }

    private static func anthropicError(_ status: Int, type: String, message: String, requestID: String) -> StubHTTPReply {
        .json(
            status,
            ["type": "error", "error": ["type": .string(type), "message": .string(message)], "request_id": .string(requestID)],
            headers: [("request-id", requestID)])
    }

    /// What a CDN or load balancer in front of a provider sends: HTML, not JSON.
    private static func html(_ status: Int, title: String) -> StubHTTPReply {
        let page = "<html>\r\n<head><title>\(title)</title></head>\r\n<body>\r\n<center><h1>\(title)</h1></center>\r\n</body>\r\n</html>\r\n"
        return StubHTTPReply(status: status, headers: [("content-type", "text/html")], body: Data(page.utf8))
    }
}
