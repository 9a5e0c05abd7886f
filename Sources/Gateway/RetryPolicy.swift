import Providers

/// What the runner does after a failed call. The decision per error class lives in one place,
/// `ProviderErrorClass.gatewayAction`; this only names it in the runner's terms.
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
        switch error.gatewayAction {
        case .retry: return .retrySameModel
        case .nextModel: return .nextModel
        // Only a request the provider clearly called invalid fails the job; an unknown 4xx
        // moves on to the next model (F11).
        case .failJob: return error.isUnrecognisedClientError ? .nextModel : .failJob
        // A call cancelled without the runner having stopped it (the HTTP client shutting down
        // under it): nothing is wrong with the model or the request, so it counts as transient.
        case .release: return .retrySameModel
        }
    }
}
