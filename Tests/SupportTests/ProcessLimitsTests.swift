import Support
import Foundation
import Testing

@Suite struct ProcessLimitsTests {
    @Test func sigpipeIsIgnoredAndTheFileLimitIsRaised() {
        let limit = ProcessLimits.prepareForManyConnections()
        #if os(Linux)
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        #else
        let resource = RLIMIT_NOFILE
        #endif
        var current = rlimit()
        #expect(getrlimit(resource, &current) == 0)
        #expect(current.rlim_cur == current.rlim_max)
        #expect(limit == Int(clamping: current.rlim_cur))
        var action = sigaction()
        #expect(sigaction(SIGPIPE, nil, &action) == 0)
        #expect(unsafeBitCast(action.__sigaction_handler.sa_handler, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self))
    }
}
