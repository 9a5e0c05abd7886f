import Foundation

/// Counters and the seeded generator, shared by all requests. A lock (not an actor) so the
/// in-flight count can be decremented from `defer`, whatever way a handler exits.
final class StubState: @unchecked Sendable {
    private let lock = NSLock()
    private var generator: SplitMix64
    private var sequence: UInt64 = 0
    private var stats = ProviderStubStats()
    private var gatherings: [String: Gathering] = [:]
    private var nextWaiterID = 0
    /// Anthropic prompt-cache entries (model and prefix) written so far.
    private var promptCacheEntries: Set<String> = []

    /// Requests of one `stub-gather-N` model waiting for each other.
    private struct Gathering {
        var arrived = 0
        /// Once N have arrived the gathering stays open: later requests pass straight through.
        var isOpen = false
        var waiters: [Int: CheckedContinuation<Bool, Never>] = [:]
    }

    init(seed: UInt64) {
        generator = SplitMix64(seed: seed)
    }

    /// What an Anthropic request reads from and writes to the prompt cache: with `cache_control`
    /// markers, the prefix up to the last one is written by the first request that sends it and
    /// read by every later one (per model; entries never expire in the stub); without markers,
    /// the `cache` directive's half of the prompt read.
    func promptCache(model: String, conversation: StubConversation, behavior: StubBehavior) -> StubPromptCacheUse {
        let input = conversation.inputTokens
        guard let prefix = conversation.cachePrefix else { return StubPromptCacheUse(read: behavior.reportCache ? input / 2 : 0, written: 0) }
        let tokens = min(estimatedTokens(prefix), input)
        let seen = locked { !promptCacheEntries.insert(model + "\u{0}" + prefix).inserted }
        return seen ? StubPromptCacheUse(read: tokens, written: 0) : StubPromptCacheUse(read: 0, written: tokens)
    }

    private func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    /// Marks a request as started and returns its sequence number (used in ids).
    func begin(endpoint: String) -> UInt64 {
        locked {
            sequence += 1
            stats.totalRequests += 1
            stats.endpoints[endpoint, default: 0] += 1
            stats.inFlight += 1
            stats.peakInFlight = max(stats.peakInFlight, stats.inFlight)
            return sequence
        }
    }

    func end() {
        locked { stats.inFlight -= 1 }
    }

    /// A streamed body began (its request has already ended in `end()`: the handler returned).
    func streamStarted() {
        locked {
            stats.streamsStarted += 1
            stats.streamsInFlight += 1
        }
    }

    /// A streamed body ended: completed, faulted, or its client went away.
    func streamEnded() {
        locked { stats.streamsInFlight -= 1 }
    }

    func record(model: String, outcome: String) {
        locked { stats.models[model, default: [:]][outcome, default: 0] += 1 }
    }

    /// Per model: the current quota window's start (epoch seconds × 1000) and requests in it.
    private var quotaWindows: [String: (start: Int64, count: Int)] = [:]

    /// Counts a request of `model` in its fixed window (aligned on the epoch); nil when it fits,
    /// else the seconds until the window ends (for Retry-After, at least 1).
    func overQuota(model: String, limit: Int, window: Duration) -> Int? {
        let length = max(1, window.components.seconds * 1000 + window.components.attoseconds / 1_000_000_000_000_000)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let start = now / length * length
        return locked {
            var current = quotaWindows[model] ?? (start, 0)
            if current.start != start { current = (start, 0) }
            guard current.count < limit else { return max(1, Int((start + length - now + 999) / 1000)) }
            current.count += 1
            quotaWindows[model] = current
            return nil
        }
    }

    /// True with probability `percent`/100, from the seeded sequence.
    func chance(percent: Double) -> Bool {
        guard percent > 0 else { return false }
        guard percent < 100 else { return true }
        return locked { Double(generator.next() % 10_000) < percent * 100 }
    }

    func snapshot() -> ProviderStubStats {
        locked { stats }
    }

    func reset() {
        let abandoned = locked {
            let inFlight = stats.inFlight
            let streams = stats.streamsInFlight
            stats = ProviderStubStats()
            stats.inFlight = inFlight
            stats.peakInFlight = inFlight
            stats.streamsInFlight = streams
            let waiters = gatherings.values.flatMap(\.waiters.values)
            gatherings = [:]
            return waiters
        }
        for waiter in abandoned { waiter.resume(returning: false) }
    }

    /// Waits until `count` requests have arrived at the gathering `name`: true once they have,
    /// false if the waiting task is cancelled first.
    func gather(_ name: String, count: Int) async -> Bool {
        let id = locked {
            nextWaiterID += 1
            return nextWaiterID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let (released, cancelled): ([CheckedContinuation<Bool, Never>], Bool) = locked {
                    if Task.isCancelled { return ([continuation], true) }
                    var gathering = gatherings[name, default: Gathering()]
                    if gathering.isOpen { return ([continuation], false) }
                    gathering.arrived += 1
                    gathering.waiters[id] = continuation
                    if gathering.arrived >= count {
                        gathering.isOpen = true
                        let all = Array(gathering.waiters.values)
                        gathering.waiters = [:]
                        gatherings[name] = gathering
                        return (all, false)
                    }
                    gatherings[name] = gathering
                    return ([], false)
                }
                for waiter in released { waiter.resume(returning: !cancelled) }
            }
        } onCancel: {
            let waiter = locked { gatherings[name]?.waiters.removeValue(forKey: id) }
            waiter?.resume(returning: false)
        }
    }
}

/// What `GET /stats` reports.
public struct ProviderStubStats: Sendable, Codable, Equatable {
    /// Requests received on the API endpoints (not `/stats` or `/v1/models`).
    public var totalRequests = 0
    public var inFlight = 0
    /// The most requests in flight at once since start or the last reset.
    public var peakInFlight = 0
    /// Requests per model name, then per outcome (`ok`, `error_429`, `hang`, `malformed`,
    /// `invalid_request`, `auth_error`).
    public var models: [String: [String: Int]] = [:]
    /// Requests per endpoint path.
    public var endpoints: [String: Int] = [:]
    /// Streamed bodies being written now (a client that hangs up ends its stream at the next write).
    public var streamsInFlight = 0
    /// Streamed bodies begun since start or the last reset.
    public var streamsStarted = 0

    public init() {}

    /// Requests for `model`, all outcomes.
    public func requests(model: String) -> Int {
        models[model]?.values.reduce(0, +) ?? 0
    }

    /// Requests for `model` that ended in `outcome`.
    public func requests(model: String, outcome: String) -> Int {
        models[model]?[outcome] ?? 0
    }

    enum CodingKeys: String, CodingKey {
        case models, endpoints
        case totalRequests = "total_requests"
        case inFlight = "in_flight"
        case peakInFlight = "peak_in_flight"
        case streamsInFlight = "streams_in_flight"
        case streamsStarted = "streams_started"
    }
}

/// A small, fast, seedable generator (Steele, Lea & Flood's SplitMix64).
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Prompt-cache tokens of one Anthropic reply.
struct StubPromptCacheUse: Equatable {
    var read: Int
    var written: Int
}
