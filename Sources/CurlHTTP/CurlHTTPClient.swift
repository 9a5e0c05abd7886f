import CCurl
import Foundation
import Synchronization

/// An HTTP client over libcurl's multi interface: one dedicated thread drives every transfer, so
/// thousands of concurrent requests cost no threads, and the multi handle's connection cache
/// reuses connections across requests.
public final class CurlHTTPClient: Sendable {
    private let loop: CurlEventLoop

    public init() throws {
        loop = try CurlEventLoop()
    }

    deinit { loop.shutdown() }

    /// Sends a request and returns the complete response, whatever its status.
    /// Throws `CurlHTTPError` when no complete response arrived, `CancellationError` when the
    /// calling task is cancelled.
    public func send(_ request: CurlHTTPRequest) async throws -> CurlHTTPResponse {
        let transfer = try CurlTransfer(request: request)
        try Task.checkCancellation()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                transfer.continuation = continuation
                loop.enqueue(transfer)
            }
        } onCancel: {
            transfer.cancelled.store(true, ordering: .sequentiallyConsistent)
            loop.cancel(transfer)
        }
    }

    /// Fails every pending and in-flight request with `.shutdown` and stops the event-loop thread.
    public func shutdown() { loop.shutdown() }
}

/// Owns the multi handle and the thread that drives it. Other threads only append to the
/// mutex-protected inboxes and call `curl_multi_wakeup`, which libcurl documents as thread-safe.
final class CurlEventLoop: @unchecked Sendable {
    private struct Inbox {
        var additions: [CurlTransfer] = []
        var cancellations: [CurlTransfer] = []
        var isShutdown = false
    }

    private let multi: UnsafeMutableRawPointer
    private let inbox = Mutex(Inbox())
    private let stopped = DispatchSemaphore(value: 0)
    /// Transfers added to the multi handle, by easy handle. Loop thread only.
    private var active: [UnsafeMutableRawPointer: CurlTransfer] = [:]

    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_ALL)) }()

    init() throws {
        _ = Self.globalInit
        guard let multi = curl_multi_init() else {
            throw CurlHTTPError.transfer(code: -1, message: "curl_multi_init failed")
        }
        self.multi = multi
        // Keep plenty of idle connections so bursts to one provider reuse them.
        sb_curl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, 4096)
        let thread = Thread { [self] in run() }
        thread.name = "curl-event-loop"
        thread.start()
    }

    func enqueue(_ transfer: CurlTransfer) {
        let accepted = inbox.withLock { inbox -> Bool in
            guard !inbox.isShutdown else { return false }
            inbox.additions.append(transfer)
            return true
        }
        if accepted { curl_multi_wakeup(multi) } else { transfer.fail(CurlHTTPError.shutdown) }
    }

    func cancel(_ transfer: CurlTransfer) {
        let accepted = inbox.withLock { inbox -> Bool in
            guard !inbox.isShutdown else { return false }
            inbox.cancellations.append(transfer)
            return true
        }
        if accepted { curl_multi_wakeup(multi) }
    }

    /// The multi handle lives as long as this object, so a wakeup racing shutdown never touches
    /// freed memory; the loop thread holds a reference until it has finished.
    deinit { curl_multi_cleanup(multi) }

    func shutdown() {
        let first = inbox.withLock { inbox -> Bool in
            defer { inbox.isShutdown = true }
            return !inbox.isShutdown
        }
        guard first else { return }
        curl_multi_wakeup(multi)
        stopped.wait()
    }

    private func run() {
        while true {
            let (additions, cancellations, isShutdown) = inbox.withLock { inbox in
                defer { inbox.additions.removeAll(); inbox.cancellations.removeAll() }
                return (inbox.additions, inbox.cancellations, inbox.isShutdown)
            }
            if isShutdown {
                for transfer in additions { transfer.fail(CurlHTTPError.shutdown) }
                for transfer in active.values {
                    curl_multi_remove_handle(multi, transfer.easy)
                    transfer.fail(CurlHTTPError.shutdown)
                }
                active.removeAll()
                stopped.signal()
                return
            }
            for transfer in additions {
                // The cancel flag is set before a cancellation is queued, so a transfer whose task
                // was cancelled before it reached us is caught here.
                if transfer.cancelled.load(ordering: .sequentiallyConsistent) {
                    transfer.fail(CancellationError())
                    continue
                }
                let code = curl_multi_add_handle(multi, transfer.easy)
                if code == CURLM_OK {
                    active[transfer.easy] = transfer
                } else {
                    transfer.fail(CurlHTTPError.transfer(code: Int(code.rawValue), message: String(cString: curl_multi_strerror(code))))
                }
            }
            for transfer in cancellations where active.removeValue(forKey: transfer.easy) != nil {
                curl_multi_remove_handle(multi, transfer.easy)
                transfer.fail(CancellationError())
            }

            var running: Int32 = 0
            curl_multi_perform(multi, &running)
            var remaining: Int32 = 0
            while let message = curl_multi_info_read(multi, &remaining) {
                guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
                let code = sb_curl_msg_result(message)
                curl_multi_remove_handle(multi, easy)
                active.removeValue(forKey: easy)?.finish(code: code)
            }
            // Sleeps until a socket is ready, a curl timer fires or another thread wakes us.
            curl_multi_poll(multi, nil, 0, 1000, nil)
        }
    }
}
