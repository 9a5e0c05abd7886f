import Catalog
import Foundation
import JSON
import Support

/// The JSON documents one completion transaction binds: job states, usage rows, and the counter
/// deltas pre-aggregated per key (so each counter row is upserted once per batch).
struct CompletionBatch: Sendable {
    var jobsJSON = ""
    var usageJSON = ""
    /// The counter deltas when every call is settled now and none is superseded (the normal case);
    /// `counters(settled:)` recounts otherwise.
    var agentCountersJSON = ""
    var executionCountersJSON = ""
    /// Calls in the batch (usage rows if every one is settled now).
    private(set) var callCount = 0
    /// Attempts released by a shutdown: their aborted call's ledger row is settled as unknown.
    private(set) var releasedAttempts: [AttemptKey] = []
    /// Attempts with a call that reserved against budgets: their settlement charges the budgets.
    private(set) var reservedAttempts: [AttemptKey] = []
    /// The outcomes, in id order, for a recount.
    private let ordered: [JobOutcome]

    /// One ledger row: a call of an attempt.
    struct CallKey: Hashable, Sendable {
        var attempt: AttemptKey
        var callSeq: Int
    }

    private struct CounterKey: Hashable, Comparable {
        var executionID: String
        var agentID: String
        var provider: String
        var modelID: String

        static func < (lhs: CounterKey, rhs: CounterKey) -> Bool {
            (lhs.executionID, lhs.agentID, lhs.provider, lhs.modelID) < (rhs.executionID, rhs.agentID, rhs.provider, rhs.modelID)
        }
    }

    private struct Counters {
        var requests = 0
        var successes = 0
        var errors = 0
        var fallbackRequests = 0
        var inputTokens = 0
        var outputTokens = 0
        var cachedInputTokens = 0
        var cacheCreationInputTokens = 0
        var reasoningTokens = 0
        var pricedRequests = 0
        var cost = Decimal(0)
        var latencySum = 0
        var supersededRequests = 0
        var supersededCost = Decimal(0)

        mutating func add(_ call: CallRecord, superseded: Bool) {
            requests += 1
            if superseded {
                supersededRequests += 1
                if let value = call.cost { supersededCost += value }
            }
            if call.success { successes += 1 } else { errors += 1 }
            if call.fallbackDepth > 0 { fallbackRequests += 1 }
            // Saturating: the adapters bound each count, but a sum must never be able to trap.
            inputTokens.addSaturating(call.inputTokens)
            outputTokens.addSaturating(call.outputTokens)
            cachedInputTokens.addSaturating(call.cachedInputTokens)
            cacheCreationInputTokens.addSaturating(call.cacheCreationInputTokens)
            reasoningTokens.addSaturating(call.reasoningTokens)
            if let value = call.cost {
                pricedRequests += 1
                cost += value
            }
            latencySum.addSaturating(call.latencyMilliseconds)
        }
    }

    init(_ outcomes: [JobOutcome]) {
        let ordered = outcomes.sorted { $0.job.id < $1.job.id }  // row locks in id order
        self.ordered = ordered
        var jobs = JSONWriter.forJSONB(capacity: 256 * ordered.count)
        jobs.beginArray()
        var usage = JSONWriter.forJSONB(capacity: 384 * ordered.count)
        usage.beginArray()
        var usageRows = 0
        for outcome in ordered {
            let job = outcome.job
            jobs.beginObject()
            jobs.member("id", Int(job.id))
            jobs.member("attempt", job.attempt)
            jobs.member("status", outcome.statusText)
            switch outcome.disposition {
            case .succeeded(let result):
                jobs.key("result"); jobs.raw(result)
                jobs.key("error"); jobs.null()
            case .failed(let error):
                jobs.key("result"); jobs.null()
                jobs.key("error"); jobs.raw(error)
            case .requeued(let delay, let error), .snoozed(let delay, let error):
                jobs.key("result"); jobs.null()
                jobs.key("error"); jobs.raw(error)
                jobs.member("delay_ms", delay.roundedMilliseconds)
            case .cancelled(let error):
                jobs.key("result"); jobs.null()
                jobs.key("error")
                if let error { jobs.raw(error) } else { jobs.null() }
            case .released(let delay):
                jobs.member("delay_ms", delay.roundedMilliseconds)
                releasedAttempts.append(job.key)
            }
            jobs.endObject()

            let agentID = job.agentID.uuidString.lowercased()
            let executionID = job.executionID?.uuidString.lowercased()
            if outcome.calls.contains(where: \.reserved) { reservedAttempts.append(job.key) }
            for call in outcome.calls {
                usageRows += 1
                usage.beginObject()
                usage.member("job_id", Int(job.id))
                usage.member("execution_id", executionID)
                usage.member("agent_id", agentID)
                usage.member("provider", call.provider)
                usage.member("model_id", call.modelID)
                usage.member("fallback_depth", call.fallbackDepth)
                usage.member("attempt", job.attempt)
                usage.member("call_seq", call.callSeq)
                usage.member("outcome", call.success ? "success" : "error")
                usage.member("error_class", call.errorClass)
                usage.member("http_status", call.httpStatus)
                usage.member("input_tokens", call.inputTokens)
                usage.member("output_tokens", call.outputTokens)
                usage.member("cached_input_tokens", call.cachedInputTokens)
                usage.member("cache_creation_input_tokens", call.cacheCreationInputTokens)
                usage.member("reasoning_tokens", call.reasoningTokens)
                usage.member("cost", call.cost)
                usage.member("latency_ms", call.latencyMilliseconds)
                usage.member("provider_request_id", call.providerRequestID)
                usage.member("usage_invalid", call.usageInvalid)
                usage.member("billed_unknown", call.billedUnknown)
                if call.reserved { usage.member("charge", call.budgetCharge) }
                if let decision = call.budgetDecision { usage.member("budget_decision", decision) }
                usage.member("started_at", Timestamp.string(from: call.startedAt))
                usage.member("finished_at", Timestamp.string(from: max(call.finishedAt, call.startedAt)))
                usage.endObject()
            }
        }
        jobs.endArray()
        usage.endArray()
        jobsJSON = ordered.isEmpty ? "" : jobs.string
        usageJSON = usageRows == 0 ? "" : usage.string
        callCount = usageRows
        (agentCountersJSON, executionCountersJSON) = Self.counters(ordered) { _, _ in false }
    }

    /// The counter deltas for exactly the calls settled now (`settled`: call → superseded).
    func counters(settled: [CallKey: Bool]) -> (agent: String, execution: String) {
        Self.counters(ordered) { job, call in settled[CallKey(attempt: job.key, callSeq: call.callSeq)] }
    }

    /// `include` says whether a call counts (nil: not at all) and whether it is superseded.
    private static func counters(
        _ ordered: [JobOutcome], include: (ClaimedJob, CallRecord) -> Bool?
    ) -> (agent: String, execution: String) {
        var agentCounters: [CounterKey: Counters] = [:]
        var executionCounters: [CounterKey: Counters] = [:]
        for outcome in ordered {
            let job = outcome.job
            let agentID = job.agentID.uuidString.lowercased()
            let executionID = job.executionID?.uuidString.lowercased()
            for call in outcome.calls {
                guard let superseded = include(job, call) else { continue }
                let agentKey = CounterKey(executionID: "", agentID: agentID, provider: call.provider, modelID: call.modelID)
                agentCounters[agentKey, default: Counters()].add(call, superseded: superseded)
                if let executionID {
                    var executionKey = agentKey
                    executionKey.executionID = executionID
                    executionCounters[executionKey, default: Counters()].add(call, superseded: superseded)
                }
            }
        }
        return (countersJSON(agentCounters, withExecution: false), countersJSON(executionCounters, withExecution: true))
    }

    /// Sorted by key (the SQL also orders by the primary key, so locks are taken in key order).
    private static func countersJSON(_ counters: [CounterKey: Counters], withExecution: Bool) -> String {
        guard !counters.isEmpty else { return "" }
        var writer = JSONWriter.forJSONB(capacity: 256 * counters.count)
        writer.beginArray()
        for (key, value) in counters.sorted(by: { $0.key < $1.key }) {
            writer.beginObject()
            if withExecution { writer.member("execution_id", key.executionID) }
            writer.member("agent_id", key.agentID)
            writer.member("provider", key.provider)
            writer.member("model_id", key.modelID)
            writer.member("requests", value.requests)
            writer.member("successes", value.successes)
            writer.member("errors", value.errors)
            writer.member("fallback_requests", value.fallbackRequests)
            writer.member("input_tokens", value.inputTokens)
            writer.member("output_tokens", value.outputTokens)
            writer.member("cached_input_tokens", value.cachedInputTokens)
            writer.member("cache_creation_input_tokens", value.cacheCreationInputTokens)
            writer.member("reasoning_tokens", value.reasoningTokens)
            writer.member("priced_requests", value.pricedRequests)
            writer.member("cost", value.cost)
            writer.member("latency_ms_sum", value.latencySum)
            writer.member("superseded_requests", value.supersededRequests)
            writer.member("superseded_cost", value.supersededCost)
            writer.endObject()
        }
        writer.endArray()
        return writer.string
    }
}

extension Int {
    /// `self += value`, stopping at `Int.max` instead of trapping.
    mutating func addSaturating(_ value: Int?) {
        let (sum, overflow) = addingReportingOverflow(value ?? 0)
        self = overflow ? ((value ?? 0) > 0 ? Int.max : Int.min) : sum
    }
}
