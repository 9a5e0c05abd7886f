import Testing

@testable import ProviderStub

/// Model ids are the stub's fault-injection language: a directive added later must not change
/// what an existing name means (the fault tests' `stub-cut-latency-2s` lost its latency when
/// `cut-N` became a streaming directive).
@Suite struct StubBehaviorTests {
    @Test func aStreamFaultTakesOnlyAnIntegerCount() {
        let named = StubBehavior(model: "stub-cut-latency-2s")
        #expect(named.latency == .seconds(2))
        #expect(named.streamFault == nil)
        let counted = StubBehavior(model: "stub-cut-3-latency-2s")
        #expect(counted.streamFault == StubStreamFault(kind: .cut, afterTokens: 3))
        #expect(counted.latency == .seconds(2))
        #expect(StubBehavior(model: "stub-stall-0").streamFault == StubStreamFault(kind: .stall, afterTokens: 0))
    }
}
