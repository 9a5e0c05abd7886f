import Foundation
import Support
import Synchronization

/// Counts consecutive transient failures per model across this worker's jobs. When a model fails
/// `threshold` times in a row within `window`, it is cooled down: the tracker reports it once,
/// and the worker writes the shared `llm_model_cooldowns` row (every worker then skips it).
final class CooldownTracker: Sendable {
    private struct Streak {
        var count = 0
        var firstAt = Date.distantPast
    }

    private let threshold: Int
    private let window: TimeInterval
    private let streaks = Mutex<[CooldownKey: Streak]>([:])

    init(threshold: Int, window: Duration) {
        self.threshold = threshold
        self.window = window.seconds
    }

    func recordSuccess(_ key: CooldownKey) {
        streaks.withLock { _ = $0.removeValue(forKey: key) }
    }

    /// Returns true when this failure completes a streak that should cool the model down.
    func recordTransientFailure(_ key: CooldownKey, at now: Date = Date()) -> Bool {
        streaks.withLock { streaks in
            var streak = streaks[key] ?? Streak()
            if streak.count == 0 || now.timeIntervalSince(streak.firstAt) > window {
                streak = Streak(count: 0, firstAt: now)
            }
            streak.count += 1
            if streak.count >= threshold {
                streaks.removeValue(forKey: key)
                return true
            }
            streaks[key] = streak
            return false
        }
    }
}
