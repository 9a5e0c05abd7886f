import Catalog
import Foundation
import Providers

/// One provider call made for a job: a `model_usage` row and an entry of the error history.
struct CallRecord: Sendable {
    /// The call's row in the attempt ledger (`llm_job_calls.call_seq` of the job's attempt).
    var callSeq: Int
    var provider: String
    var modelID: String
    var fallbackDepth: Int
    var success: Bool
    /// ProviderErrorClass raw value (or `cancelled`); nil on success.
    var errorClass: String?
    var httpStatus: Int?
    var message: String?
    var inputTokens: Int?
    var outputTokens: Int?
    var cachedInputTokens: Int?
    var cacheCreationInputTokens: Int?
    var reasoningTokens: Int?
    /// Exact USD; nil when the price (or the token count) is unknown.
    var cost: Decimal?
    var latencyMilliseconds: Int
    var providerRequestID: String?
    var startedAt: Date
    var finishedAt: Date
    /// Whether the error class is one that retrying can fix (for the requeue decision).
    var transient: Bool
    /// The provider reported counts no row can hold (`TokenCounts`): the tokens here are partial
    /// or nil although the call was billed.
    var usageInvalid = false
    /// Timed out after the request was sent: the provider may have finished and billed it, for
    /// an amount nobody here knows (`model_usage.billed_unknown`).
    var billedUnknown = false
    /// The call reserved its maximum cost against budgets (issue 23): its settlement charges them.
    var reserved = false
    /// `downgrade`: a budget moved the call to a cheaper model of the chain.
    var budgetDecision: String? = nil

    /// The provider's counts and their exact cost at the model's prices (nil cost: price unknown).
    mutating func bill(_ usage: TokenUsage, model: LLMModel) {
        inputTokens = usage.inputTokens
        outputTokens = usage.outputTokens
        cachedInputTokens = usage.cachedInputTokens
        cacheCreationInputTokens = usage.cacheCreationInputTokens
        reasoningTokens = usage.reasoningTokens
        cost = try? CostCalculator.cost(
            model: model, inputTokens: usage.inputTokens, outputTokens: usage.outputTokens,
            cachedInputTokens: usage.cachedInputTokens ?? 0, cacheCreationInputTokens: usage.cacheCreationInputTokens ?? 0
        ).totalCost
    }

    /// What the call costs against its budgets, as far as this worker knows: the exact cost of
    /// a priced success, 0 for a call refused before being billed, nil when nobody knows (a
    /// timeout after send, counts no row can hold, an answer that came back 200 but could not be
    /// used, a call cancelled in flight): the settlement then charges the reservation.
    var budgetCharge: Decimal? {
        if success { return usageInvalid ? nil : cost }
        if billedUnknown || usageInvalid || httpStatus == 200 || errorClass == "cancelled" { return nil }
        return 0
    }
}

/// A model of the chain that was not called, and why.
struct SkippedModel: Sendable, Equatable {
    enum Reason: String, Sendable {
        case retired
        case providerDisabled = "provider_disabled"
        case missingCredentials = "missing_credentials"
        case contextTooSmall = "context_too_small"
        case coolingDown = "cooling_down"
        case unknownModel = "unknown_model"
        /// The provider's base_url would carry its key somewhere the key rules forbid (plain
        /// http to a host that is neither loopback nor operator-listed, userinfo, a query): a row
        /// edited behind the API's back must not leak a key.
        case unsafeBaseURL = "unsafe_base_url"
        /// The provider's key variable is not bound to its base_url's host (`KeyHostBindings`):
        /// the key is not sent, whatever the row says.
        case keyNotBound = "key_not_bound"
    }

    var modelID: String
    var provider: String?
    var reason: Reason
    /// A sentence for the operator when the reason alone does not say what to change.
    var detail: String? = nil
}

/// What a runner hands to the completer.
struct JobOutcome: Sendable {
    enum Disposition: Sendable {
        /// `result` is the contract's result document.
        case succeeded(result: String)
        /// `error` is the contract's error document (with the whole history).
        case failed(error: String)
        /// Every usable model failed transiently: back to the queue after `delay`, history kept.
        case requeued(delay: Duration, error: String)
        /// Waiting is what the provider asked for (Retry-After, or every model cooling down):
        /// back to the queue after `delay` without spending the attempt (River's snooze).
        case snoozed(delay: Duration, error: String)
        /// Cancel requested: no further attempt; the history so far is kept in `error`.
        case cancelled(error: String?)
        /// Graceful shutdown, or a job that could not start: back to the queue without spending
        /// the attempt, claimable again after `delay`
        /// (0 for a shutdown release; a pause when the job could not start, so a job whose agent
        /// cannot be loaded is not claimed again at once, over and over).
        case released(delay: Duration)
    }

    var job: ClaimedJob
    var disposition: Disposition
    /// Calls made during this claim, in order; each becomes a model_usage row.
    var calls: [CallRecord]

    var statusText: String {
        switch disposition {
        case .succeeded: return "succeeded"
        case .failed: return "failed"
        case .requeued: return "queued"
        case .snoozed: return "snoozed"
        case .cancelled: return "cancelled"
        case .released: return "released"
        }
    }
}
