extension ModelConfiguration {
    /// The agent's first-token deadline for streamed calls, when it sets one the API would accept.
    public var streamFirstTokenDeadline: Duration? { Self.streamDeadline(streamFirstTokenSeconds) }

    /// The agent's longest gap between tokens for streamed calls, when it sets one the API would accept.
    public var streamStallDeadline: Duration? { Self.streamDeadline(streamStallSeconds) }

    /// Only what the validator accepts becomes a deadline: a value written by SQL past the API's
    /// check (NaN, 1e300, negative) leaves the gateway's own deadline in force instead of trapping
    /// in the conversion to a duration.
    private static func streamDeadline(_ seconds: Double?) -> Duration? {
        guard let seconds, ModelConfigurationValidator.acceptsStreamDeadline(seconds) else { return nil }
        return .seconds(seconds)
    }
}
