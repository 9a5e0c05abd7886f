import Providers

/// What the runner does after a failed call. The one place the gateway maps provider error classes
/// to actions (when Providers gains a per-class `gatewayAction`, this becomes a one-line switch).
enum FailureAction: Sendable, Equatable {
    /// Retry the same model after a backoff (honouring Retry-After), then move on.
    case retrySameModel
    /// Try the next model of the chain at once (auth, unknown model, quota, context, parameters).
    case nextModel
    /// The request is invalid for every model: fail the job, no fallback.
    case failJob
}

enum RetryPolicy {
    static func action(for error: ProviderError) -> FailureAction {
        if error.isRetryable { return .retrySameModel }
        return error.allowsFallback ? .nextModel : .failJob
    }
}
