import Hummingbird
import Logging
import NIOCore

/// Per-request context: Hummingbird's core storage plus the body limit every route shares, who is
/// calling (set by the `/api` and `/v1` auth middleware) and the request ids (audit rows, logs).
public struct RegistryContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Who is calling; nil until an auth middleware ran (routes outside `/api` and `/v1`).
    public var principal: Principal?
    /// The server's own id for this request.
    public var requestID: String = ""
    /// The client's `X-Request-Id` when it sent a sane one.
    public var clientRequestID: String?
    /// The peer's IP address (failed-authentication throttling); nil in in-process tests.
    public var clientAddress: String?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        clientAddress = source.channel.remoteAddress?.ipAddress
    }

    public var maxUploadSize: Int { RegistryLimits.maximumBodyBytes }
}
