import CurlHTTP
import Foundation

/// Sends one HTTP request. `CurlHTTPClient` is the production transport; tests can substitute their
/// own to observe what would be sent.
public protocol HTTPTransport: Sendable {
    func send(_ request: CurlHTTPRequest) async throws -> CurlHTTPResponse
    /// The response as soon as its headers are in, with the body as it arrives.
    func stream(_ request: CurlHTTPRequest) async throws -> CurlHTTPStreamingResponse
}

extension HTTPTransport {
    /// A transport that cannot stream delivers the whole body as one piece once it has it.
    public func stream(_ request: CurlHTTPRequest) async throws -> CurlHTTPStreamingResponse {
        let response = try await send(request)
        let (body, continuation) = AsyncThrowingStream.makeStream(of: Data.self)
        if !response.body.isEmpty { continuation.yield(response.body) }
        continuation.finish()
        return CurlHTTPStreamingResponse(status: response.status, headers: response.headers, httpVersion: response.httpVersion, body: body)
    }
}

extension CurlHTTPClient: HTTPTransport {}
