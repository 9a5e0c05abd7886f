import Foundation
import Postgres

extension JobOutcome {
    /// What the completer writes when the database refused this outcome alone (a value no column
    /// accepts). Dropping it would lose the usage rows for good (the calls were billed) and leave
    /// the job running until its lease expires, to be called again, and again, on every attempt.
    /// Instead: the same calls without anything the provider sent (tokens, cost, request id,
    /// message), flagged `usage_invalid`, and the job failed `completion_rejected` (a release
    /// stays a release: it carries no document).
    func rejected(by error: PostgresError) -> JobOutcome {
        let calls = calls.map(\.strippedOfProviderValues)
        let disposition: Disposition
        switch self.disposition {
        case .released(let delay):
            disposition = .released(delay: delay)
        case .cancelled:
            disposition = .cancelled(error: nil)  // the job's stored history is kept
        case .succeeded, .failed, .requeued, .snoozed:
            let message = "the database refused this attempt's outcome (SQLSTATE \(error.sqlState ?? "?")): "
                + String(error.description.prefix(300))
            let document = ErrorHistory(json: job.errorJSON).document(
                code: "completion_rejected", message: message, job: job, calls: calls, skipped: [])
            disposition = .failed(error: document)
        }
        return JobOutcome(job: job, disposition: disposition, calls: calls)
    }
}

extension CallRecord {
    /// The call as this worker knows it without trusting the provider's values.
    var strippedOfProviderValues: CallRecord {
        var call = self
        call.inputTokens = nil
        call.outputTokens = nil
        call.cachedInputTokens = nil
        call.cacheCreationInputTokens = nil
        call.reasoningTokens = nil
        call.cost = nil
        call.providerRequestID = nil
        call.message = nil
        call.httpStatus = httpStatus.flatMap { (100...599).contains($0) ? $0 : nil }
        call.latencyMilliseconds = min(max(0, latencyMilliseconds), Int(Int32.max))
        call.usageInvalid = true
        return call
    }
}
