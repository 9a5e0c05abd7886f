import Synchronization

/// A coalescing wake-up for one waiting task: `signal()` before `wait` makes the next wait return
/// at once, so no wake-up is lost; many signals while nobody waits count as one. The gateway's
/// claimer and completer wait on one, and so does each long-poll of the registry's job hub.
public final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
        var waiterID = 0
    }

    private let state = Mutex(State())

    public init() {}

    public func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.pending = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns on a signal, after `timeout`, or when the task is cancelled.
    public func wait(timeout: Duration) async {
        await wait(until: .now + timeout)
    }

    /// Returns on a signal, at `deadline`, or when the task is cancelled.
    public func wait(until deadline: ContinuousClock.Instant) async {
        if state.withLock({ state in
            defer { state.pending = false }
            return state.pending
        }) { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForSignal() }
            group.addTask { try? await Task.sleep(until: deadline, clock: .continuous) }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForSignal() async {
        let id = state.withLock { state -> Int in
            state.waiterID += 1
            return state.waiterID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.pending {
                        state.pending = false
                        return true
                    }
                    if Task.isCancelled || state.waiterID != id { return true }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                guard state.waiterID == id else { return nil }
                state.waiterID += 1  // a continuation stored after this point resumes at once
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }
}
