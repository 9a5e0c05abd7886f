import Foundation
import HTTPTypes
import Hummingbird

/// The tokens the server accepts. With none configured the API is open (and the server binds to
/// loopback unless the operator explicitly opts out; see `ListenPolicy`).
public struct APITokens: Sendable {
    /// `SWITCHBOARD_API_TOKEN`: read and write.
    public var write: String?
    /// `SWITCHBOARD_READ_TOKEN`: GET/HEAD only.
    public var read: String?

    public init(write: String?, read: String? = nil) {
        self.write = write.flatMap { $0.isEmpty ? nil : $0 }
        self.read = read.flatMap { $0.isEmpty ? nil : $0 }
    }

    public var isEnabled: Bool { write != nil || read != nil }

    /// nil: the header carries no token we accept.
    func access(forAuthorization header: String?) -> AccessKind? {
        guard isEnabled else { return .unauthenticated }
        guard let header, header.count > 7, header.prefix(7).lowercased() == "bearer " else { return nil }
        let presented = Array(header.utf8.dropFirst(7))
        // Both compared every time, so timing does not say which one nearly matched.
        let isWrite = write.map { BearerAuthMiddleware.constantTimeEquals(presented, Array($0.utf8)) } ?? false
        let isRead = read.map { BearerAuthMiddleware.constantTimeEquals(presented, Array($0.utf8)) } ?? false
        if isWrite { return .writeToken }
        if isRead { return .readToken }
        return nil
    }
}

/// Attached to the `/api` route group (not decided by looking at the path): every request routed
/// there must carry `Authorization: Bearer <token>` when tokens are configured. The read token may
/// only GET/HEAD (403 otherwise). Health, readiness, metrics and the OpenAPI document live outside
/// the group and stay open for probes and tooling.
struct BearerAuthMiddleware: RouterMiddleware {
    typealias Context = RegistryContext

    let tokens: APITokens

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let access = tokens.access(forAuthorization: request.headers[.authorization]) else {
            context.logger.notice("registry.auth.rejected", metadata: ["http.path": "\(request.uri.path)"])
            throw APIError.unauthorized
        }
        if access == .readToken, !Self.isReadOnly(request.method) {
            context.logger.notice("registry.auth.read_only", metadata: [
                "http.method": "\(request.method.rawValue)", "http.path": "\(request.uri.path)",
            ])
            throw APIError.forbiddenReadOnly
        }
        var context = context
        context.access = access
        return try await next(request, context)
    }

    static func isReadOnly(_ method: HTTPRequest.Method) -> Bool {
        method == .get || method == .head
    }

    /// Compares every byte whatever the first difference, so response time does not reveal how
    /// much of a guessed token was right. Only the length can leak, which a token of fixed length
    /// makes moot.
    static func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: lhs.count ^ rhs.count)
        let count = max(lhs.count, rhs.count)
        for index in 0..<count {
            let a = index < lhs.count ? lhs[index] : 0
            let b = index < rhs.count ? rhs[index] : 0
            difference |= a ^ b
        }
        return difference == 0 && lhs.count == rhs.count
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

/// Outermost: gives every request an id (the client's `X-Request-Id` when it is short and plain,
/// else Hummingbird's), logs with it and echoes it in the response, errors included.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = RegistryContext

    static let header = HTTPField.Name("X-Request-Id")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.requestID = Self.clientID(request.headers[Self.header]) ?? context.id
        context.logger[metadataKey: "request.id"] = "\(context.requestID)"
        var response = try await next(request, context)
        response.headers[Self.header] = context.requestID
        return response
    }

    static func clientID(_ value: String?) -> String? {
        guard let value, (1...128).contains(value.utf8.count),
            value.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.:".unicodeScalars.contains($0)) })
        else { return nil }
        return value
    }
}
