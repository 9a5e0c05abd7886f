import CurlHTTP
import Foundation
import Logging
import Postgres
import Providers
import Support
import Synchronization

/// One gateway worker: claimer, runners, completer, heartbeat, rescuer, config cache and the
/// LISTEN consumer, sharing one small pool. `run()` returns after `shutdown()` once every job it
/// held is completed or released.
public final class Worker: Sendable {
    public let configuration: GatewayConfiguration
    private let pool: PostgresPool
    private let listenerConfiguration: PostgresConfiguration
    private let http: CurlHTTPClient
    private let logger: Logger
    private let store: GatewayStore
    private let cache: ConfigCache
    private let completer: Completer
    private let ledger: CallLedger
    private let cooldownTracker: CooldownTracker
    private let metrics = GatewayMetrics()
    private let claimWake = WakeSignal()
    private let slotsWake = WakeSignal()
    /// Runners' handles by (job, attempt).
    private let held = HeldJobs()
    /// Runners that have not submitted their outcome yet (the completer batches only while some run).
    private let running = SharedCount()
    /// Attempts claimed and not yet completed (held by a runner or waiting for the completer): the
    /// ones the heartbeat extends.
    private let leased = LeasedJobs()
    private let stopping = Atomic<Bool>(false)
    private let ready = Atomic<Bool>(false)
    private let configLoaded = Atomic<Bool>(false)
    private let configWake = WakeSignal()

    /// Connections the worker's pool opens (plus one for the listener).
    public static let poolConnections = 4

    public init(configuration: GatewayConfiguration, database: PostgresConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        self.listenerConfiguration = database
        pool = PostgresPool(configuration: database, maxConnections: Self.poolConnections, logger: logger)
        http = try CurlHTTPClient()
        store = GatewayStore(pool: pool, workerID: configuration.workerID)
        cache = ConfigCache(pool: pool, logger: logger)
        ledger = CallLedger(store: store)
        let leased = self.leased
        let slotsWake = self.slotsWake
        let running = self.running
        completer = Completer(
            store: store, batchSize: configuration.batchSize, delay: configuration.completionDelay, metrics: metrics, logger: logger,
            runningJobs: { running.value },
            onWritten: { keys in
                leased.remove(keys)
                slotsWake.signal()
            })
        cooldownTracker = CooldownTracker(threshold: configuration.cooldownThreshold, window: configuration.cooldownWindow)
    }

    /// True once the worker has loaded its configuration and is claiming.
    public var isReady: Bool { ready.load(ordering: .relaxed) && !stopping.load(ordering: .relaxed) }

    /// The cached configuration as the runners see it now.
    var configSnapshot: ConfigSnapshot { cache.snapshot }

    /// Jobs currently held by runners.
    public var inFlight: Int { held.count }

    /// Stop claiming; in-flight calls get the grace period, then are cancelled and released.
    public func shutdown() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        claimWake.signal()
        slotsWake.signal()
    }

    /// Answers `/readyz`: the database must answer too.
    public func checkDatabase() async -> Bool {
        (try? await pool.query("SELECT 1")) != nil
    }

    public func run() async throws {
        defer {
            http.shutdown()
            pool.shutdown()
        }
        try await startupChecks()
        var abandoned = 0
        let listener = PostgresListener(
            configuration: listenerConfiguration, channels: ["llm_jobs_new", "llm_jobs_cancel", "switchboard_config"],
            logger: logger)
        let events = listener.events()
        logger.info("gateway.starting", metadata: [
            "worker.id": "\(configuration.workerID)", "worker.concurrency": "\(configuration.concurrency)",
            "worker.batch_size": "\(configuration.batchSize)", "worker.lease_seconds": "\(configuration.leaseDuration.seconds)",
        ])

        var runner = JobRunner(
            configuration: configuration, cache: cache,
            client: ProviderClient(transport: http, environment: configuration.environment),
            cooldowns: cooldownTracker, metrics: metrics, logger: logger, ledger: ledger,
            quotas: ProviderQuotas(pool: pool, logger: logger), store: store,
            onCooldown: { [cache, store, logger, configuration] key, errorClass, duration, reason in
                let duration = duration ?? configuration.cooldownDuration
                let until = Date().addingTimeInterval(duration.seconds)
                cache.applyCooldown(key, until: until)
                logger.warning("gateway.model.cooling_down", metadata: [
                    "llm.provider": "\(key.provider)", "llm.model": "\(key.modelID)", "error.class": "\(errorClass)",
                ])
                Task {
                    do {
                        try await store.coolDown(key, for: duration, errorClass: errorClass, reason: reason)
                    } catch {
                        logger.error("gateway.cooldown.write_failed", metadata: ["error": "\(error)"])
                    }
                }
            })
        runner.streams = StreamChannels(pool: pool, http: http, logger: logger)

        await withTaskGroup(of: Void.self) { background in
            background.addTask { await self.completer.run() }
            background.addTask { await self.ledger.run() }
            background.addTask { await self.consume(events) }
            background.addTask { await self.every(self.configuration.heartbeatInterval) { try await self.heartbeat() } }
            background.addTask { await self.every(self.configuration.rescueInterval) { try await self.rescue() } }
            background.addTask { await self.every(.seconds(3600)) { _ = try await self.store.ensurePartitions() } }
            background.addTask { await self.every(.seconds(5)) { self.metrics.recordQueueDepth(try await self.store.readyJobCount()) } }

            // The configuration is loaded once LISTEN is in place, so no change can slip between
            // the load and the first notification.
            while !configLoaded.load(ordering: .acquiring) && !stopping.load(ordering: .relaxed) {
                await configWake.wait(timeout: .milliseconds(100))
            }
            ready.store(true, ordering: .relaxed)
            logger.info("gateway.ready", metadata: [
                "config.agents": "\(cache.snapshot.agents.count)", "config.models": "\(cache.snapshot.models.count)",
            ])
            await claimLoop(runner)
            await drain()
            listener.stop()
            completer.finish()
            // The completer ends by itself once drained, or is abandoned after the write timeout
            // (the database unreachable); the periodic tasks end on cancellation.
            let writeDeadline = ContinuousClock.now + configuration.shutdownWriteTimeout
            while completer.unwrittenCount > 0 && ContinuousClock.now < writeDeadline {
                try? await Task.sleep(for: .milliseconds(10))
            }
            if completer.unwrittenCount > 0 {
                let lost = completer.abandon()
                abandoned = lost.count
                logger.critical("gateway.shutdown.outcomes_abandoned", metadata: [
                    "jobs.count": "\(lost.count)", "write_timeout.seconds": "\(configuration.shutdownWriteTimeout.seconds)",
                    "job.ids": "\(lost.prefix(50).map { "\($0.id)/\($0.attempt)" }.joined(separator: ","))",
                    "recovery": "their calls stay open in llm_job_calls; the rescuer settles them as unknown and requeues the jobs",
                ])
            }
            background.cancelAll()
        }
        if abandoned > 0 { throw OutcomesAbandoned(count: abandoned) }
        logger.info("gateway.stopped", metadata: ["worker.id": "\(configuration.workerID)"])
    }

    // MARK: Start

    private func startupChecks() async throws {
        let settings = try await store.autovacuumSettings()
        if !settings.enabled || settings.naptimeSeconds > 5 {
            logger.warning("gateway.postgres.autovacuum_too_slow", metadata: [
                "postgres.autovacuum": "\(settings.enabled ? "on" : "off")",
                "postgres.autovacuum_naptime_seconds": "\(settings.naptimeSeconds)",
                "fix": "ALTER SYSTEM SET autovacuum = on; ALTER SYSTEM SET autovacuum_naptime = '1s'; SELECT pg_reload_conf(); (the job queue's dead index entries pile up otherwise)",
            ])
        }
        let created = try await store.ensurePartitions()
        if created > 0 { logger.info("gateway.partitions.created", metadata: ["partitions.created": "\(created)"]) }
        try await store.removeStaleWaiters()
    }

    // MARK: Claimer

    private func claimLoop(_ runner: JobRunner) async {
        var idleRegistered = false
        var failures = 0
        while !stopping.load(ordering: .relaxed) {
            // Back-pressure: outcomes the completer has not written yet beyond a few batches take
            // slots too, so a slow database slows claiming instead of piling up outcomes whose
            // leases could expire.
            let completionBacklog = max(0, completer.unwrittenCount - 4 * configuration.batchSize)
            let free = configuration.concurrency - inFlight - completionBacklog
            if free <= 0 {
                if idleRegistered {
                    try? await store.unregisterIdle()
                    idleRegistered = false
                }
                await slotsWake.wait(timeout: configuration.pollInterval)
                continue
            }
            let want = min(free, configuration.batchSize)
            let jobs: [ClaimedJob]
            do {
                jobs = try await store.claim(limit: want, lease: configuration.leaseDuration)
                failures = 0
            } catch {
                failures += 1
                logger.error("gateway.claim.failed", metadata: ["error": "\(error)"])
                await claimWake.wait(timeout: .milliseconds(Int64(min(5000, 100 * (1 << min(failures, 6))))))
                continue
            }
            metrics.recordClaimed(jobs.count)
            for job in jobs { start(job, runner) }
            if jobs.count < want {
                if !idleRegistered {
                    // Register, then claim once more: a job inserted before the registration
                    // committed sent no NOTIFY, and this claim sees it.
                    do {
                        try await store.registerIdle()
                        idleRegistered = true
                        continue
                    } catch {
                        logger.warning("gateway.idle_register.failed", metadata: ["error": "\(error)"])
                    }
                }
                await claimWake.wait(timeout: configuration.pollInterval)
            } else {
                if idleRegistered {
                    try? await store.unregisterIdle()
                    idleRegistered = false
                }
                // Busy: let a few slots free up so the next claim takes a batch, not one job.
                let freeNow = configuration.concurrency - inFlight
                if freeNow < min(configuration.batchSize, configuration.concurrency) / 2 {
                    await slotsWake.wait(timeout: .milliseconds(2))
                }
            }
        }
        if idleRegistered { try? await store.unregisterIdle() }
    }

    private func start(_ job: ClaimedJob, _ runner: JobRunner) {
        let handle = JobHandle()
        leased.insert(job.key)
        let count = held.insert(job.key, handle)
        running.add(1)
        metrics.recordInFlight(count)
        let task = Task {
            let outcome = await runner.run(job, handle: handle)
            self.running.add(-1)
            self.completer.submit(outcome)
            let remaining = self.held.remove(job.key)
            self.metrics.recordInFlight(remaining)
            self.slotsWake.signal()
        }
        handle.attach(task)
    }

    /// After shutdown: wait up to the grace period for in-flight calls, then cancel and release
    /// the rest (the completer writes them back to `queued` without spending the attempt).
    private func drain() async {
        let deadline = ContinuousClock.now + configuration.gracePeriod
        if inFlight > 0 {
            logger.info("gateway.draining", metadata: ["jobs.in_flight": "\(inFlight)", "grace.seconds": "\(configuration.gracePeriod.seconds)"])
        }
        while inFlight > 0 && ContinuousClock.now < deadline {
            await slotsWake.wait(timeout: .milliseconds(50))
        }
        let remaining = held.all
        if !remaining.isEmpty {
            logger.info("gateway.releasing", metadata: ["jobs.count": "\(remaining.count)"])
            for handle in remaining { handle.stop(.release) }
        }
        while inFlight > 0 { await slotsWake.wait(timeout: .milliseconds(20)) }
    }

    // MARK: Heartbeat, rescue, notifications

    private func heartbeat() async throws {
        let (cancelled, lost) = try await store.heartbeat(leased.all, lease: configuration.leaseDuration)
        for key in cancelled { held.handle(key)?.stop(.cancelRequested) }
        if !lost.isEmpty {
            // The call runs on: a non-streaming call is billed whether we hang up or not, and its
            // outcome is recorded as superseded. It is only no longer heartbeated.
            leased.remove(lost)
            logger.warning("gateway.lease.lost", metadata: [
                "jobs.lost": "\(lost.count)", "job.ids": "\(lost.prefix(20).map { "\($0.id)/\($0.attempt)" }.joined(separator: ","))",
            ])
        }
    }

    private func rescue() async throws {
        while !Task.isCancelled {
            // Grace: half a lease past expiry; uptime: one lease after a server restart (F3).
            let lease = configuration.leaseDuration
            let (requeued, finished) = try await store.rescueExpired(limit: 500, grace: lease / 2, uptime: lease)
            metrics.recordRescued(requeued + finished)
            if requeued + finished > 0 {
                logger.notice("gateway.rescued_expired_leases", metadata: ["jobs.requeued": "\(requeued)", "jobs.finished": "\(finished)"])
                claimWake.signal()
            }
            if requeued + finished < 500 { return }
        }
    }

    private func consume(_ events: AsyncStream<PostgresListener.Event>) async {
        for await event in events {
            switch event {
            case .listening(let isReconnect):
                // The first load happens here, after LISTEN; notifications sent while the
                // listener was down are lost, so a reconnect reloads everything.
                while !Task.isCancelled {
                    do {
                        try await cache.reloadAll()
                        break
                    } catch {
                        logger.error("gateway.config.reload_failed", metadata: ["error": "\(error)"])
                        try? await Task.sleep(for: .seconds(1))
                    }
                }
                if isReconnect { logger.notice("gateway.listener.resynchronised") }
                configLoaded.store(true, ordering: .releasing)
                configWake.signal()
                claimWake.signal()
            case .resync:
                // The listener dropped notifications (this consumer lagged): reload everything.
                await reload { try await self.cache.reloadAll() }
                logger.notice("gateway.listener.resynchronised")
                claimWake.signal()
            case .notification(let notification):
                switch notification.channel {
                case "llm_jobs_new":
                    claimWake.signal()
                case "llm_jobs_cancel":
                    for part in notification.payload.split(separator: ",") {
                        if let id = Int64(part.trimmingCharacters(in: .whitespaces)) {
                            for handle in held.handles(forJob: id) { handle.stop(.cancelRequested) }
                        }
                    }
                case "switchboard_config":
                    await applyConfigChange(notification.payload)
                default:
                    break
                }
            }
        }
    }

    private func applyConfigChange(_ payload: String) async {
        let change = JSONValue.parse(payload)
        let table = change?["table"]?.stringValue
        switch table {
        case "agents":
            if let text = change?["id"]?.stringValue, let id = UUID(uuidString: text) {
                await reload { try await self.cache.reloadAgent(id) }
            } else {
                await reload { try await self.cache.reloadAll() }
            }
        case "llm_models": await reload { try await self.cache.reloadModels() }
        case "llm_providers": await reload { try await self.cache.reloadProviders() }
        case "llm_model_cooldowns": await reload { try await self.cache.reloadCooldowns() }
        case "provider_quotas": await reload { try await self.cache.reloadQuotas() }
        case "rate_limits": break  // the registry's business
        case "budgets": await reload { try await self.cache.reloadBudgets() }
        default: await reload { try await self.cache.reloadAll() }
        }
    }

    private func reload(_ body: () async throws -> Void) async {
        do {
            try await body()
        } catch {
            logger.error("gateway.config.reload_failed", metadata: ["error": "\(error)"])
        }
    }

    /// Runs `body` every `interval` until cancelled; errors are logged, not fatal.
    private func every(_ interval: Duration, _ body: @Sendable () async throws -> Void) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            if Task.isCancelled { return }
            do {
                try await body()
            } catch {
                logger.warning("gateway.periodic_task.failed", metadata: ["error": "\(error)"])
            }
        }
    }
}

/// A counter shared between tasks.
final class SharedCount: Sendable {
    private let storage = Atomic<Int>(0)
    var value: Int { storage.load(ordering: .relaxed) }
    func add(_ delta: Int) { storage.add(delta, ordering: .relaxed) }
}

/// A shutdown ended with outcomes the database could not take within the write timeout; the
/// process exits with an error so an orchestrator (and its operator) sees it.
public struct OutcomesAbandoned: Error, CustomStringConvertible {
    public let count: Int
    public var description: String {
        "\(count) job outcome(s) not written at shutdown (the database was unreachable): the rescuer settles their calls as unknown"
    }
}
