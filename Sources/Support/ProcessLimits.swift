import Foundation

/// Process-wide settings a process holding thousands of connections needs. Executables call
/// `prepareForManyConnections()` first thing in `main`.
public enum ProcessLimits {
    /// Ignores SIGPIPE (libcurl with OpenSSL and `CURLOPT_NOSIGNAL` can otherwise be killed by a
    /// write to a connection the peer closed; curl's documentation asks multi-threaded programs
    /// to ignore it) and raises the open-file limit to its hard maximum (the default soft limit of
    /// 1,024 is fewer than 2,000 connections). Returns the open-file limit now in force.
    @discardableResult
    public static func prepareForManyConnections() -> Int {
        signal(SIGPIPE, SIG_IGN)
        #if os(Linux)
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        #else
        let resource = RLIMIT_NOFILE
        #endif
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return -1 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(resource, &raised) == 0 { limit = raised }
        }
        return Int(clamping: limit.rlim_cur)
    }
}
