import Foundation
@testable import Gateway
import Postgres
import TestSupport
import Testing

/// F7 (issue 22): a provider's Retry-After moves the requeue (without spending an attempt) and
/// cools the model down for every worker until then.
@Suite("Gateway: Retry-After")
struct RetryAfterTests {
    @Test("F7: 429 with Retry-After 60 and no fallback: the job waits without spending its attempts and nobody calls the model meanwhile")
    func retryAfterMovesTheRequeue() async throws {
        try await GatewayHarness.run { h in
            let model = "stub-error-429-after-60"
            try await h.addModel(model, provider: "openai")
            let agent = try await h.addAgent("limited", model: model)
            try await h.withWorker { _ in
                let first = try await h.enqueue(agent: agent, maxAttempts: 3)
                try await h.waitUntil(seconds: 30, "the job waits, or fails") {
                    try await h.count("""
                        SELECT count(*) FROM llm_jobs
                         WHERE id = \(first) AND (status = 'failed' OR (status = 'queued' AND run_at > now() + interval '30 seconds'))
                        """) == 1
                }
                let row = try await h.job(first)
                #expect(row.status == "queued")
                #expect(row.attempt == 0)  // the wait spent no attempt
                #expect(row.error?["code"]?.string == "rate_limited")
                #expect(h.stats().requests(model: model) == 1)
                // Every worker skips the model until the provider's time is up. The shared row is
                // written beside the job's outcome, not in its transaction: wait for it.
                try await h.waitUntil(seconds: 30, "the shared cooldown row") {
                    try await h.count("""
                        SELECT count(*) FROM llm_model_cooldowns
                         WHERE model_id = \(model) AND until > now() + interval '30 seconds'
                        """) == 1
                }
                // Another job for the model does not call it either: it waits for the cooldown.
                let second = try await h.enqueue(agent: agent, maxAttempts: 3)
                try await h.waitUntil(seconds: 30, "the second job waits, or fails") {
                    try await h.count("""
                        SELECT count(*) FROM llm_jobs
                         WHERE id = \(second) AND (status = 'failed' OR (status = 'queued' AND run_at > now() + interval '30 seconds'))
                        """) == 1
                }
                #expect(try await h.job(second).status == "queued")
                #expect(try await h.job(second).attempt == 0)
                #expect(h.stats().requests(model: model) == 1)
            }
            #expect(try await h.count("SELECT count(*) FROM llm_job_calls") == 1)
        }
    }
}
