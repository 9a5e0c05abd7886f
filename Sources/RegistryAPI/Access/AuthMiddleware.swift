import Foundation
import HTTPTypes
import Hummingbird

/// On the `/api` group (not decided by looking at the path): finds who is calling
/// (`Authenticator`) and puts the `Principal` on the context; what the principal may do is the
/// route's `RouteAccess`, checked when the route runs. Health, readiness, metrics, the OpenAPI
/// document and the UI's files live outside the group and stay open for probes and tooling.
struct APIAuthMiddleware: RouterMiddleware {
    typealias Context = RegistryContext

    let authenticator: Authenticator

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.principal = try await authenticator.principal(for: request, context: context)
        context.identifyCaller()
        return try await next(request, context)
    }
}

extension RegistryContext {
    /// Every later log line of the request says which key (and tenant) it was for. Set as one
    /// dictionary: each single-key set makes swift-log's stream handler re-render all the metadata,
    /// which the profile of `GET /api/models` showed as the largest cost of authentication.
    mutating func identifyCaller() {
        guard let principal else { return }
        var metadata = logger.handler.metadata
        metadata["auth.credential"] = .string(principal.credential.rawValue)
        metadata["tenant.id"] = .string(principal.tenantLogValue)
        if let key = principal.keyLogValue { metadata["auth.key_id"] = .string(key) }
        logger.handler.metadata = metadata
    }
}

extension Authenticator {
    /// The request's principal, or the `/api` error for why there is none (the `/v1` middleware
    /// turns it into the caller's format).
    func principal(for request: Request, context: RegistryContext) async throws -> Principal {
        let presented = Self.presentedCredential(
            authorization: request.headers[.authorization], apiKey: request.headers[FacadeHeaders.apiKey])
        switch try await authenticate(presented, client: context.clientAddress) {
        case .authenticated(let principal):
            return principal
        case .missing:
            context.logger.notice("registry.auth.rejected", metadata: ["http.path": "\(request.uri.path)", "auth.reason": "no credential"])
            throw APIError.unauthorized
        case .rejected(let reason):
            context.logger.notice("registry.auth.rejected", metadata: [
                "http.path": "\(request.uri.path)", "auth.reason": "\(reason)", "client.address": "\(context.clientAddress ?? "")",
            ])
            throw APIError.unauthorized
        case .throttled(let seconds):
            throw APIError.tooManyFailedAuthentications(retryAfter: seconds)
        }
    }
}

/// On the `/api` group: a request that can carry a body (POST, PUT, PATCH) must say
/// `Content-Type: application/json`, even when it sends none (`POST …/retire`). A browser can send
/// a cross-site form post or a body-less POST without asking first (no CORS preflight); with a
/// JSON content type it cannot, so such requests get 415 before any handler runs.
struct JSONContentTypeMiddleware: RouterMiddleware {
    typealias Context = RegistryContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.method == .post || request.method == .put || request.method == .patch,
            !Self.isJSON(request.headers[.contentType])
        {
            throw APIError.unsupportedMediaType
        }
        return try await next(request, context)
    }

    /// `application/json`, any case, with or without parameters (`; charset=utf-8`).
    static func isJSON(_ header: String?) -> Bool {
        guard let header else { return false }
        let mediaType = header.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        return mediaType == "application/json"
    }
}

/// Outermost: gives every request the server's own id (in the logs, the audit trail and the
/// `X-Switchboard-Request-Id` header) and keeps the client's `X-Request-Id`, when it is short and
/// plain, beside it (echoed as `X-Request-Id`; recorded as `client_request_id`), since a client
/// may send any id it likes.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = RegistryContext

    static let header = HTTPField.Name("X-Request-Id")!
    static let serverHeader = HTTPField.Name("X-Switchboard-Request-Id")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.requestID = context.id
        context.clientRequestID = Self.clientID(request.headers[Self.header])
        var metadata = context.logger.handler.metadata
        metadata["request.id"] = .string(context.requestID)
        if let client = context.clientRequestID { metadata["request.client_id"] = .string(client) }
        context.logger.handler.metadata = metadata
        var response = try await next(request, context)
        response.headers[Self.header] = context.clientRequestID ?? context.requestID
        response.headers[Self.serverHeader] = context.requestID
        return response
    }

    static func clientID(_ value: String?) -> String? {
        guard let value, (1...128).contains(value.utf8.count),
            value.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.:".unicodeScalars.contains($0)) })
        else { return nil }
        return value
    }
}
