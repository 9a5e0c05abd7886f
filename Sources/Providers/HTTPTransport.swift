import CurlHTTP

/// Sends one HTTP request. `HTTPClient` is the production transport; tests can substitute their
/// own to observe what would be sent.
public protocol HTTPTransport: Sendable {
    func send(_ request: HTTPRequest) async throws -> HTTPResponse
}

extension HTTPClient: HTTPTransport {}
