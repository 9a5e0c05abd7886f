import Foundation
@testable import Gateway
import Postgres
import Testing

/// Retry and fallback by error class, against the stub's real error responses.
@Suite("Gateway: retries, fallbacks, requeues, cooldowns, cancel")
struct FallbackTests {
    /// A failing primary model (the stub's model name picks its error) with one fallback, and
    /// what the runner must do for that error class.
    struct ErrorClassCase: Sendable, CustomTestStringConvertible {
        var primary: String
        var errorClass: String
        var httpStatus: Int
        /// Calls to the primary: 1 + the retries its class allows (`maxRetriesPerModel` is 2).
        var primaryCalls: Int
        /// Whether the job moves on to the fallback; if not, it fails with `invalid_request`.
        var fallsBack: Bool
        var testDescription: String
    }

    static let errorClassCases: [ErrorClassCase] = [
        ErrorClassCase(
            primary: "stub-primary-error-500", errorClass: "server_error", httpStatus: 500, primaryCalls: 3, fallsBack: true,
            testDescription: "500: the same model is retried twice, then the job falls back to another provider"),
        ErrorClassCase(
            primary: "stub-locked-error-401", errorClass: "auth", httpStatus: 401, primaryCalls: 1, fallsBack: true,
            testDescription: "401: the next model at once"),
        ErrorClassCase(
            primary: "stub-strict-error-400", errorClass: "invalid_request", httpStatus: 400, primaryCalls: 1, fallsBack: false,
            testDescription: "400: the job fails without trying the fallback"),
        ErrorClassCase(
            primary: "stub-quirky-plain-error-422", errorClass: "invalid_request", httpStatus: 422, primaryCalls: 1, fallsBack: true,
            testDescription: "F11: an unknown 4xx in plain text (a vLLM/TGI quirk): the next model, not a failed job"),
    ]

    @Test("Each error class is retried, falls back or fails the job", arguments: errorClassCases)
    func errorClass(_ c: ErrorClassCase) async throws {
        try await GatewayHarness.run { h in
            let agent = try await Self.addAgent(h, "resilient", chain: [c.primary: "openai", "claude-fallback": "anthropic"])
            let job = try await h.enqueue(agent: agent)
            try await Self.runJobs(h)

            let row = try await h.job(job)
            #expect(h.stats().requests(model: c.primary) == c.primaryCalls)
            #expect(try await h.count("""
                SELECT count(*) FROM model_usage
                 WHERE job_id = \(job) AND outcome = 'error' AND error_class = \(c.errorClass) AND http_status = \(c.httpStatus)
                """) == c.primaryCalls)
            if c.fallsBack {
                #expect(row.status == "succeeded")
                #expect(row.result?["model"]?.string == "claude-fallback")
                #expect(row.result?["provider"]?.string == "anthropic")
                #expect(row.result?["fallback_depth"]?.int == 1)
                #expect(row.result?["attempts"]?.int == c.primaryCalls + 1)
                #expect(h.stats().requests(model: "claude-fallback") == 1)
                #expect(try await h.count("SELECT count(*) FROM model_usage WHERE job_id = \(job) AND outcome = 'success' AND fallback_depth = 1") == 1)
            } else {
                #expect(row.status == "failed")
                #expect(row.error?["code"]?.string == "invalid_request")
                #expect(row.error?["attempts"]?.array.count == 1)
                #expect(row.error?["attempts"]?[0]?["error_class"]?.string == c.errorClass)
                #expect(row.error?["attempts"]?[0]?["http_status"]?.int == c.httpStatus)
                #expect(h.stats().requests(model: "claude-fallback") == 0)
            }
            try await expectCountersAgree(h)
        }
    }

    @Test("Missing credentials skip a model without a call")
    func missingCredentialsSkip() async throws {
        try await GatewayHarness.run { h in
            try await h.pool.execute("""
                INSERT INTO llm_providers (name, api_style, base_url, api_key_env)
                VALUES ('keyless', 'openai', \(h.stubURL), 'NOT_SET_ANYWHERE_KEY')
                """)
            let agent = try await Self.addAgent(h, "locked-out", chain: ["gpt-keyless": "keyless", "claude-open": "anthropic"])
            let job = try await h.enqueue(agent: agent)
            try await Self.runJobs(h)
            let row = try await h.job(job)
            #expect(row.status == "succeeded")
            #expect(row.result?["model"]?.string == "claude-open")
            #expect(row.result?["fallback_depth"]?.int == 1)
            #expect(row.result?["attempts"]?.int == 1)
            #expect(h.stats().requests(model: "gpt-keyless") == 0)
        }
    }

    /// Adds the chain's catalog models (primary first, each on its provider) and an agent over them.
    private static func addAgent(_ h: GatewayHarness, _ name: String, chain: KeyValuePairs<String, String>) async throws -> UUID {
        for (model, provider) in chain { try await h.addModel(model, provider: provider) }
        return try await h.addAgent(name, model: chain[0].key, fallbacks: chain.dropFirst().map(\.key))
    }

    /// A shared cooldown of an openai model that ended a second ago (as some worker wrote it).
    private static func endedCooldown(_ h: GatewayHarness, model: String) async throws {
        try await h.pool.execute("""
            INSERT INTO llm_model_cooldowns (provider, model_id, until, error_class, reason)
            VALUES ('openai', \(model), now() - interval '1 second', 'server_error', 'test')
            """)
    }

    /// Runs one worker until no job is queued or running. The cooldown threshold is out of reach,
    /// so a model's failures are retried as its class says rather than cut short by a cooldown.
    private static func runJobs(
        _ h: GatewayHarness, _ adjust: (inout GatewayConfiguration) -> Void = { _ in }
    ) async throws {
        var configuration = h.configuration()
        configuration.cooldownThreshold = 100
        adjust(&configuration)
        try await h.withWorker(configuration) { _ in try await h.waitForAllJobs() }
    }

    @Test("429 with Retry-After is waited for; a Retry-After beyond the cap moves on at once")
    func retryAfter() async throws {
        try await GatewayHarness.run { h in
            let agent = try await Self.addAgent(h, "patient", chain: ["stub-limited-error-429-after-1": "openai", "gpt-steady": "openai"])
            let job = try await h.enqueue(agent: agent)
            try await Self.runJobs(h) { $0.maxRetriesPerModel = 1 }
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
            try await Self.runJobs(h) {
                $0.maxRetriesPerModel = 1
                $0.retryAfterCap = .milliseconds(500)
            }
            #expect(try await h.job(capped).result?["model"]?.string == "gpt-steady")
            #expect(try await h.count("SELECT count(*) FROM model_usage WHERE job_id = \(capped) AND outcome = 'error'") == 1)
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

    @Test("Every model failing transiently requeues the job, then fails it after max_attempts with the whole history")
    func requeueThenFail() async throws {
        try await GatewayHarness.run { h in
            let agent = try await Self.addAgent(h, "unlucky", chain: ["stub-down-error-503": "openai", "stub-also-down-error-529": "anthropic"])
            let execution = try await h.addExecution()
            let job = try await h.enqueue(agent: agent, execution: execution, maxAttempts: 2)
            try await Self.runJobs(h) { $0.maxRetriesPerModel = 1 }
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
            let agent = try await Self.addAgent(h, "careful", chain: ["stub-sick-error-500": "openai", "gpt-healthy": "openai"])
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

    @Test("F10: when a cooldown ends one worker probes the model while the others keep skipping it; a good probe ends it for all")
    func halfOpenProbeAfterACooldown() async throws {
        try await GatewayHarness.run { h in
            let agent = try await Self.addAgent(h, "recovering", chain: ["stub-recovered-latency-3s": "openai", "gpt-meanwhile": "openai"])
            // A cooldown that has just ended (written by some worker a minute ago).
            try await Self.endedCooldown(h, model: "stub-recovered-latency-3s")
            try await h.withWorker(h.configuration(workerID: "worker-a")) { a in
                try await h.withWorker(h.configuration(workerID: "worker-b")) { b in
                    // Twenty jobs at once, while the one probe call takes 3 s: without the probe
                    // every one of them (on both workers) would call the model at once.
                    for _ in 0..<20 { try await h.enqueue(agent: agent) }
                    try await h.waitForAllJobs()
                    #expect(h.stats().requests(model: "stub-recovered-latency-3s") == 1)
                    #expect(try await h.count("SELECT count(*) FROM llm_jobs WHERE result->>'model' = 'gpt-meanwhile'") == 19)
                    #expect(try await h.count("SELECT count(*) FROM llm_model_cooldowns WHERE model_id = 'stub-recovered-latency-3s'") == 0)
                    // The probe's success reached both workers: the model is called again by all.
                    let key = CooldownKey(provider: "openai", modelID: "stub-recovered-latency-3s")
                    try await h.waitUntil(seconds: 10, "both workers forgot the cooldown") {
                        a.configSnapshot.cooldowns[key] == nil && b.configSnapshot.cooldowns[key] == nil
                    }
                    for _ in 0..<4 { try await h.enqueue(agent: agent) }
                    try await h.waitForAllJobs()
                    #expect(h.stats().requests(model: "stub-recovered-latency-3s") == 5)
                }
            }
        }
    }

    @Test("F10: a failed probe cools the model down again for every worker, without a retry")
    func failedProbeCoolsDownAgain() async throws {
        try await GatewayHarness.run { h in
            let agent = try await Self.addAgent(h, "relapsing", chain: ["stub-relapse-error-500": "openai", "gpt-fallback": "openai"])
            try await Self.endedCooldown(h, model: "stub-relapse-error-500")
            try await h.withWorker(h.configuration(workerID: "worker-a")) { _ in
                for _ in 0..<10 { try await h.enqueue(agent: agent) }
                try await h.waitForAllJobs()
                #expect(h.stats().requests(model: "stub-relapse-error-500") == 1)
                #expect(try await h.count("SELECT count(*) FROM llm_jobs WHERE result->>'model' = 'gpt-fallback'") == 10)
                #expect(try await h.count("""
                    SELECT count(*) FROM llm_model_cooldowns
                     WHERE model_id = 'stub-relapse-error-500' AND until > now() AND probe_until IS NULL AND reason = 'half-open probe failed'
                    """) == 1)
            }
        }
    }

    @Test("Cancelling a running job stops its call and makes no further attempt")
    func cancelRunningJob() async throws {
        try await GatewayHarness.run { h in
            let agent = try await Self.addAgent(h, "cancellable", chain: ["stub-slow-hang": "openai", "gpt-not-after-cancel": "openai"])
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
