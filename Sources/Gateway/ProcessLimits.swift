#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Process settings a worker with thousands of calls in flight needs.
public enum ProcessLimits {
    /// Raises the open-file soft limit to the hard limit (every call in flight holds a socket;
    /// common soft limits are 1,024) and ignores SIGPIPE (libcurl with OpenSSL and NOSIGNAL in a
    /// multi-threaded program must not die on a peer's reset). Returns the soft limit in force.
    @discardableResult
    public static func prepare() -> Int {
        signal(SIGPIPE, SIG_IGN)
        #if os(Linux)
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        #else
        let resource = RLIMIT_NOFILE
        #endif
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return -1 }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(resource, &limit)
            _ = getrlimit(resource, &limit)
        }
        return Int(clamping: limit.rlim_cur)
    }
}
