import Foundation
import Support
import Synchronization

/// Counts consecutive transient failures per model across this worker's jobs. When a model fails
/// `threshold` times in a row, it is cooled down: the tracker reports it once, and the worker
/// writes the shared `llm_model_cooldowns` row (every worker then skips it).
///
/// "In a row" means no success in between and no pause: each failed call must have *started*
/// within `window` of the streak's previous failure. Anchoring on the call's start, not on the
/// streak's first failure, is what lets sequential timeouts trip it (F10: three 60-s timeouts
/// back to back span 180 s, more than any window measured from the first). The clock is the
/// monotonic one: a wall-clock step cannot start or break a streak.
final class CooldownTracker: Sendable {
    private struct Streak {
        var count = 0
        var lastFailureAt: ContinuousClock.Instant
    }

    private let threshold: Int
    private let window: Duration
    private let streaks = Mutex<[CooldownKey: Streak]>([:])

    init(threshold: Int, window: Duration) {
        self.threshold = threshold
        self.window = window
    }

    func recordSuccess(_ key: CooldownKey) {
        streaks.withLock { _ = $0.removeValue(forKey: key) }
    }

    /// Records a transient failure of a call to `key` that started at `callStarted` and failed at
    /// `now`. Returns true when it completes a streak that should cool the model down.
    func recordTransientFailure(
        _ key: CooldownKey, callStarted: ContinuousClock.Instant, at now: ContinuousClock.Instant = .now
    ) -> Bool {
        streaks.withLock { streaks in
            var streak = streaks[key] ?? Streak(count: 0, lastFailureAt: now)
            if streak.count == 0 || callStarted > streak.lastFailureAt + window {
                streak = Streak(count: 0, lastFailureAt: now)
            }
            streak.count += 1
            streak.lastFailureAt = max(streak.lastFailureAt, now)
            if streak.count >= threshold {
                streaks.removeValue(forKey: key)
                return true
            }
            streaks[key] = streak
            return false
        }
    }
}
