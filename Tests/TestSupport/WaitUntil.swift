import Testing

/// Waits for a condition instead of sleeping and hoping: polls `condition` every 20 ms and fails
/// the test (recording where it waited) once `seconds` have passed, instead of hanging.
public func waitUntil(
    seconds: Double = 20, _ what: String = "condition",
    sourceLocation: SourceLocation = #_sourceLocation, _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("timed out waiting: \(what) (\(seconds) s)", sourceLocation: sourceLocation)
    throw CancellationError()
}
