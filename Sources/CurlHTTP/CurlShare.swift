import CCurl
import Foundation
import Synchronization

/// A curl share handle holding the TLS session cache and the DNS cache for every easy handle of
/// one client, so a new connection to a host we have spoken to resumes its TLS session instead of
/// doing a full handshake. (Connections themselves are cached by the multi handle, which all
/// transfers go through.) Easy handles are configured on callers' threads while the loop thread
/// uses the caches, so curl's lock callbacks guard them with one mutex per kind of data.
final class CurlShare: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer
    private let locks: UnsafeMutablePointer<pthread_mutex_t>
    private static let lockCount = Int(CURL_LOCK_DATA_LAST.rawValue) + 1

    init() throws {
        guard let handle = curl_share_init() else {
            throw CurlHTTPError.transfer(code: -1, message: "curl_share_init failed")
        }
        self.handle = handle
        locks = .allocate(capacity: Self.lockCount)
        for index in 0..<Self.lockCount { pthread_mutex_init(locks + index, nil) }
        sb_curl_share_setopt_pointer(handle, CURLSHOPT_USERDATA, locks)
        sb_curl_share_setopt_lock_function(handle, curlShareLock)
        sb_curl_share_setopt_unlock_function(handle, curlShareUnlock)
        sb_curl_share_setopt_long(handle, CURLSHOPT_SHARE, Int(CURL_LOCK_DATA_SSL_SESSION.rawValue))
        sb_curl_share_setopt_long(handle, CURLSHOPT_SHARE, Int(CURL_LOCK_DATA_DNS.rawValue))
    }

    /// Runs after every easy handle using the share is gone (each holds a reference to it).
    deinit {
        curl_share_cleanup(handle)
        for index in 0..<Self.lockCount { pthread_mutex_destroy(locks + index) }
        locks.deallocate()
    }
}

private let curlShareLock: curl_lock_function = { _, data, _, context in
    guard let context else { return }
    let locks = context.assumingMemoryBound(to: pthread_mutex_t.self)
    pthread_mutex_lock(locks + Int(data.rawValue))
}

private let curlShareUnlock: curl_unlock_function = { _, data, context in
    guard let context else { return }
    let locks = context.assumingMemoryBound(to: pthread_mutex_t.self)
    pthread_mutex_unlock(locks + Int(data.rawValue))
}

/// A curl easy handle passed between threads: one owner at a time (a transfer, or the pool).
struct EasyHandle: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
}

/// Easy handles kept for reuse: `curl_easy_reset` is much cheaper than a fresh handle, and a
/// reused handle keeps its ties to the share. Taken on callers' threads, returned by the loop.
final class EasyHandlePool: Sendable {
    let share: CurlShare
    private let idle = Mutex<[EasyHandle]>([])
    private static let limit = 1024

    init(share: CurlShare) { self.share = share }

    /// A reset handle attached to the share, ready to configure.
    func take() throws -> EasyHandle {
        if let handle = idle.withLock({ $0.popLast() }) {
            curl_easy_reset(handle.pointer)
            return handle
        }
        guard let pointer = curl_easy_init() else {
            throw CurlHTTPError.transfer(code: -1, message: "curl_easy_init failed")
        }
        // The share survives curl_easy_reset, so this is set once per handle.
        sb_curl_easy_setopt_share(pointer, share.handle)
        return EasyHandle(pointer: pointer)
    }

    func put(_ handle: EasyHandle) {
        let kept = idle.withLock { idle -> Bool in
            guard idle.count < Self.limit else { return false }
            idle.append(handle)
            return true
        }
        if !kept { curl_easy_cleanup(handle.pointer) }
    }

    /// Frees every idle handle (the client is shutting down).
    func drain() {
        for handle in idle.withLock({ idle in defer { idle.removeAll() }; return idle }) {
            curl_easy_cleanup(handle.pointer)
        }
    }
}
