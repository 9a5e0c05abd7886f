import Catalog
import Foundation
import JSON
import Providers

/// The job's `error` document (contract shape): the history of every call across job attempts,
/// carried over from the claimed row, plus this attempt's calls and skipped models.
struct ErrorHistory {
    /// Earlier attempts' entries, as JSON text, oldest first.
    private(set) var previousAttempts: [String] = []
    /// Provider calls among them (lease_expired entries written by the rescuer name no model).
    private(set) var previousCalls = 0

    init(json: String?) {
        guard let json, let value = JSONValue.parse(json), let attempts = value["attempts"]?.arrayValue else { return }
        previousAttempts = attempts.map { $0.encodedString() }
        previousCalls = attempts.filter { $0["model"]?.stringValue != nil }.count
    }

    func document(
        code: String, message: String, job: ClaimedJob, calls: [CallRecord], skipped: [SkippedModel], partial: ChatResponse? = nil,
        partialTokensEstimated: Bool = false, budgetID: UUID? = nil
    ) -> String {
        var writer = JSONWriter.forJSONB(capacity: 512)
        writer.beginObject()
        writer.member("code", code)
        writer.member("message", String(message.prefix(1000)))
        // A budget's refusal names the budget (GET /api/budgets/{id}).
        if let budgetID { writer.member("budget_id", budgetID.uuidString.lowercased()) }
        writer.key("attempts")
        writer.beginArray()
        for entry in previousAttempts { writer.raw(entry) }
        for call in calls {
            writer.beginObject()
            writer.member("job_attempt", job.attempt)
            writer.member("model", call.modelID)
            writer.member("provider", call.provider)
            writer.member("fallback_depth", call.fallbackDepth)
            writer.member("outcome", call.success ? "success" : "error")
            writer.member("error_class", call.errorClass)
            writer.member("http_status", call.httpStatus)
            writer.member("message", call.message)
            writer.member("latency_ms", call.latencyMilliseconds)
            writer.member("started_at", Timestamp.string(from: call.startedAt))
            if let decision = call.budgetDecision { writer.member("budget_decision", decision) }
            writer.endObject()
        }
        writer.endArray()
        writer.key("skipped")
        writer.beginArray()
        for skip in skipped {
            writer.beginObject()
            writer.member("model", skip.modelID)
            writer.member("provider", skip.provider)
            writer.member("reason", skip.reason.rawValue)
            if let detail = skip.detail { writer.member("detail", detail) }
            writer.endObject()
        }
        writer.endArray()
        if let partial {
            // A stream cut after its first token: what the client received, and its tokens (the
            // provider's count when the stream carried one, else an estimate, marked as such).
            writer.key("partial")
            writer.beginObject()
            writer.answerMembers(partial)
            writer.member("input_tokens", partial.usage?.inputTokens)
            writer.member("output_tokens", partial.usage?.outputTokens ?? ProviderClient.estimatedTokens(partial))
            writer.member("tokens_estimated", partial.usage == nil || partialTokensEstimated)
            writer.endObject()
        }
        writer.endObject()
        return writer.string
    }
}

/// The job's `result` document on success (contract shape, keys exactly).
enum ResultDocument {
    static func make(response: ChatResponse, candidate: ChainCandidate, cost: Decimal?, attempts: Int) -> String {
        var writer = JSONWriter.forJSONB(capacity: 256 + (response.text?.utf8.count ?? 0))
        writer.beginObject()
        writer.answerMembers(response)
        writer.member("finish_reason", response.finishReason?.rawValue ?? response.providerFinishReason)
        writer.member("stop_sequence", response.stopSequence)
        writer.member("refusal", response.refusal)
        writer.member("model", candidate.model.modelID)
        writer.member("provider", candidate.provider.name)
        writer.member("fallback_depth", candidate.depth)
        writer.key("usage")
        if let usage = response.usage {
            writer.beginObject()
            writer.member("input_tokens", usage.inputTokens)
            writer.member("output_tokens", usage.outputTokens)
            writer.member("cached_input_tokens", usage.cachedInputTokens)
            writer.member("cache_creation_input_tokens", usage.cacheCreationInputTokens)
            writer.member("reasoning_tokens", usage.reasoningTokens)
            writer.endObject()
        } else {
            writer.null()
        }
        writer.member("cost", cost)
        writer.member("provider_request_id", response.requestID)
        writer.member("response_id", response.responseID)
        writer.key("warnings")
        writer.beginArray()
        for warning in response.warnings { writer.value(warning) }
        writer.endArray()
        writer.member("attempts", attempts)
        writer.endObject()
        return writer.string
    }
}
