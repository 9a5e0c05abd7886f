import Foundation
import Logging
import Support
import Synchronization

/// Writes the attempt ledger's row for every provider call before the call is sent
/// (`llm_job_calls`, migration 0031): the call then exists in the database whatever happens to
/// this process, and the completion settles it exactly once. Runners' requests are gathered and
/// written together (one statement for all that arrived meanwhile), as the completer does for
/// outcomes, so the write per call costs a round trip per batch, not per call.
final class CallLedger: Sendable {
    /// A call about to be sent.
    struct Entry: Sendable {
        var attempt: AttemptKey
        var provider: String
        var modelID: String
        var fallbackDepth: Int
        /// Set when budgets exist: what to reserve (issue 23). nil: the plain ledger row.
        var reservation: Reservation? = nil
    }

    /// What a governed call reserves against the budgets that apply to its job.
    struct Reservation: Sendable {
        /// The call's maximum cost (USD); nil when a price or the output bound is unknown (the
        /// call is then refused `price_unknown` if any budget applies).
        var amount: Decimal?
        /// A budget downgrade chose this model: a downgrade budget's threshold no longer stops it.
        var downgraded: Bool
    }

    /// What opening a call gave.
    enum Opened: Sendable, Equatable {
        /// Recorded (and reserved, when `reserved`): send it.
        case opened(callSeq: Int, reserved: Bool)
        /// A budget refused the call: nothing was written; do not send it.
        case refused(BudgetRefusal)
        /// Written as ungoverned, refused because a budget now exists: open it again with a
        /// reservation.
        case budgetsAppeared
    }

    private typealias Waiter = (entry: Entry, continuation: CheckedContinuation<Opened, Error>)
    private let store: GatewayStore
    private let pending = Mutex<[Waiter]>([])
    private let wake = WakeSignal()

    init(store: GatewayStore) {
        self.store = store
    }

    /// Records the call (reserving its cost when it carries a reservation); returns its
    /// `call_seq`, or the budget that refused it. Throws when the database refused or could not be
    /// reached (the call must not be sent then).
    func open(_ entry: Entry) async throws -> Opened {
        try await withCheckedThrowingContinuation { continuation in
            let first = pending.withLock { pending in
                pending.append((entry, continuation))
                return pending.count == 1
            }
            if first { wake.signal() }
        }
    }

    /// Writes what runners asked for until cancelled.
    func run() async {
        while !Task.isCancelled {
            let taken = pending.withLock { pending -> [Waiter] in
                var taken: [Waiter] = []
                swap(&taken, &pending)
                return taken
            }
            if taken.isEmpty {
                await wake.wait(timeout: .milliseconds(250))
                continue
            }
            do {
                let results = try await store.openCalls(taken.map(\.entry))
                for waiter in taken {
                    if let result = results[waiter.entry.attempt] {
                        waiter.continuation.resume(returning: result)
                    } else {
                        // The job row is gone (deleted while running): nothing to record against.
                        waiter.continuation.resume(throwing: LedgerError.jobMissing(waiter.entry.attempt.id))
                    }
                }
            } catch {
                for waiter in taken { waiter.continuation.resume(throwing: error) }
            }
        }
        // Shutdown: nobody may be left waiting.
        let left = pending.withLock { pending -> [Waiter] in
            var taken: [Waiter] = []
            swap(&taken, &pending)
            return taken
        }
        for waiter in left { waiter.continuation.resume(throwing: CancellationError()) }
    }

    enum LedgerError: Error {
        case jobMissing(Int64)
    }
}
