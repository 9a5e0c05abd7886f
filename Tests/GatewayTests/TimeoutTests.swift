import Foundation
@testable import Gateway
import Postgres
import TestSupport
import Testing

/// F4 (issue 22): a call that timed out after its request was sent is probably billed: it is not
/// sent to the same model again, and its usage row says the amount is unknown.
@Suite("Gateway: timeouts")
struct TimeoutTests {
    @Test("F4: a timeout after the request was sent goes to the next model at once, flagged billed_unknown")
    func timeoutAfterSendMovesOn() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("stub-slow-latency-4s", provider: "openai")
            try await h.addModel("gpt-quick", provider: "openai")
            let agent = try await h.addAgent("impatient", model: "stub-slow-latency-4s", fallbacks: ["gpt-quick"])
            var configuration = h.configuration()
            configuration.callTimeout = .milliseconds(800)
            try await h.withWorker(configuration) { _ in
                let id = try await h.enqueue(agent: agent)
                try await h.waitForAllJobs(seconds: 30)
                let row = try await h.job(id)
                #expect(row.status == "succeeded")
                #expect(row.result?["model"]?.string == "gpt-quick")
                // One call, not one plus the same-model retries (each likely billed).
                #expect(h.stats().requests(model: "stub-slow-latency-4s") == 1)
                #expect(try await h.count("""
                    SELECT count(*) FROM model_usage
                     WHERE job_id = \(id) AND model_id = 'stub-slow-latency-4s' AND error_class = 'timeout' AND billed_unknown
                    """) == 1)
                #expect(try await h.count("SELECT count(*) FROM model_usage WHERE job_id = \(id) AND NOT billed_unknown") == 1)
            }
        }
    }
}
