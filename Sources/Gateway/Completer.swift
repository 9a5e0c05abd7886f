import Foundation
import Logging
import Postgres
import Support
import Synchronization

/// Collects runners' outcomes and writes them in batches: one transaction per batch (see
/// `GatewayStore.complete`). One write at a time; outcomes arriving meanwhile form the next batch.
/// A failed write (database down) is retried with backoff: outcomes are never dropped.
final class Completer: Sendable {
    private let store: GatewayStore
    private let batchSize: Int
    private let delay: Duration
    private let metrics: GatewayMetrics
    private let logger: Logger
    private let pending = Mutex<[JobOutcome]>([])
    private let wake = WakeSignal()
    private let isStopping = Atomic<Bool>(false)
    /// Set by `abandon()`: retries stop and `run()` returns with what is unwritten left unwritten.
    private let isAbandoned = Atomic<Bool>(false)
    /// The attempts of the batch being written now (for the log of an abandoned shutdown).
    private let writing = Mutex<[AttemptKey]>([])
    /// Outcomes handed in but not yet written (for draining at shutdown).
    private let unwritten = Atomic<Int>(0)

    /// Told the attempts whose outcome was written (or given up on).
    private let onWritten: @Sendable ([AttemptKey]) -> Void
    /// How many jobs runners are still running (outcome not submitted yet): when none is, no other
    /// outcome can join the batch soon, so it is written at once instead of after `delay` (an idle
    /// worker's lone job is not held back for batching).
    private let runningJobs: @Sendable () -> Int

    init(
        store: GatewayStore, batchSize: Int, delay: Duration, metrics: GatewayMetrics, logger: Logger,
        runningJobs: @escaping @Sendable () -> Int = { Int.max },
        onWritten: @escaping @Sendable ([AttemptKey]) -> Void = { _ in }
    ) {
        self.onWritten = onWritten
        self.runningJobs = runningJobs
        self.store = store
        self.batchSize = batchSize
        self.delay = delay
        self.metrics = metrics
        self.logger = logger
    }

    func submit(_ outcome: JobOutcome) {
        unwritten.add(1, ordering: .relaxed)
        let count = pending.withLock { pending in
            pending.append(outcome)
            return pending.count
        }
        if count == 1 || count >= batchSize { wake.signal() }
    }

    var unwrittenCount: Int { unwritten.load(ordering: .relaxed) }

    /// Ends `run()` once everything submitted so far is written.
    func finish() {
        isStopping.store(true, ordering: .relaxed)
        wake.signal()
    }

    /// Stops writing (a shutdown whose last writes cannot reach the database): failed writes are
    /// not retried and `run()` returns. Returns the attempts whose outcome was not written.
    func abandon() -> [AttemptKey] {
        isAbandoned.store(true, ordering: .sequentiallyConsistent)
        isStopping.store(true, ordering: .relaxed)
        wake.signal()
        let queued = pending.withLock { $0.map(\.job.key) }
        return writing.withLock { $0 } + queued
    }

    private var abandoned: Bool { isAbandoned.load(ordering: .sequentiallyConsistent) }

    /// Waits `backoff` (then doubled, at most 5 s) before a write is tried again; false when the
    /// completer was abandoned, which retries nothing.
    private func waitToRetry(_ backoff: inout Double) async -> Bool {
        if abandoned { return false }
        try? await Task.sleep(for: .milliseconds(Int64(backoff * 1000)))
        backoff = min(backoff * 2, 5)
        return !abandoned
    }

    /// Writes `outcomes`, retrying while the database is unreachable. A batch the server rejects
    /// for its data (SQLSTATE class 22/23: a value no column accepts) is written one outcome at a
    /// time so one bad outcome cannot block every other; an outcome rejected alone is written
    /// again without the provider's values and fails its job `completion_rejected`
    /// (`JobOutcome.rejected(by:)`): it is never dropped while that can be written.
    private func write(_ outcomes: [JobOutcome], backoff: inout Double, isRetryOfRejected: Bool = false) async {
        // Built once: a database outage retries the same documents, not a fresh serialisation each time.
        let batch = CompletionBatch(outcomes)
        while true {
            do {
                let updated = try await store.complete(batch)
                recordWritten(outcomes, updated: updated)
                return
            } catch let error as PostgresError where error.isDataError || !error.isTransient {
                // Refused for good (a value no column takes, a program limit, schema drift): no
                // retry can help, so the batch is split until the outcome at fault is alone (F8).
                guard outcomes.count > 1 else {
                    let id = outcomes.first.map { String($0.job.id) } ?? ""
                    guard let outcome = outcomes.first else { return }
                    guard !isRetryOfRejected else {
                        // Even the stripped outcome was refused: dead-letter the job alone.
                        await deadLetter(outcome, error: error)
                        return
                    }
                    logger.error("gateway.completion.rejected", metadata: ["error": "\(error)", "job.id": "\(id)"])
                    await write([outcome.rejected(by: error)], backoff: &backoff, isRetryOfRejected: true)
                    return
                }
                for outcome in outcomes { await write([outcome], backoff: &backoff) }
                return
            } catch let unknown as CommitOutcomeUnknown {
                logger.error("gateway.completion.outcome_unknown", metadata: [
                    "error": "\(unknown)", "jobs.count": "\(outcomes.count)",
                ])
                if abandoned { return }
                if await committed(unknown, backoff: &backoff) {
                    // Written by the lost session; how many leases it still held is not known.
                    recordWritten(outcomes, updated: outcomes.count)
                    return
                }
                // Rolled back: written again after the same backoff as any failed write.
                guard await waitToRetry(&backoff) else { return }
            } catch {
                logger.error("gateway.completion.failed", metadata: [
                    "error": "\(error)", "jobs.count": "\(outcomes.count)", "retry.seconds": "\(backoff)",
                ])
                guard await waitToRetry(&backoff) else { return }
            }
        }
    }

    /// The last resort for an outcome the database refuses even without the provider's values:
    /// the job alone is failed `completion_rejected` (its calls are lost; the log names them), so
    /// it neither blocks the completer nor runs again. Retried while the database is unreachable.
    private func deadLetter(_ outcome: JobOutcome, error: PostgresError) async {
        var backoff = 0.05
        while true {
            do {
                try await store.deadLetter(outcome.job, error: error)
                logger.critical("gateway.completion.dead_lettered", metadata: [
                    "error": "\(error)", "job.id": "\(outcome.job.id)", "calls.lost": "\(outcome.calls.count)",
                ])
                return
            } catch let failure as PostgresError where !failure.isTransient {
                logger.critical("gateway.completion.dropped", metadata: ["error": "\(failure)", "job.id": "\(outcome.job.id)"])
                return
            } catch {
                guard await waitToRetry(&backoff) else { return }
            }
        }
    }

    /// Asks the database (retrying while it is unreachable) whether a batch whose COMMIT went
    /// unanswered was written: writing it again would record its calls twice.
    private func committed(_ unknown: CommitOutcomeUnknown, backoff: inout Double) async -> Bool {
        while true {
            do {
                return try await store.transactionCommitted(unknown)
            } catch {
                // Not known: treated as not written, which an abandoned completer does not retry.
                guard await waitToRetry(&backoff) else { return false }
            }
        }
    }

    private func recordWritten(_ outcomes: [JobOutcome], updated: Int) {
        metrics.recordCompletionBatch(outcomes.count)
        metrics.recordLostLeases(outcomes.count - updated)
        if updated < outcomes.count {
            logger.warning("gateway.completion.lease_lost", metadata: ["jobs.lost": "\(outcomes.count - updated)"])
        }
        for outcome in outcomes { metrics.recordCompleted(outcome) }
    }

    func run() async {
        var backoff = 0.05
        while !abandoned {
            let count = pending.withLock { $0.count }
            if count == 0 {
                if isStopping.load(ordering: .relaxed) { return }
                await wake.wait(timeout: .milliseconds(250))
                continue
            }
            // Let a partial batch fill for a moment (under load it is full at once), unless no
            // other job is running that could join it.
            if count < batchSize && !isStopping.load(ordering: .relaxed) && runningJobs() > 0 {
                try? await Task.sleep(for: delay)
            }
            // Take everything (O(1) swap) and write it in transactions of at most 4 batches.
            let taken = pending.withLock { pending -> [JobOutcome] in
                var taken: [JobOutcome] = []
                swap(&taken, &pending)
                return taken
            }
            let limit = batchSize * 4
            for start in stride(from: 0, to: taken.count, by: limit) {
                let outcomes = Array(taken[start..<min(start + limit, taken.count)])
                writing.withLock { $0 = taken[start...].map(\.job.key) }
                await write(outcomes, backoff: &backoff)
                if abandoned { return }
                writing.withLock { $0 = [] }
                backoff = 0.05
                unwritten.subtract(outcomes.count, ordering: .relaxed)
                onWritten(outcomes.map(\.job.key))
            }
        }
    }
}

extension PostgresError {
    /// Worth writing again: the connection or the server went away, or a conflict, a lock or a
    /// statement timeout that another try can pass (F8: anything else is retried forever in
    /// vain while the batch's leases are kept alive).
    var isTransient: Bool {
        switch kind {
        case .connection, .connectionLost, .poolTimeout, .shutdown:
            return true
        case .server:
            guard let sqlState else { return false }
            return sqlState.hasPrefix("08") || sqlState.hasPrefix("57P") || sqlState.hasPrefix("53")
                || ["40001", "40P01", "55P03", "57014"].contains(sqlState)
        default:
            return false
        }
    }

    /// The statement was rejected for the data it carried (data exception or integrity violation).
    var isDataError: Bool {
        guard kind == .server, let sqlState else { return false }
        return sqlState.hasPrefix("22") || sqlState.hasPrefix("23")
    }
}
