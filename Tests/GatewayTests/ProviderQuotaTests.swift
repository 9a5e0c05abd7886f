import Foundation
@testable import Gateway
import Postgres
import TestSupport
import Testing

/// Provider quotas (issue 23): workers take a slot in a window every worker shares before each
/// call; a full window sends the job back to the queue (snoozed: no attempt spent) instead of
/// sending a call the provider would refuse.
@Suite("Gateway: provider quotas")
struct ProviderQuotaTests {
    /// Calls per window of `seconds` by the ledger's `sent_at` (the database's clock), and the
    /// windows' largest count.
    static func busiestWindow(_ h: GatewayHarness, model: String, seconds: Int) async throws -> Int {
        try await h.count("""
            SELECT coalesce(max(n), 0)::bigint FROM (
                SELECT count(*) AS n FROM llm_job_calls WHERE model_id = \(model)
                 GROUP BY rate_window_start(sent_at, \(seconds)::integer)) w
            """)
    }

    @Test("4 calls per 2-s window, 24 jobs, 3 workers: no window holds more than 4 calls, the provider refuses none, every job succeeds on its first attempt")
    func threeWorkersKeepToTheQuota() async throws {
        try await GatewayHarness.run { h in
            // The stub enforces the same quota as the provider would (429 beyond 4 per window).
            let model = "stub-quota-4-window-2s"
            try await h.addModel(model, provider: "openai")
            let agent = try await h.addAgent("quota", model: model)
            try await h.pool.execute("""
                INSERT INTO provider_quotas (provider, model_id, rpm, window_seconds) VALUES ('openai', \(model), 4, 2)
                """)
            let jobs = 24
            try await h.withWorker { _ in
                try await h.withWorker { _ in
                    try await h.withWorker { _ in
                        for index in 0..<jobs { try await h.enqueue(agent: agent, text: "job \(index)", maxAttempts: 1) }
                        try await h.waitForAllJobs(seconds: 120)
                    }
                }
            }
            #expect(try await h.count("SELECT count(*) FROM llm_jobs WHERE status = 'succeeded'") == jobs)
            #expect(try await h.count("SELECT count(*) FROM llm_jobs WHERE status = 'succeeded' AND attempt = 1") == jobs)
            #expect(try await h.count("SELECT count(*) FROM llm_job_calls WHERE model_id = \(model)") == jobs)
            #expect(try await Self.busiestWindow(h, model: model, seconds: 2) <= 4)
            #expect(h.stats().requests(model: model, outcome: "error_429") == 0)
            #expect(h.stats().requests(model: model) == jobs)
            // The wait was a snooze: some jobs went back to the queue at least once.
            #expect(try await h.count("SELECT count(*) FROM llm_jobs WHERE error IS NOT NULL OR run_at > created_at") > 0)
        }
    }

    @Test("The same load without a quota: the provider refuses calls (the test above can fail)")
    func withoutTheQuotaTheProviderRefuses() async throws {
        try await GatewayHarness.run { h in
            let model = "stub-quota-4-window-2s"
            try await h.addModel(model, provider: "openai")
            let agent = try await h.addAgent("unshaped", model: model)
            try await h.withWorker { _ in
                for index in 0..<24 { try await h.enqueue(agent: agent, text: "job \(index)", maxAttempts: 1) }
                try await h.waitUntil(seconds: 60, "the provider refused a call") {
                    h.stats().requests(model: model, outcome: "error_429") > 0
                }
            }
        }
    }

    @Test("A provider-wide quota covers its models together; a model of another provider is not held back")
    func providerWideQuota() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("stub-a", provider: "openai")
            try await h.addModel("stub-b", provider: "openai")
            try await h.addModel("stub-c", provider: "anthropic")
            let a = try await h.addAgent("a", model: "stub-a")
            let b = try await h.addAgent("b", model: "stub-b")
            let c = try await h.addAgent("c", model: "stub-c")
            try await h.pool.execute("INSERT INTO provider_quotas (provider, rpm, window_seconds) VALUES ('openai', 3, 3600)")
            let hour: SQL = "SELECT extract(epoch FROM rate_window_start(now(), 3600))::bigint"
            let started = try await h.count(hour)
            try await h.withWorker { _ in
                for _ in 0..<4 {
                    try await h.enqueue(agent: a)
                    try await h.enqueue(agent: b)
                    try await h.enqueue(agent: c)
                }
                try await h.waitUntil(seconds: 30, "the quota's calls and every anthropic job are done") {
                    try await h.count("SELECT count(*) FROM llm_jobs WHERE status = 'succeeded'") == 3 + 4
                        && h.stats().requests(model: "stub-c") == 4
                }
                // Until the window (an hour here) ends, the rest wait in the queue without an attempt spent.
                try await h.waitUntil(seconds: 30, "the rest are snoozed") {
                    try await h.count("""
                        SELECT count(*) FROM llm_jobs WHERE status = 'queued' AND attempt = 0 AND run_at > now()
                        """) == 5
                }
            }
            // An hour's window that ended during the run (rare) gave new slots: nothing to judge then.
            guard try await h.count(hour) == started else { return }
            #expect(h.stats().requests(model: "stub-a") + h.stats().requests(model: "stub-b") == 3)
            let window: Int = try await h.count("SELECT requests::bigint FROM provider_quota_counters")
            #expect(window == 3)
        }
    }

    @Test("A provider's 429 with a long Retry-After cools the model down for every worker: no slot is taken meanwhile, and the jobs wait for the cooldown")
    func cooldownComesBeforeTheQuota() async throws {
        try await GatewayHarness.run { h in
            let model = "stub-error-429-after-60"
            try await h.addModel(model, provider: "openai")
            let agent = try await h.addAgent("cooled", model: model)
            try await h.pool.execute("INSERT INTO provider_quotas (provider, model_id, rpm, window_seconds) VALUES ('openai', \(model), 100, 3600)")
            let hour: SQL = "SELECT extract(epoch FROM rate_window_start(now(), 3600))::bigint"
            let started = try await h.count(hour)
            try await h.withWorker { _ in
                let first = try await h.enqueue(agent: agent)
                try await h.waitUntil(seconds: 30, "the cooldown") {
                    try await h.count("SELECT count(*) FROM llm_model_cooldowns WHERE model_id = \(model) AND until > now() + interval '30 seconds'") == 1
                }
                let second = try await h.enqueue(agent: agent)
                try await h.waitUntil(seconds: 30, "both jobs wait") {
                    try await h.count("""
                        SELECT count(*) FROM llm_jobs WHERE id IN (\(first), \(second)) AND status = 'queued' AND attempt = 0
                           AND run_at > now() + interval '30 seconds'
                        """) == 2
                }
            }
            #expect(h.stats().requests(model: model) == 1)
            guard try await h.count(hour) == started else { return }
            // One slot for the one call; the skipped model took none.
            #expect(try await h.count("SELECT requests::bigint FROM provider_quota_counters") == 1)
        }
    }
}
