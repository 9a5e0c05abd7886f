import Synchronization

/// One claim of a job: the attempt number the claim gave it is the fencing token. The same job can
/// be held twice by one worker (a rescued job re-claimed while the old call still runs), so
/// everything the worker keeps about a job is keyed by both (issue 22, F1): the old run's end must
/// not remove, stop or stop heartbeating the new one.
struct AttemptKey: Hashable, Sendable, Comparable {
    var id: Int64
    var attempt: Int

    static func < (lhs: AttemptKey, rhs: AttemptKey) -> Bool { (lhs.id, lhs.attempt) < (rhs.id, rhs.attempt) }
}

extension ClaimedJob {
    var key: AttemptKey { AttemptKey(id: id, attempt: attempt) }
}

/// The runners' handles, by attempt; a cancel (which names only the job) reaches every attempt
/// of that job this worker runs.
final class HeldJobs: Sendable {
    private let handles = Mutex<[Int64: [Int: JobHandle]]>([:])
    private let total = Atomic<Int>(0)

    /// Returns how many are held now.
    func insert(_ key: AttemptKey, _ handle: JobHandle) -> Int {
        handles.withLock { $0[key.id, default: [:]][key.attempt] = handle }
        return total.add(1, ordering: .relaxed).newValue
    }

    /// Removes this attempt's handle only; returns how many are held now.
    func remove(_ key: AttemptKey) -> Int {
        let removed = handles.withLock { handles -> Bool in
            guard handles[key.id]?.removeValue(forKey: key.attempt) != nil else { return false }
            if handles[key.id]?.isEmpty == true { handles.removeValue(forKey: key.id) }
            return true
        }
        return removed ? total.subtract(1, ordering: .relaxed).newValue : count
    }

    func handles(forJob id: Int64) -> [JobHandle] { handles.withLock { $0[id].map { Array($0.values) } ?? [] } }
    func handle(_ key: AttemptKey) -> JobHandle? { handles.withLock { $0[key.id]?[key.attempt] } }
    var all: [JobHandle] { handles.withLock { $0.values.flatMap(\.values) } }
    var count: Int { total.load(ordering: .relaxed) }
}

/// Attempts claimed and not yet completed (held by a runner or waiting for the completer): the
/// ones the heartbeat extends.
final class LeasedJobs: Sendable {
    private let keys = Mutex<Set<AttemptKey>>([])

    func insert(_ key: AttemptKey) { _ = keys.withLock { $0.insert(key) } }
    func remove(_ removed: [AttemptKey]) { keys.withLock { keys in for key in removed { keys.remove(key) } } }
    var all: [AttemptKey] { keys.withLock { Array($0) } }
}
