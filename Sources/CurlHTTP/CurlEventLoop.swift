import CCurl
import Foundation
import Synchronization

/// Owns the multi handle and the thread that drives it with `curl_multi_socket_action` over an
/// epoll set: each wakeup touches only the sockets that are ready (or the one timer that is due),
/// so its cost does not grow with the number of transfers in flight.
///
/// Other threads only append to the mutex-protected inbox and, when no wakeup is pending yet,
/// write to an eventfd: a burst of requests costs one wakeup, not one per request.
final class CurlEventLoop: @unchecked Sendable {
    private struct Inbox {
        var additions: [CurlTransfer] = []
        var cancellations: [CurlTransfer] = []
        /// Streaming uploads that paused for want of data and now have some.
        var unpauses: [CurlTransfer] = []
        var isShutdown = false
        /// Resumed once the loop thread has released every curl handle.
        var stopWaiters: [CheckedContinuation<Void, Never>] = []
        var hasStopped = false
    }

    let share: CurlShare
    let handles: EasyHandlePool
    private let inbox = Mutex(Inbox())
    private let wakePending = Atomic<Bool>(false)
    private let wakeups = Atomic<UInt64>(0)
    private let eventDescriptor: Int32
    private let epollDescriptor: Int32

    // Loop thread only.
    private let multi: UnsafeMutableRawPointer
    private var active: [UnsafeMutableRawPointer: CurlTransfer] = [:]
    /// When curl wants `CURL_SOCKET_TIMEOUT`, in monotonic nanoseconds; `nil`: no timer.
    private var timerDeadline: UInt64?

    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_ALL)) }()
    private static let eventTag = UInt64.max

    init() throws {
        _ = Self.globalInit
        let eventDescriptor = sb_eventfd_create()
        let epollDescriptor = sb_epoll_create()
        guard eventDescriptor >= 0, epollDescriptor >= 0,
              sb_epoll_set(epollDescriptor, Int32(SB_EPOLL_CTL_ADD), eventDescriptor, UInt32(SB_EPOLLIN), Self.eventTag) == 0,
              let multi = curl_multi_init()
        else {
            if eventDescriptor >= 0 { close(eventDescriptor) }
            if epollDescriptor >= 0 { close(epollDescriptor) }
            throw CurlHTTPError.transfer(code: -1, message: "could not set up the event loop (eventfd, epoll or curl_multi_init failed)")
        }
        self.eventDescriptor = eventDescriptor
        self.epollDescriptor = epollDescriptor
        self.multi = multi
        let share = try CurlShare()
        self.share = share
        self.handles = EasyHandlePool(share: share)
        // Keep plenty of idle connections so bursts to one provider reuse them.
        sb_curl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, 4096)
        let context = Unmanaged.passUnretained(self).toOpaque()
        sb_curl_multi_setopt_socket_function(multi, curlSocketCallback)
        sb_curl_multi_setopt_pointer(multi, CURLMOPT_SOCKETDATA, context)
        sb_curl_multi_setopt_timer_function(multi, curlTimerCallback)
        sb_curl_multi_setopt_pointer(multi, CURLMOPT_TIMERDATA, context)
        // The thread holds the loop until it has cleaned up, so callbacks never outlive it.
        let thread = Thread { [self] in run() }
        thread.name = "curl-event-loop"
        thread.start()
    }

    /// The descriptors are closed only when nobody can write to them any more.
    deinit {
        close(eventDescriptor)
        close(epollDescriptor)
    }

    /// How many times the loop thread has woken up (socket events, timers, inbox).
    var wakeupCount: UInt64 { wakeups.load(ordering: .relaxed) }

    func enqueue(_ transfer: CurlTransfer) {
        let accepted = inbox.withLock { inbox -> Bool in
            guard !inbox.isShutdown else { return false }
            inbox.additions.append(transfer)
            return true
        }
        if accepted { wake() } else { transfer.fail(CurlHTTPError.shutdown) }
    }

    func cancel(_ transfer: CurlTransfer) {
        let accepted = inbox.withLock { inbox -> Bool in
            guard !inbox.isShutdown else { return false }
            inbox.cancellations.append(transfer)
            return true
        }
        if accepted { wake() }
    }

    /// Resumes a streaming upload that paused (its read callback had nothing to send).
    func unpause(_ transfer: CurlTransfer) {
        let accepted = inbox.withLock { inbox -> Bool in
            guard !inbox.isShutdown else { return false }
            inbox.unpauses.append(transfer)
            return true
        }
        if accepted { wake() }
    }

    /// Asks the loop to fail every transfer with `.shutdown` and release its handles; returns at
    /// once (never blocks the caller's thread).
    func shutdown() {
        let first = inbox.withLock { inbox -> Bool in
            defer { inbox.isShutdown = true }
            return !inbox.isShutdown
        }
        if first { sb_eventfd_signal(eventDescriptor) }
    }

    /// Returns once the loop thread has finished (after `shutdown()`).
    func waitUntilStopped() async {
        await withCheckedContinuation { continuation in
            let stopped = inbox.withLock { inbox -> Bool in
                if inbox.hasStopped { return true }
                inbox.stopWaiters.append(continuation)
                return false
            }
            if stopped { continuation.resume() }
        }
    }

    private func wake() {
        if !wakePending.exchange(true, ordering: .acquiringAndReleasing) {
            sb_eventfd_signal(eventDescriptor)
        }
    }

    // MARK: - Loop thread

    private func run() {
        let capacity = 256
        let tags = UnsafeMutablePointer<UInt64>.allocate(capacity: capacity)
        let events = UnsafeMutablePointer<UInt32>.allocate(capacity: capacity)
        defer {
            tags.deallocate()
            events.deallocate()
        }
        var running: Int32 = 0
        while true {
            let count = sb_epoll_wait(epollDescriptor, tags, events, Int32(capacity), epollTimeout())
            wakeups.add(1, ordering: .relaxed)
            if count < 0 && errno != EINTR { break }
            var inboxSignalled = false
            for index in 0..<Int(max(count, 0)) {
                if tags[index] == Self.eventTag {
                    inboxSignalled = true
                    continue
                }
                let flags = events[index]
                var action: Int32 = 0
                if flags & UInt32(SB_EPOLLIN) != 0 { action |= CURL_CSELECT_IN }
                if flags & UInt32(SB_EPOLLOUT) != 0 { action |= CURL_CSELECT_OUT }
                if flags & UInt32(SB_EPOLLERR | SB_EPOLLHUP) != 0 { action |= CURL_CSELECT_ERR }
                curl_multi_socket_action(multi, curl_socket_t(truncatingIfNeeded: tags[index]), action, &running)
            }
            if inboxSignalled {
                sb_eventfd_drain(eventDescriptor)
                // Cleared before the inbox is read: a request queued after this point wakes us again.
                wakePending.store(false, ordering: .sequentiallyConsistent)
                if !processInbox() { break }
            }
            if let deadline = timerDeadline, deadline <= monotonicNanoseconds() {
                timerDeadline = nil
                curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running)
            }
            collectFinished()
        }
        stop()
    }

    /// Milliseconds until curl's timer is due (rounded up), -1 without a timer.
    private func epollTimeout() -> Int32 {
        guard let deadline = timerDeadline else { return -1 }
        let now = monotonicNanoseconds()
        guard deadline > now else { return 0 }
        return Int32(min((deadline - now + 999_999) / 1_000_000, 60_000))
    }

    /// Adds and cancels what other threads queued; false once shut down.
    private func processInbox() -> Bool {
        let (additions, cancellations, unpauses, isShutdown) = inbox.withLock { inbox in
            defer {
                inbox.additions.removeAll(keepingCapacity: true)
                inbox.cancellations.removeAll()
                inbox.unpauses.removeAll()
            }
            return (inbox.additions, inbox.cancellations, inbox.unpauses, inbox.isShutdown)
        }
        if isShutdown {
            for transfer in additions { transfer.fail(CurlHTTPError.shutdown) }
            return false
        }
        for transfer in additions {
            // The cancel flag is set before a cancellation is queued, so a transfer whose task
            // was cancelled before it reached us is caught here.
            if transfer.cancelled.load(ordering: .sequentiallyConsistent) {
                transfer.fail(CancellationError())
                continue
            }
            guard let easy = transfer.easy else { continue }
            let code = curl_multi_add_handle(multi, easy)
            if code == CURLM_OK {
                active[easy] = transfer
            } else {
                transfer.fail(CurlHTTPError.transfer(code: Int(code.rawValue), message: String(cString: curl_multi_strerror(code))))
            }
        }
        for transfer in unpauses {
            // curl asks for the body again (and expires its timer so the loop drives it at once).
            guard let easy = transfer.easy, active[easy] != nil else { continue }
            sb_curl_easy_unpause(easy)
        }
        for transfer in cancellations {
            guard let easy = transfer.easy, active.removeValue(forKey: easy) != nil else { continue }
            curl_multi_remove_handle(multi, easy)
            transfer.fail(CancellationError())
            recycle(transfer)
        }
        return true
    }

    private func collectFinished() {
        var remaining: Int32 = 0
        while let message = curl_multi_info_read(multi, &remaining) {
            guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
            let code = sb_curl_msg_result(message)
            curl_multi_remove_handle(multi, easy)
            if let transfer = active.removeValue(forKey: easy) {
                transfer.finish(code: code)
                recycle(transfer)
            }
        }
    }

    /// A finished transfer's easy handle goes back to the pool (keeping its TLS session and
    /// connection ties) for the next request.
    private func recycle(_ transfer: CurlTransfer) {
        if let easy = transfer.detachHandle() { handles.put(easy) }
    }

    /// Fails everything still in flight and releases every curl handle, then wakes those
    /// waiting for the stop. Runs once, on the loop thread, as it exits.
    private func stop() {
        for (easy, transfer) in active {
            curl_multi_remove_handle(multi, easy)
            transfer.fail(CurlHTTPError.shutdown)
            recycle(transfer)
        }
        active.removeAll()
        // Cleanup closes the cached connections: no more epoll bookkeeping for them.
        sb_curl_multi_setopt_socket_function(multi, nil)
        curl_multi_cleanup(multi)
        handles.drain()
        let waiters = inbox.withLock { inbox in
            inbox.isShutdown = true
            inbox.hasStopped = true
            defer { inbox.stopWaiters.removeAll() }
            return inbox.stopWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    // Called by curl from inside `curl_multi_socket_action`, on the loop thread.

    fileprivate func updateSocket(_ socket: curl_socket_t, what: Int32, known: Bool) {
        if what == CURL_POLL_REMOVE {
            _ = sb_epoll_set(epollDescriptor, Int32(SB_EPOLL_CTL_DEL), socket, 0, 0)
            curl_multi_assign(multi, socket, nil)
            return
        }
        var events: UInt32 = 0
        if what & CURL_POLL_IN != 0 { events |= UInt32(SB_EPOLLIN) }
        if what & CURL_POLL_OUT != 0 { events |= UInt32(SB_EPOLLOUT) }
        let tag = UInt64(UInt32(bitPattern: socket))
        if known {
            _ = sb_epoll_set(epollDescriptor, Int32(SB_EPOLL_CTL_MOD), socket, events, tag)
        } else {
            if sb_epoll_set(epollDescriptor, Int32(SB_EPOLL_CTL_ADD), socket, events, tag) != 0 {
                _ = sb_epoll_set(epollDescriptor, Int32(SB_EPOLL_CTL_MOD), socket, events, tag)
            }
            // Any non-NULL pointer marks the socket as registered for the next callback.
            curl_multi_assign(multi, socket, UnsafeMutableRawPointer(bitPattern: 1))
        }
    }

    fileprivate func setTimer(milliseconds: Int) {
        timerDeadline = milliseconds < 0 ? nil : monotonicNanoseconds() + UInt64(milliseconds) * 1_000_000
    }
}

private func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

private let curlSocketCallback: curl_socket_callback = { _, socket, what, context, socketContext in
    guard let context else { return 0 }
    Unmanaged<CurlEventLoop>.fromOpaque(context).takeUnretainedValue()
        .updateSocket(socket, what: what, known: socketContext != nil)
    return 0
}

private let curlTimerCallback: curl_multi_timer_callback = { _, milliseconds, context in
    guard let context else { return 0 }
    Unmanaged<CurlEventLoop>.fromOpaque(context).takeUnretainedValue().setTimer(milliseconds: milliseconds)
    return 0
}
