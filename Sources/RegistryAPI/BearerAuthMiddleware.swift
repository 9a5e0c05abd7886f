import Foundation
import Hummingbird

/// When a token is configured, every `/api` request must carry `Authorization: Bearer <token>`.
/// Health, readiness, metrics and the OpenAPI document stay open for probes and tooling.
struct BearerAuthMiddleware: RouterMiddleware {
    typealias Context = RegistryContext

    /// nil: authentication is off (the server warned about it at start).
    let token: String?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token, Self.isProtected(request.uri.path) else { return try await next(request, context) }
        guard let header = request.headers[.authorization],
            header.count > 7, header.prefix(7).lowercased() == "bearer ",
            Self.constantTimeEquals(Array(header.utf8.dropFirst(7)), Array(token.utf8))
        else {
            context.logger.notice("registry.auth.rejected", metadata: ["http.path": "\(request.uri.path)"])
            throw APIError.unauthorized
        }
        return try await next(request, context)
    }

    /// Decided on path segments as the router sees them: it skips empty segments, so `//api/x`
    /// and `/api//x` reach `/api` routes and must be protected too (as must `/%61pi/x`).
    static func isProtected(_ path: String) -> Bool {
        let firstSegment = path.split(separator: "/", omittingEmptySubsequences: true).first.map(String.init) ?? ""
        let decoded = firstSegment.removingPercentEncoding ?? firstSegment
        return decoded.lowercased() == "api"
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
