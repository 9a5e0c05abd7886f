import Hummingbird
import Logging

/// Per-request context: Hummingbird's core storage plus the body limit every route shares.
public struct RegistryContext: RequestContext {
    public var coreContext: CoreRequestContextStorage

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }

    public var maxUploadSize: Int { RegistryLimits.maximumBodyBytes }
}
