import Synchronization

/// The worker's grip on one running job: why it should stop, if it should.
final class JobHandle: Sendable {
    enum StopReason: Int, Sendable {
        case none = 0
        /// The job's cancel was requested (NOTIFY llm_jobs_cancel or the heartbeat): no further
        /// attempt; completes as cancelled.
        case cancelRequested = 1
        /// Shutdown after the grace period: release the job without spending its attempt.
        case release = 2
    }

    private let reason = Atomic<Int>(0)
    private let task = Mutex<Task<Void, Never>?>(nil)

    var stopReason: StopReason { StopReason(rawValue: reason.load(ordering: .acquiring)) ?? .none }

    func attach(_ runner: Task<Void, Never>) {
        task.withLock { $0 = runner }
    }

    /// Records why, then cancels the in-flight call (the runner checks the reason).
    func stop(_ why: StopReason) {
        // A cancel request wins over a release: the user asked for the job to end.
        _ = reason.compareExchange(expected: 0, desired: why.rawValue, ordering: .acquiringAndReleasing)
        task.withLock { $0 }?.cancel()
    }
}
