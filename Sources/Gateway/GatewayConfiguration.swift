import Catalog
import Foundation
import Support

/// Everything one `llm-gateway run` process is told, with the documented defaults.
public struct GatewayConfiguration: Sendable {
    /// Names this worker in leases, usage rows and the idle registry. Default `<host>-<pid>`.
    public var workerID: String
    /// Most jobs running (provider calls in flight) at once.
    public var concurrency: Int
    /// Most jobs claimed by one statement. A completion transaction writes the outcomes gathered
    /// meanwhile, up to four batches when they pile up (fewer, larger transactions under load).
    public var batchSize: Int
    /// How long a claim holds a job without a heartbeat; the heartbeat runs every lease/3.
    public var leaseDuration: Duration
    /// Claim poll when idle (NOTIFY usually wakes the worker first).
    public var pollInterval: Duration
    /// After SIGTERM: how long in-flight calls may run before they are cancelled and released.
    public var gracePeriod: Duration
    /// After the grace period: how long the last outcomes may take to be written (the database may
    /// be down). Then they are abandoned and the worker exits with an error: their calls stay open
    /// in the attempt ledger, where the rescuer settles them as `unknown` (F6: shutdown ends).
    public var shutdownWriteTimeout: Duration
    /// The completer waits this long for more outcomes before writing a partial batch.
    public var completionDelay: Duration
    /// Retries of the same model after a transient error (model_config has no such field).
    public var maxRetriesPerModel: Int
    /// First retry delay; doubled per retry, with full jitter.
    public var retryBaseDelay: Duration
    /// Longest wait for a Retry-After; a longer one moves on to the next model.
    public var retryAfterCap: Duration
    /// Whole-call timeout (the provider's request timeout when that is shorter).
    public var callTimeout: Duration
    /// Base delay before a requeued job (every model failed transiently) may run again; doubled per
    /// job attempt, with jitter, capped at 5 minutes.
    public var requeueBaseDelay: Duration
    /// Consecutive transient failures of one model (across jobs) within `cooldownWindow` that cool
    /// it down for every worker for `cooldownDuration`.
    public var cooldownThreshold: Int
    public var cooldownWindow: Duration
    public var cooldownDuration: Duration
    /// How often any worker looks for expired leases.
    public var rescueInterval: Duration
    /// Environment the provider key variables are read from.
    public var environment: [String: String]
    /// Hosts a provider key may reach over plain http besides loopback
    /// (`SWITCHBOARD_ALLOWED_HTTP_HOSTS`, the registry's rule, checked again before every call).
    public var allowedHTTPHosts: Set<String>
    /// Streaming jobs (`/v1` with `stream: true`): the longest wait for a call's first content
    /// delta before the next model is tried (nothing has reached the client yet).
    public var streamFirstTokenTimeout: Duration = .seconds(30)
    /// Streaming jobs: the longest gap between two deltas once the first reached the client; past
    /// it the job fails `stream_interrupted` (no silent failover after the first token).
    public var streamStallTimeout: Duration = .seconds(20)

    public init(
        workerID: String = GatewayConfiguration.defaultWorkerID(),
        concurrency: Int = 256,
        batchSize: Int = 64,
        leaseDuration: Duration = .seconds(60),
        pollInterval: Duration = .seconds(1),
        gracePeriod: Duration = .seconds(30),
        shutdownWriteTimeout: Duration = .seconds(30),
        completionDelay: Duration = .milliseconds(2),
        maxRetriesPerModel: Int = 2,
        retryBaseDelay: Duration = .milliseconds(250),
        retryAfterCap: Duration = .seconds(30),
        callTimeout: Duration = .seconds(60),
        requeueBaseDelay: Duration = .seconds(2),
        cooldownThreshold: Int = 3,
        cooldownWindow: Duration = .seconds(30),
        cooldownDuration: Duration = .seconds(60),
        rescueInterval: Duration? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.workerID = workerID
        self.concurrency = max(1, concurrency)
        self.batchSize = max(1, batchSize)
        self.leaseDuration = leaseDuration
        self.pollInterval = pollInterval
        self.gracePeriod = gracePeriod
        self.shutdownWriteTimeout = shutdownWriteTimeout
        self.completionDelay = completionDelay
        self.maxRetriesPerModel = max(0, maxRetriesPerModel)
        self.retryBaseDelay = retryBaseDelay
        self.retryAfterCap = retryAfterCap
        self.callTimeout = callTimeout
        self.requeueBaseDelay = requeueBaseDelay
        self.cooldownThreshold = max(1, cooldownThreshold)
        self.cooldownWindow = cooldownWindow
        self.cooldownDuration = cooldownDuration
        self.rescueInterval = rescueInterval ?? max(.milliseconds(500), leaseDuration / 3)
        self.environment = environment
        self.allowedHTTPHosts = Provider.allowedHTTPHosts(environment: environment)
    }

    /// The shortest lease `llm-gateway run` accepts (tests may go lower): a connection that
    /// stalls silently blocks one statement, the heartbeat's too, for up to the connection's
    /// `tcp_user_timeout` (30 s, Postgres/BlockingConnection), and a lease shorter than that lapses
    /// while its call is alive: the job runs twice (issue 22, F2).
    public static let leaseFloor: Duration = .seconds(30)

    public static func defaultWorkerID() -> String {
        "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"
    }

    /// The heartbeat period: a third of the lease, so two missed beats still leave time.
    var heartbeatInterval: Duration { max(.milliseconds(200), leaseDuration / 3) }
}
