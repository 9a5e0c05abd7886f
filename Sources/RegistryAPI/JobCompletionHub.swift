import Foundation
import Logging
import Postgres
import ServiceLifecycle
import Storage
import Support
import Synchronization

/// Long-polling for job completion (`GET /api/jobs/{id}?wait=`) through ONE `LISTEN llm_jobs_done`
/// connection per registry process, fanned out to the requests waiting in memory. A waiting
/// request holds no database connection: it registers a row in `llm_job_waiters` (so the
/// worker's completion sends the notification at all), re-reads the job, and sleeps on an
/// in-memory signal until the notification names its job, the listener (re)connects or resyncs
/// (everyone re-reads: notifications may have been lost), or its deadline passes.
///
/// The listener starts with the first long-poll, so a registry nobody long-polls opens no extra
/// connection. `shutdown()` (run by the application's service group on SIGTERM) stops it and
/// answers every waiter with the job's current state.
public final class JobCompletionHub: Sendable {
    static let channel = "llm_jobs_done"

    private let pool: PostgresPool
    private let jobs: JobRepository
    private let logger: Logger
    /// Prefix of this process's `llm_job_waiters.waiter` values; each request appends `#n`.
    let waiterPrefix: String
    private let state = Mutex(State())

    private struct State {
        var started = false
        var stopped = false
        /// LISTEN is in place (set on the listener's `listening` event).
        var listening = false
        var listener: PostgresListener?
        var nextToken: UInt64 = 0
        /// Waiting requests by job id, each with its own signal.
        var waiters: [Int64: [UInt64: WakeSignal]] = [:]
    }

    public init(pool: PostgresPool, logger: Logger) {
        self.pool = pool
        jobs = JobRepository(pool: pool)
        self.logger = logger
        waiterPrefix = "model-registry/\(ProcessInfo.processInfo.processIdentifier)/\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// Requests currently waiting (for tests and metrics).
    var waitingCount: Int { state.withLock { $0.waiters.values.reduce(0) { $0 + $1.count } } }

    // MARK: - Waiting

    /// The job once it is terminal, or its current state when `timeout` passes first, the hub
    /// stops, or the server starts shutting down gracefully (a SIGTERM must not wait out every
    /// long-poll); nil when it does not exist.
    func waitForCompletion(of id: Int64, timeout: Duration) async throws -> JobRecord? {
        let deadline = ContinuousClock.now + timeout
        startIfNeeded()
        let (token, signal) = register(id)
        defer { unregister(id, token) }
        return try await withGracefulShutdownHandler {
            try await wait(for: id, token: token, signal: signal, until: deadline)
        } onGracefulShutdown: {
            signal.signal()
        }
    }

    private func shouldKeepWaiting(_ deadline: ContinuousClock.Instant) -> Bool {
        !isStopped && ContinuousClock.now < deadline && !Task.isCancelled && !Task.isShuttingDownGracefully
    }

    private func wait(for id: Int64, token: UInt64, signal: WakeSignal, until deadline: ContinuousClock.Instant) async throws -> JobRecord? {
        // LISTEN must be in place before the re-read below, or a completion in between is lost.
        while !isListening, shouldKeepWaiting(deadline) {
            await signal.wait(until: deadline)
        }
        guard isListening, shouldKeepWaiting(deadline) else { return try await jobs.find(id) }

        let waiter = "\(waiterPrefix)#\(token)"
        try await pool.execute("""
            INSERT INTO llm_job_waiters (job_id, waiter) VALUES (\(id), \(waiter)) ON CONFLICT DO NOTHING
            """)
        do {
            // FOR SHARE waits for a completion that is being committed right now: its transaction
            // may have checked llm_job_waiters before our row was visible and so sent nothing.
            var job = try await jobs.findAfterWriters(id)
            while let current = job, !current.isTerminal, shouldKeepWaiting(deadline) {
                await signal.wait(until: deadline)
                job = try await jobs.find(id)
            }
            try await removeWaiterRow(id, waiter)
            return job
        } catch {
            try? await removeWaiterRow(id, waiter)
            throw error
        }
    }

    private func removeWaiterRow(_ id: Int64, _ waiter: String) async throws {
        try await pool.execute("DELETE FROM llm_job_waiters WHERE job_id = \(id) AND waiter = \(waiter)")
    }

    private var isListening: Bool { state.withLock { $0.listening } }
    private var isStopped: Bool { state.withLock { $0.stopped } }

    private func register(_ id: Int64) -> (UInt64, WakeSignal) {
        let signal = WakeSignal()
        let token = state.withLock { state in
            state.nextToken += 1
            state.waiters[id, default: [:]][state.nextToken] = signal
            return state.nextToken
        }
        return (token, signal)
    }

    private func unregister(_ id: Int64, _ token: UInt64) {
        state.withLock { state in
            state.waiters[id]?[token] = nil
            if state.waiters[id]?.isEmpty == true { state.waiters[id] = nil }
        }
    }

    // MARK: - The listener

    private func startIfNeeded() {
        let listener: PostgresListener? = state.withLock { state in
            guard !state.started, !state.stopped else { return nil }
            state.started = true
            let listener = PostgresListener(configuration: pool.configuration, channels: [Self.channel], logger: logger)
            state.listener = listener
            return listener
        }
        guard let listener else { return }
        let events = listener.events()
        Task { [self] in
            for await event in events { handle(event) }
            state.withLock { $0.listening = false }
        }
        // Rows of waiters that died with an earlier process only cost a needless NOTIFY; clear
        // the old ones. Twice the longest wait (/v1 waits 540 s), so a live wait of another
        // registry instance is never cleared.
        Task { [pool, logger] in
            do {
                let age = Self.staleWaiterSeconds
                try await pool.execute("DELETE FROM llm_job_waiters WHERE since < now() - make_interval(secs => \(age))")
            } catch {
                logger.debug("registry.jobs.waiters_cleanup_failed", metadata: ["error.message": "\(error)"])
            }
        }
    }

    /// Waiter rows older than this belong to processes that died mid-wait.
    static let staleWaiterSeconds = 2 * max(JobRoutes.maximumWaitSeconds, FacadeRoutes.maximumWaitSeconds)

    private func handle(_ event: PostgresListener.Event) {
        let signals: [WakeSignal]
        if case .notification(let notification) = event {
            // Payload: comma-separated job ids.
            let ids = notification.payload.split(separator: ",").compactMap { Int64($0.trimmingCharacters(in: .whitespaces)) }
            signals = state.withLock { state in ids.flatMap { state.waiters[$0].map { Array($0.values) } ?? [] } }
        } else {
            // (Re)connected, or any other listener event (resync, overflow): notifications may
            // have been lost, so every waiter re-reads its job.
            signals = state.withLock { state in
                if case .listening = event { state.listening = true }
                return state.waiters.values.flatMap(\.values)
            }
            logger.debug("registry.jobs.listener_event", metadata: ["event": "\(event)", "jobs.waiters": "\(signals.count)"])
        }
        for signal in signals { signal.signal() }
    }

    /// Stops the listener and wakes every waiter (they answer with the job's current state).
    public func shutdown() {
        let (listener, signals) = state.withLock { state in
            state.stopped = true
            state.listening = false
            return (state.listener, state.waiters.values.flatMap(\.values))
        }
        listener?.stop()
        for signal in signals { signal.signal() }
    }
}

/// Runs the hub for the application's lifetime: on graceful shutdown it stops the listener.
struct JobCompletionHubService: Service {
    let hub: JobCompletionHub

    func run() async throws {
        try? await gracefulShutdown()
        hub.shutdown()
    }
}
