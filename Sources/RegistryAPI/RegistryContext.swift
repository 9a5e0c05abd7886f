import Hummingbird
import Logging

/// Per-request context: Hummingbird's core storage plus the body limit every route shares, who is
/// calling (set by the `/api` group's auth middleware) and the request id (audit rows, logs).
public struct RegistryContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// What the caller authenticated with; `.unauthenticated` until the auth middleware says otherwise.
    public var access: AccessKind = .unauthenticated
    /// The client's `X-Request-Id` when it sent a sane one, else Hummingbird's own id.
    public var requestID: String = ""

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }

    public var maxUploadSize: Int { RegistryLimits.maximumBodyBytes }
}

/// The kind of credential a request carried. Recorded in `config_changes.token_kind`.
public enum AccessKind: String, Sendable {
    /// `SWITCHBOARD_API_TOKEN`: may read and write.
    case writeToken = "write_token"
    /// `SWITCHBOARD_READ_TOKEN`: may only read (GET/HEAD).
    case readToken = "read_token"
    /// No token configured (the server then listens on loopback unless told otherwise).
    case unauthenticated
}
