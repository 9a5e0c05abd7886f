/// Process-wide behaviour of the stub; per-request behaviour comes from the model name
/// (see `StubBehavior`).
public struct ProviderStubConfiguration: Sendable, Equatable {
    /// Interface to listen on; loopback by default because the stub has no real auth.
    public var host: String
    /// `0` picks a free port (read it back from `ProviderStubServer.start()`).
    public var port: Int
    /// Added to every request before it is answered.
    public var latency: Duration
    /// Percentage (0–100) of requests answered with `errorStatus`, chosen by the seeded generator.
    public var errorRatePercent: Double
    /// Status of the errors `errorRatePercent` injects.
    public var errorStatus: Int
    /// Seed of the generator behind error rates, so a run can be repeated exactly.
    public var seed: UInt64
    /// How long `stub-hang` requests wait before giving up with a 504.
    public var hangDuration: Duration
    /// When set, requests must carry this key (Bearer or `x-api-key`) or get the provider's 401.
    public var expectedAPIKey: String?
    /// Streamed replies: the wait between two tokens (model directives add to it).
    public var tokenDelay: Duration
    /// Pending-connection queue; large so bursts of thousands of connections are not refused.
    public var backlog: Int

    public init(
        host: String = "127.0.0.1",
        port: Int = 0,
        latency: Duration = .zero,
        errorRatePercent: Double = 0,
        errorStatus: Int = 500,
        seed: UInt64 = 42,
        hangDuration: Duration = .seconds(600),
        expectedAPIKey: String? = nil,
        backlog: Int = 4096,
        tokenDelay: Duration = .zero
    ) {
        self.tokenDelay = tokenDelay
        self.host = host
        self.port = port
        self.latency = latency
        self.errorRatePercent = errorRatePercent
        self.errorStatus = errorStatus
        self.seed = seed
        self.hangDuration = hangDuration
        self.expectedAPIKey = expectedAPIKey
        self.backlog = backlog
    }
}
