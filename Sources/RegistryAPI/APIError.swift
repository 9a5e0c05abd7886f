import Catalog
import Storage
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Every error the API answers, rendered as
/// `{"error":{"code":"…","message":"…","details":[{"field":"…","message":"…"}]}}`.
/// `details` is always present (empty when there is nothing per field).
public struct APIError: Error, Sendable, Equatable {
    /// One entry of `details`: Catalog's `FieldIssue` (validators produce them directly).
    public typealias Detail = FieldIssue

    public var status: HTTPResponse.Status
    /// Stable, machine-readable: clients branch on it, never on `message`.
    public var code: String
    public var message: String
    public var details: [Detail]
    /// 405 only: the methods the path does answer (the `Allow` header).
    public var allow: [String] = []
    /// 429 only: the `Retry-After` header, in seconds.
    public var retryAfterSeconds: Int?

    public init(_ status: HTTPResponse.Status, code: String, message: String, details: [Detail] = []) {
        self.status = status
        self.code = code
        self.message = message
        self.details = details
    }

    public static func == (lhs: APIError, rhs: APIError) -> Bool {
        lhs.status == rhs.status && lhs.code == rhs.code && lhs.message == rhs.message && lhs.details == rhs.details
    }
}

extension APIError {
    static func invalidJSON(_ reason: String) -> APIError {
        APIError(.badRequest, code: "invalid_json", message: "request body is not valid JSON: \(reason)",
                 details: [Detail(field: "body", message: reason)])
    }

    static func validation(_ details: [Detail], message: String = "request is invalid") -> APIError {
        APIError(.badRequest, code: "validation_failed", message: message, details: details)
    }

    static func badParameter(_ name: String, _ message: String) -> APIError {
        APIError(.badRequest, code: "invalid_parameter", message: "query parameter \(name) \(message)",
                 details: [Detail(field: name, message: message)])
    }

    static func notFound(_ what: String) -> APIError {
        APIError(.notFound, code: "not_found", message: what)
    }

    static func conflict(_ message: String, details: [Detail] = []) -> APIError {
        APIError(.conflict, code: "conflict", message: message, details: details)
    }

    static let unauthorized = APIError(
        .unauthorized, code: "unauthorized",
        message: "missing or invalid API key (send Authorization: Bearer <key> or x-api-key: <key>)")

    /// The caller's role is below the route's.
    static func forbidden(role: APIKeyRole, needs: APIKeyRole) -> APIError {
        APIError(
            .forbidden, code: "forbidden",
            message: "a key with role \(role.rawValue) may not do this; it needs role \(needs.rawValue) or above")
    }

    static func forbidden(_ code: String, _ message: String) -> APIError {
        APIError(.forbidden, code: code, message: message)
    }

    static func tooManyFailedAuthentications(retryAfter seconds: Int) -> APIError {
        var error = APIError(
            .tooManyRequests, code: "too_many_failed_authentications",
            message: "too many requests with invalid credentials from this address; retry in \(seconds) s")
        error.retryAfterSeconds = seconds
        return error
    }

    static func tooManyWaits(limit: Int) -> APIError {
        var error = APIError(
            .tooManyRequests, code: "too_many_waits",
            message: "this key already has \(limit) requests waiting for jobs; wait for one to finish or poll without ?wait=")
        error.retryAfterSeconds = 1
        return error
    }

    static let unsupportedMediaType = APIError(
        .unsupportedMediaType, code: "unsupported_media_type",
        message: "send Content-Type: application/json (also on requests without a body)")

    static func methodNotAllowed(_ method: String, allowed: [String]) -> APIError {
        var error = APIError(
            .methodNotAllowed, code: "method_not_allowed",
            message: "\(method) is not allowed here; allowed: \(allowed.joined(separator: ", "))")
        error.allow = allowed
        return error
    }

    static let bodyTooLarge = APIError(
        .contentTooLarge, code: "payload_too_large",
        message: "request body is larger than \(RegistryLimits.maximumBodyBytes) bytes")

    static let internalError = APIError(
        .internalServerError, code: "internal_error", message: "internal error; the server log has the details")

    static let databaseUnavailable = APIError(
        .serviceUnavailable, code: "database_unavailable", message: "the database is not reachable")
}

// MARK: - Response

/// The JSON envelope, `{"error": {...}}`.
struct APIErrorBody: Codable, Sendable {
    struct Content: Codable, Sendable {
        var code: String
        var message: String
        var details: [APIError.Detail]
    }
    var error: Content
}

extension APIError: HTTPResponseError {
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        response()
    }

    func response() -> Response {
        let body = APIErrorBody(error: .init(code: code, message: message, details: details))
        let data = (try? JSONCoding.encoder.encode(body)) ?? Data(#"{"error":{"code":"internal_error","message":"error could not be encoded","details":[]}}"#.utf8)
        var response = EncodedJSONResponse(ByteBuffer(bytes: data), status: status).response
        if status == .unauthorized { response.headers[.wwwAuthenticate] = "Bearer" }
        if !allow.isEmpty { response.headers[.allow] = allow.joined(separator: ", ") }
        if let retryAfterSeconds { response.headers[.retryAfter] = String(retryAfterSeconds) }
        return response
    }
}
