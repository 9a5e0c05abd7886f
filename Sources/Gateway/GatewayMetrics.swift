import Metrics
import Synchronization

/// The worker's Prometheus metrics (through swift-metrics; the executable bootstraps the
/// Prometheus factory). Names are documented in docs/gateway.md ("Metrics").
struct GatewayMetrics: Sendable {
    private let claimed = Counter(label: "gateway_jobs_claimed_total")
    private let succeeded = Counter(label: "gateway_jobs_completed_total", dimensions: [("status", "succeeded")])
    private let failed = Counter(label: "gateway_jobs_completed_total", dimensions: [("status", "failed")])
    private let cancelled = Counter(label: "gateway_jobs_completed_total", dimensions: [("status", "cancelled")])
    private let requeued = Counter(label: "gateway_jobs_completed_total", dimensions: [("status", "requeued")])
    private let released = Counter(label: "gateway_jobs_completed_total", dimensions: [("status", "released")])
    private let lostLeases = Counter(label: "gateway_jobs_lease_lost_total")
    private let rescued = Counter(label: "gateway_jobs_rescued_total")
    private let inFlight = Gauge(label: "gateway_jobs_in_flight")
    private let queueDepth = Gauge(label: "gateway_queue_ready_jobs")
    private let completionBatch = Recorder(label: "gateway_completion_batch_size", aggregate: true)
    private let budgetRefusals = Counter(label: "gateway_budget_refusals_total")

    init() {}

    func recordClaimed(_ count: Int) { if count > 0 { claimed.increment(by: count) } }
    func recordInFlight(_ count: Int) { inFlight.record(count) }
    func recordQueueDepth(_ count: Int) { queueDepth.record(count) }
    func recordRescued(_ count: Int) { if count > 0 { rescued.increment(by: count) } }
    func recordLostLeases(_ count: Int) { if count > 0 { lostLeases.increment(by: count) } }
    func recordCompletionBatch(_ size: Int) { completionBatch.record(size) }
    /// A budget refused a job's call (it failed, was deferred, or found no cheaper model).
    func recordBudgetRefusal() { budgetRefusals.increment() }

    func recordCompleted(_ outcome: JobOutcome) {
        switch outcome.disposition {
        case .succeeded: succeeded.increment()
        case .failed: failed.increment()
        case .cancelled: cancelled.increment()
        case .requeued, .snoozed: requeued.increment()
        case .released: released.increment()
        }
    }

    /// One provider call: `gateway_provider_calls_total{provider,model,outcome,error_class}` and
    /// `gateway_provider_call_duration_seconds{provider,model,outcome}`. The handles are cached per
    /// label set (the factory's lookup takes a lock and hashes every label).
    func recordCall(_ call: CallRecord) {
        let key = CallKey(provider: call.provider, model: call.modelID, errorClass: call.success ? nil : (call.errorClass ?? ""))
        let handles = callHandles.handles(for: key)
        handles.counter.increment()
        handles.timer.recordMilliseconds(call.latencyMilliseconds)
    }

    private let callHandles = CallHandles()
}

private struct CallKey: Hashable {
    var provider: String
    var model: String
    /// nil = success.
    var errorClass: String?
}

private final class CallHandles: Sendable {
    struct Handles: Sendable {
        let counter: Counter
        let timer: Timer
    }

    private let cache = Mutex<[CallKey: Handles]>([:])

    func handles(for key: CallKey) -> Handles {
        if let cached = cache.withLock({ $0[key] }) { return cached }
        let outcome = key.errorClass == nil ? "success" : "error"
        let handles = Handles(
            counter: Counter(label: "gateway_provider_calls_total", dimensions: [
                ("provider", key.provider), ("model", key.model), ("outcome", outcome), ("error_class", key.errorClass ?? ""),
            ]),
            timer: Timer(label: "gateway_provider_call_duration_seconds", dimensions: [
                ("provider", key.provider), ("model", key.model), ("outcome", outcome),
            ]))
        cache.withLock { $0[key] = handles }
        return handles
    }
}
