import Foundation
@testable import Gateway
import Postgres
import Testing

/// Retry and fallback by error class, against the stub's real error responses.
@Suite("Gateway: retries, fallbacks, requeues, cooldowns, cancel")
struct FallbackTests {
    @Test("500s: the same model is retried, then the job falls back to another provider")
    func fallbackAfterRetries() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("stub-primary-error-500", provider: "openai")
            try await h.addModel("claude-fallback", provider: "anthropic")
            let agent = try await h.addAgent("resilient", model: "stub-primary-error-500", fallbacks: ["claude-fallback"])
            let job = try await h.enqueue(agent: agent)
            var configuration = h.configuration()
            configuration.cooldownThreshold = 100
            try await h.withWorker(configuration) { _ in try await h.waitForAllJobs() }

            let row = try await h.job(job)
            #expect(row.status == "succeeded")
            #expect(row.result?["model"]?.string == "claude-fallback")
            #expect(row.result?["provider"]?.string == "anthropic")
            #expect(row.result?["fallback_depth"]?.int == 1)
            #expect(row.result?["attempts"]?.int == 4)
            #expect(h.stats().requests(model: "stub-primary-error-500") == 3)  // 1 call + 2 retries
            #expect(h.stats().requests(model: "claude-fallback") == 1)
            #expect(try await h.count("SELECT count(*) FROM model_usage WHERE job_id = \(job) AND outcome = 'error' AND error_class = 'server_error' AND http_status = 500") == 3)
            #expect(try await h.count("SELECT count(*) FROM model_usage WHERE job_id = \(job) AND outcome = 'success' AND fallback_depth = 1") == 1)
            try await expectCountersAgree(h)
        }
    }

    @Test("429 with Retry-After is waited for; a Retry-After beyond the cap moves on at once")
    func retryAfter() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("stub-limited-error-429-after-1", provider: "openai")
            try await h.addModel("gpt-steady", provider: "openai")
            let agent = try await h.addAgent("patient", model: "stub-limited-error-429-after-1", fallbacks: ["gpt-steady"])
            let job = try await h.enqueue(agent: agent)
            var configuration = h.configuration()
            configuration.cooldownThreshold = 100
            configuration.maxRetriesPerModel = 1
            try await h.withWorker(configuration) { _ in try await h.waitForAllJobs() }
            #expect(try await h.job(job).result?["model"]?.string == "gpt-steady")
            #expect(h.stats().requests(model: "stub-limited-error-429-after-1") == 2)
            // The retry started only after the second the provider asked for (retry base is 20 ms).
            let gap: Double = try await h.pool.query("""
                SELECT extract(epoch FROM max(started_at) - min(finished_at))::float8 FROM model_usage
                 WHERE job_id = \(job) AND model_id = 'stub-limited-error-429-after-1'
                """).rows[0].decode(at: 0)
            #expect(gap >= 0.95)
            #expect(try await h.count("SELECT count(*) FROM model_usage WHERE job_id = \(job) AND error_class = 'rate_limited'") == 2)

            // Retry-After 1 s over a 0.5 s cap: no retry, straight to the fallback.
            let capped = try await h.enqueue(agent: agent)
            configuration.retryAfterCap = .milliseconds(500)
            try await h.withWorker(configuration) { _ in try await h.waitForAllJobs() }
            #expect(try await h.job(capped).result?["model"]?.string == "gpt-steady")
            #expect(try await h.count("SELECT count(*) FROM model_usage WHERE job_id = \(capped) AND outcome = 'error'") == 1)
        }
    }

    @Test("401 moves to the next model at once; missing credentials skip a model without a call")
    func authMovesOn() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("stub-locked-error-401", provider: "openai")
            try await h.pool.execute("""
                INSERT INTO llm_providers (name, api_style, base_url, api_key_env)
                VALUES ('keyless', 'openai', \(h.stubURL), 'NOT_SET_ANYWHERE_KEY')
                """)
            try await h.addModel("gpt-keyless", provider: "keyless")
            try await h.addModel("claude-open", provider: "anthropic")
            let agent = try await h.addAgent("locked-out", model: "stub-locked-error-401", fallbacks: ["gpt-keyless", "claude-open"])
            let job = try await h.enqueue(agent: agent)
            try await h.withWorker { _ in try await h.waitForAllJobs() }
            let row = try await h.job(job)
            #expect(row.status == "succeeded")
            #expect(row.result?["model"]?.string == "claude-open")
            #expect(row.result?["fallback_depth"]?.int == 2)
            #expect(h.stats().requests(model: "stub-locked-error-401") == 1)
            #expect(h.stats().requests(model: "gpt-keyless") == 0)
            #expect(try await h.count("SELECT count(*) FROM model_usage WHERE job_id = \(job) AND error_class = 'auth'") == 1)
        }
    }

    @Test("A prompt too long for the small model goes to the larger one without calling the small one")
    func contextTooSmallIsSkipped() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("gpt-small-context", provider: "openai", contextWindow: 100)
            try await h.addModel("claude-large-context", provider: "anthropic", contextWindow: 200_000)
            let agent = try await h.addAgent("reader", model: "gpt-small-context", fallbacks: ["claude-large-context"])
            let short = try await h.enqueue(agent: agent, text: "short question")
            let long = try await h.enqueue(agent: agent, text: String(repeating: "lorem ipsum ", count: 200))
            try await h.withWorker { _ in try await h.waitForAllJobs() }
            #expect(try await h.job(short).result?["model"]?.string == "gpt-small-context")
            let row = try await h.job(long)
            #expect(row.result?["model"]?.string == "claude-large-context")
            #expect(row.result?["fallback_depth"]?.int == 1)
            #expect(row.result?["attempts"]?.int == 1)
            #expect(h.stats().requests(model: "gpt-small-context") == 1)
            #expect(h.stats().requests(model: "claude-large-context") == 1)
        }
    }

    @Test("An invalid request fails the job without trying the fallback")
    func invalidRequestFails() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("stub-strict-error-400", provider: "openai")
            try await h.addModel("gpt-never-called", provider: "openai")
            let agent = try await h.addAgent("malformed", model: "stub-strict-error-400", fallbacks: ["gpt-never-called"])
            let job = try await h.enqueue(agent: agent)
            try await h.withWorker { _ in try await h.waitForAllJobs() }
            let row = try await h.job(job)
            #expect(row.status == "failed")
            #expect(row.error?["code"]?.string == "invalid_request")
            #expect(row.error?["attempts"]?.array.count == 1)
            #expect(row.error?["attempts"]?[0]?["error_class"]?.string == "invalid_request")
            #expect(row.error?["attempts"]?[0]?["http_status"]?.int == 400)
            #expect(h.stats().requests(model: "gpt-never-called") == 0)
        }
    }

    @Test("Every model failing transiently requeues the job, then fails it after max_attempts with the whole history")
    func requeueThenFail() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("stub-down-error-503", provider: "openai")
            try await h.addModel("stub-also-down-error-529", provider: "anthropic")
            let agent = try await h.addAgent("unlucky", model: "stub-down-error-503", fallbacks: ["stub-also-down-error-529"])
            let execution = try await h.addExecution()
            let job = try await h.enqueue(agent: agent, execution: execution, maxAttempts: 2)
            var configuration = h.configuration()
            configuration.cooldownThreshold = 100
            configuration.maxRetriesPerModel = 1
            try await h.withWorker(configuration) { _ in try await h.waitForAllJobs() }
            let row = try await h.job(job)
            #expect(row.status == "failed")
            #expect(row.attempt == 2)
            #expect(row.error?["code"]?.string == "max_attempts_exceeded")
            let attempts = row.error?["attempts"]?.array ?? []
            #expect(attempts.count == 8)  // 2 job attempts × 2 models × (1 call + 1 retry)
            #expect(attempts.map { $0["job_attempt"]?.int ?? 0 } == [1, 1, 1, 1, 2, 2, 2, 2])
            #expect(attempts.first?["error_class"]?.string == "overloaded")
            #expect(try await h.count("SELECT count(*) FROM model_usage WHERE job_id = \(job)") == 8)
            #expect(try await h.count("SELECT count(DISTINCT attempt) FROM model_usage WHERE job_id = \(job)") == 2)
            #expect(try await h.count("SELECT count(*) FROM workflow_executions WHERE id = \(execution) AND status = 'failed'") == 1)
            try await expectCountersAgree(h)
        }
    }

    @Test("A model failing repeatedly is cooled down for every worker")
    func cooldownIsShared() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("stub-sick-error-500", provider: "openai")
            try await h.addModel("gpt-healthy", provider: "openai")
            let agent = try await h.addAgent("careful", model: "stub-sick-error-500", fallbacks: ["gpt-healthy"])
            let first = h.configuration(workerID: "worker-a")
            let second = h.configuration(workerID: "worker-b")
            try await h.withWorker(first) { a in
                try await h.withWorker(second) { b in
                    let job = try await h.enqueue(agent: agent)
                    try await h.waitForAllJobs()
                    #expect(try await h.job(job).result?["model"]?.string == "gpt-healthy")
                    #expect(try await h.count("SELECT count(*) FROM llm_model_cooldowns WHERE model_id = 'stub-sick-error-500' AND until > now()") == 1)
                    // Both workers know, the one that did not see the failures through NOTIFY.
                    let key = CooldownKey(provider: "openai", modelID: "stub-sick-error-500")
                    try await h.waitUntil(seconds: 10, "cooldown seen by both workers") {
                        a.configSnapshot.cooldowns[key] != nil && b.configSnapshot.cooldowns[key] != nil
                    }
                    let callsBefore = h.stats().requests(model: "stub-sick-error-500")
                    for _ in 0..<4 { try await h.enqueue(agent: agent) }
                    try await h.waitForAllJobs()
                    #expect(h.stats().requests(model: "stub-sick-error-500") == callsBefore)
                    #expect(try await h.count("""
                        SELECT count(*) FROM llm_jobs
                         WHERE status = 'succeeded' AND result->>'model' = 'gpt-healthy'
                           AND (result->>'fallback_depth')::int = 1
                        """) == 5)
                }
            }
        }
    }

    @Test("Cancelling a running job stops its call and makes no further attempt")
    func cancelRunningJob() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("stub-slow-hang", provider: "openai")
            try await h.addModel("gpt-not-after-cancel", provider: "openai")
            let agent = try await h.addAgent("cancellable", model: "stub-slow-hang", fallbacks: ["gpt-not-after-cancel"])
            let execution = try await h.addExecution()
            let job = try await h.enqueue(agent: agent, execution: execution)
            try await h.withWorker { _ in
                try await h.waitUntil("call in flight") { h.stats().inFlight == 1 }
                // What POST /api/jobs/{id}/cancel does for a running job (contract).
                try await h.pool.execute("UPDATE llm_jobs SET cancel_requested_at = now() WHERE id = \(job) AND status = 'running'")
                try await h.pool.query("SELECT pg_notify('llm_jobs_cancel', \(String(job)))")
                try await h.waitForAllJobs(seconds: 20)
            }
            let row = try await h.job(job)
            #expect(row.status == "cancelled")
            #expect(h.stats().requests(model: "gpt-not-after-cancel") == 0)
            #expect(try await h.count("SELECT count(*) FROM model_usage WHERE job_id = \(job) AND error_class = 'cancelled'") == 1)
            #expect(try await h.count("SELECT count(*) FROM workflow_executions WHERE id = \(execution) AND status = 'cancelled'") == 1)
        }
    }
}
