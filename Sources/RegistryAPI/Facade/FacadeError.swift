import HTTPTypes
import Hummingbird
import JSON
import NIOCore

/// The wire format a `/v1` call speaks: its errors, answers and streams take that format's shape,
/// so the official SDKs raise their own exception classes (NotFoundError, AuthenticationError…).
enum FacadeFormat: Sendable, Equatable {
    case openAI
    case anthropic

    /// `/v1/messages` is Anthropic's; `/v1/models` answers Anthropic errors when the client sent
    /// `anthropic-version` (the Anthropic SDK always does); everything else is OpenAI's.
    static func of(_ request: Request) -> FacadeFormat {
        if request.uri.path.hasPrefix("/v1/messages") { return .anthropic }
        if request.headers[FacadeHeaders.anthropicVersion] != nil { return .anthropic }
        return .openAI
    }
}

enum FacadeHeaders {
    static let jobID = HTTPField.Name("x-switchboard-job-id")!
    static let fallbackDepth = HTTPField.Name("x-switchboard-fallback-depth")!
    static let cost = HTTPField.Name("x-switchboard-cost")!
    static let provider = HTTPField.Name("x-switchboard-provider")!
    static let apiKey = HTTPField.Name("x-api-key")!
    static let anthropicVersion = HTTPField.Name("anthropic-version")!
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    static let shouldRetry = HTTPField.Name("x-should-retry")!
    static let attempts = HTTPField.Name("x-switchboard-attempts")!
    static let warnings = HTTPField.Name("x-switchboard-warnings")!

    /// The adapters' warnings (parameters dropped or adapted for the model that answered) as one
    /// header value: each warning JSON-encoded as a string, joined by ", " so a client can split
    /// it unambiguously (a warning may itself contain commas); non-ASCII escaped, since a header
    /// carries bytes a client may read as Latin-1. nil when there are none.
    static func warnings(_ warnings: [String]) -> String? {
        guard !warnings.isEmpty else { return nil }
        return warnings.map(asciiJSONString).joined(separator: ", ")
    }

    /// A JSON string literal of `text` with every non-ASCII character as `\uXXXX` (UTF-16).
    static func asciiJSONString(_ text: String) -> String {
        var literal = ""
        for unit in JSONValue.string(text).encodedString().utf16 {
            if unit < 0x80 {
                literal.unicodeScalars.append(Unicode.Scalar(UInt8(unit)))
            } else {
                let hex = String(unit, radix: 16)
                literal += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }
        }
        return literal
    }
}

/// An error of a `/v1` call, rendered in the caller's format:
/// OpenAI `{"error": {"message", "type", "param", "code"}}`,
/// Anthropic `{"type": "error", "error": {"type", "message"}}`.
struct FacadeError: Error, Sendable, Equatable {
    var status: HTTPResponse.Status
    var message: String
    /// OpenAI's `code` (`model_not_found`, `invalid_api_key`, …); nil → JSON null.
    var code: String?
    /// OpenAI's `param`: the offending request field.
    var param: String?
    /// Set when a job exists for the call (sent as `x-switchboard-job-id`).
    var jobID: Int64?
    /// `x-should-retry`, which the OpenAI and Anthropic SDKs obey: false for a failed job (the
    /// gateway already retried and fell back; an SDK retry would only enqueue the same work again).
    var shouldRetry: Bool?
    /// 405 only: the `Allow` header.
    var allow: [String] = []
    /// 429 only: the `Retry-After` header, in seconds.
    var retryAfterSeconds: Int?

    init(_ status: HTTPResponse.Status, _ message: String, code: String? = nil, param: String? = nil, jobID: Int64? = nil) {
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.jobID = jobID
    }

    static func invalidRequest(_ message: String, param: String? = nil, code: String? = nil) -> FacadeError {
        FacadeError(.badRequest, message, code: code, param: param)
    }

    static func modelNotFound(_ model: String, _ reason: String) -> FacadeError {
        FacadeError(.notFound, "The model '\(model)' does not exist or cannot be used: \(reason)", code: "model_not_found", param: "model")
    }

    /// The Idempotency-Key names a job with another body: a retry would only conflict again.
    static func idempotencyConflict(_ message: String) -> FacadeError {
        var error = FacadeError(.conflict, message, code: "idempotency_conflict")
        error.shouldRetry = false
        return error
    }

    static let unauthorized = FacadeError(
        .unauthorized, "invalid API key: send a Switchboard key (model-registry keys create) as Authorization: Bearer <key> or x-api-key",
        code: "invalid_api_key")

    /// The error type both formats put in the body: Anthropic's names, which OpenAI's SDK also
    /// reads fine (it branches on the status).
    var errorType: String {
        switch status.code {
        case 400, 409, 405, 415, 422: return "invalid_request_error"
        case 401: return "authentication_error"
        case 403: return "permission_error"
        case 404: return "not_found_error"
        case 413: return "request_too_large"
        case 429: return "rate_limit_error"
        case 503, 529: return "overloaded_error"
        case 504: return "timeout_error"
        default: return "api_error"
        }
    }

    /// OpenAI uses `invalid_request_error` for every client error except auth and rate limits.
    var openAIType: String {
        switch status.code {
        case 401: return "authentication_error"
        case 403: return "permission_error"
        case 429: return "rate_limit_error"
        case 400..<500: return "invalid_request_error"
        default: return "server_error"
        }
    }

    func body(_ format: FacadeFormat) -> JSONValue {
        switch format {
        case .openAI:
            return .object([("error", .object([
                ("message", .string(message)), ("type", .string(openAIType)),
                ("param", param.map(JSONValue.string) ?? .null), ("code", code.map(JSONValue.string) ?? .null),
            ]))])
        case .anthropic:
            return .object([("type", "error"), ("error", .object([("type", .string(errorType)), ("message", .string(message))]))])
        }
    }

    func response(_ format: FacadeFormat) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
        if let jobID { headers[FacadeHeaders.jobID] = String(jobID) }
        if !allow.isEmpty { headers[.allow] = allow.joined(separator: ", ") }
        if let shouldRetry { headers[FacadeHeaders.shouldRetry] = shouldRetry ? "true" : "false" }
        if let retryAfterSeconds { headers[.retryAfter] = String(retryAfterSeconds) }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body(format).encodedBytes())))
    }

    /// The registry's own errors (validation, 405, 413, 415, database) in the `/v1` shape.
    init(_ error: APIError) {
        if error.status == .unauthorized {
            self = .unauthorized
            return
        }
        let field = error.details.first?.field
        var message = error.message
        if !error.details.isEmpty, error.code == "validation_failed" {
            message += ": " + error.details.map { "\($0.field): \($0.message)" }.joined(separator: "; ")
        }
        self.init(error.status, message, code: error.code, param: field == "body" || field == "budget_id" ? nil : field)
        allow = error.allow
        retryAfterSeconds = error.retryAfterSeconds
        // A rate limit or cap of Switchboard's own: the SDKs' automatic retries (after
        // Retry-After, or at once) would only be counted and refused again, so they are told not
        // to; the application sees the 429 with Retry-After and decides.
        if error.code == "rate_limited" {
            param = nil
            shouldRetry = false
        }
        // A spent budget: an SDK's automatic retry would only be refused again.
        if error.code == "budget_exceeded" { shouldRetry = false }
    }

    /// A failed or cancelled job, by its `error.code` (the gateway's error class): the caller's
    /// mistakes are 4xx, what Switchboard could not do with its providers is 5xx (never 401: the
    /// SDK would blame the caller's key for a provider key problem).
    static func jobFailed(jobID: Int64, code: String, message: String) -> FacadeError {
        let status: HTTPResponse.Status
        switch code {
        case "invalid_request", "context_length_exceeded", "content_filter", "unsupported_parameter", "request_too_large":
            status = .badRequest
        case "rate_limited", "budget_exceeded":
            status = .tooManyRequests
        case "price_unknown":
            status = .unprocessableContent
        case "cancelled":
            status = .conflict
        case "overloaded", "no_usable_model", "max_attempts_exceeded", "cooling_down", "lease_expired":
            status = .serviceUnavailable
        case "timeout":
            status = .gatewayTimeout
        default:
            status = .badGateway
        }
        var error = FacadeError(status, "job \(jobID) \(code == "cancelled" ? "was cancelled" : "failed") (\(code)): \(message)", code: code, jobID: jobID)
        error.shouldRetry = false
        return error
    }

    /// The wait's deadline passed and the job was cancelled. `x-should-retry: false`: an SDK retry
    /// would enqueue the same work again.
    static func waitExpired(jobID: Int64, seconds: Int) -> FacadeError {
        var error = FacadeError(
            .gatewayTimeout, "job \(jobID) did not finish within \(seconds) s and was cancelled",
            code: "timeout", jobID: jobID)
        error.shouldRetry = false
        return error
    }
}
