import Catalog
import Foundation
import HTTPTypes
import Hummingbird

/// Open mode only (no credential configured): answers a request only when its Host is a loopback
/// name (`localhost`, `127.0.0.1`, `[::1]`, with any port) and its Origin, if sent, is one too. A
/// web page that rebinds its own domain to 127.0.0.1 (DNS rebinding) sends its own name as Host,
/// so it is refused before any route runs.
struct LoopbackHostMiddleware: RouterMiddleware {
    typealias Context = RegistryContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let host = request.head.authority
        guard Self.isLoopback(authority: host) else {
            context.logger.notice("registry.host_refused", metadata: ["http.host": "\(host ?? "")"])
            throw Self.refusal("Host")
        }
        if let origin = request.headers[.origin], origin != "null" {
            let authority = origin.split(separator: "/", omittingEmptySubsequences: true).dropFirst().first.map(String.init)
            guard Self.isLoopback(authority: authority) else { throw Self.refusal("Origin") }
        }
        return try await next(request, context)
    }

    static func refusal(_ header: String) -> APIError {
        APIError(
            .misdirectedRequest, code: "host_not_allowed",
            message: "without SWITCHBOARD_ADMIN_TOKEN the registry answers only requests whose \(header) is localhost, 127.0.0.1 or [::1]")
    }

    /// `host[:port]` or `[v6]:port` whose host is a loopback name.
    static func isLoopback(authority: String?) -> Bool {
        guard let authority, !authority.isEmpty else { return false }
        let host: Substring
        if authority.hasPrefix("[") {
            guard let end = authority.firstIndex(of: "]") else { return false }
            host = authority[authority.index(after: authority.startIndex)..<end]
        } else {
            host = authority.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        }
        return Provider.isLoopbackHost(host.lowercased())
    }
}
