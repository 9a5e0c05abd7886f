import CurlHTTP

/// Sends one HTTP request. `CurlHTTPClient` is the production transport; tests can substitute their
/// own to observe what would be sent.
public protocol HTTPTransport: Sendable {
    func send(_ request: CurlHTTPRequest) async throws -> CurlHTTPResponse
}

extension CurlHTTPClient: HTTPTransport {}
