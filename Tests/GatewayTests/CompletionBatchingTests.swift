import Foundation
import Postgres
import Testing

/// The completer batches outcomes for `completionDelay` only while other jobs are running that
/// could join the batch; an idle worker's lone job is written at once (the /v1 facade's latency).
/// The delay is set far longer than the checks wait, so the behaviour shows without timing margins.
@Suite("Gateway: completion batching")
struct CompletionBatchingTests {
    @Test("A lone job's outcome is written at once, not after the batching delay")
    func loneJobIsNotHeldBack() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("gpt-lone", provider: "openai")
            let agent = try await h.addAgent("lone", model: "gpt-lone")
            var configuration = h.configuration()
            configuration.completionDelay = .seconds(30)
            try await h.withWorker(configuration) { _ in
                let job = try await h.enqueue(agent: agent)
                // Well under the 30 s delay: only an immediate write gets here in time.
                try await h.waitUntil(seconds: 10, "lone job written") { try await h.job(job).status == "succeeded" }
            }
        }
    }

    @Test("An outcome waits for the batching delay while another job is still running")
    func outcomeWaitsWhileOthersRun() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("gpt-fast", provider: "openai")
            try await h.addModel("stub-slow-latency-5s", provider: "openai")
            let fast = try await h.addAgent("fast", model: "gpt-fast")
            let slow = try await h.addAgent("slow", model: "stub-slow-latency-5s")
            var configuration = h.configuration()
            configuration.completionDelay = .seconds(8)
            try await h.withWorker(configuration) { _ in
                let slowJob = try await h.enqueue(agent: slow)
                try await h.waitUntil(seconds: 10, "slow call started") { h.stats().inFlight == 1 }
                let fastJob = try await h.enqueue(agent: fast)
                try await h.waitUntil(seconds: 10, "fast call answered") { h.stats().requests(model: "gpt-fast") == 1 }
                // The fast call is answered, but the slow one (5 s) is still running: the fast outcome
                // waits in the batch (8 s) rather than being written alone. Proven below by both rows
                // sharing one finished_at (one transaction), not by sampling the status after a sleep.
                try await h.waitUntil(seconds: 30, "both written") {
                    let fastStatus = try await h.job(fastJob).status
                    let slowStatus = try await h.job(slowJob).status
                    return fastStatus == "succeeded" && slowStatus == "succeeded"
                }
                // Written together, in one batch.
                #expect(try await h.count("""
                    SELECT count(DISTINCT finished_at) FROM llm_jobs WHERE id IN (\(fastJob), \(slowJob))
                    """) == 1)
            }
        }
    }
}
