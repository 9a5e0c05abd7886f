import Foundation

/// How the registry checks credentials, beyond which ones exist (`APITokens`).
public struct AccessConfiguration: Sendable {
    /// A key's lookup is reused for this long: the most a revocation takes to reach every registry.
    public var keyCacheMaxAge: Duration
    /// Failed authentications one address may make per minute before it gets 429
    /// (`SWITCHBOARD_AUTH_FAILURES_PER_MINUTE`; 0: no limit).
    public var failedAuthenticationsPerMinute: Int
    /// Requests one credential may have waiting on jobs at once (`?wait=` long-polls and `/v1`
    /// calls; `SWITCHBOARD_MAX_WAITS_PER_KEY`).
    public var maximumWaitsPerCredential: Int
    /// The monotonic clock of the key cache and the throttle (tests move it).
    public var monotonicNow: @Sendable () -> ContinuousClock.Instant

    public init(
        keyCacheMaxAge: Duration = .seconds(1), failedAuthenticationsPerMinute: Int = 30, maximumWaitsPerCredential: Int = 256,
        monotonicNow: @escaping @Sendable () -> ContinuousClock.Instant = { .now }
    ) {
        self.keyCacheMaxAge = keyCacheMaxAge
        self.failedAuthenticationsPerMinute = failedAuthenticationsPerMinute
        self.maximumWaitsPerCredential = maximumWaitsPerCredential
        self.monotonicNow = monotonicNow
    }
}
