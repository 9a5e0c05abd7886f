import Foundation
@testable import Gateway
import Postgres
import Testing

/// Jobs run end to end: plain-SQL enqueue, a real worker, real provider-stub over HTTP, real
/// Postgres; results, usage rows, counters and executions checked in the database.
@Suite("Gateway: running jobs")
struct JobExecutionTests {
    @Test("PRD: three agents on three models across two providers; models_used, usage rows and counters agree")
    func prdIntegration() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("gpt-alpha", provider: "openai", input: "0.0025", output: "0.01")
            try await h.addModel("gpt-beta", provider: "openai", input: "0.00015", output: "0.0006", cached: "0.000075")
            try await h.addModel("claude-gamma", provider: "anthropic", input: "0.003", output: "0.015")
            let researcher = try await h.addAgent("researcher", model: "gpt-alpha")
            let writer = try await h.addAgent("writer", model: "gpt-beta")
            let critic = try await h.addAgent("critic", model: "claude-gamma")
            let execution = try await h.addExecution("prd-run")
            let j1 = try await h.enqueue(agent: researcher, text: "find sources about queues", execution: execution, step: "research")
            let j2 = try await h.enqueue(agent: writer, text: "write a summary", execution: execution, step: "write")
            let j3 = try await h.enqueue(agent: critic, text: "critique the summary please", execution: execution, step: "critique")

            try await h.withWorker { _ in
                try await h.waitUntil("execution finished") {
                    try await h.count("SELECT count(*) FROM workflow_executions WHERE id = \(execution) AND status = 'succeeded'") == 1
                }
            }

            for (job, model, provider) in [(j1, "gpt-alpha", "openai"), (j2, "gpt-beta", "openai"), (j3, "claude-gamma", "anthropic")] {
                let row = try await h.job(job)
                #expect(row.status == "succeeded")
                #expect(row.result?["model"]?.string == model)
                #expect(row.result?["provider"]?.string == provider)
                #expect(row.result?["fallback_depth"]?.int == 0)
                #expect(row.result?["attempts"]?.int == 1)
                #expect(row.result?["content"]?.string?.hasPrefix("Stub reply to:") == true)
                #expect(row.result?["usage"]?["input_tokens"]?.int ?? 0 > 0)
            }
            #expect(h.stats().requests(model: "gpt-alpha") == 1)
            #expect(h.stats().requests(model: "gpt-beta") == 1)
            #expect(h.stats().requests(model: "claude-gamma") == 1)

            // The result's cost is exactly tokens × catalog price, computed again in SQL.
            #expect(try await h.count("""
                SELECT count(*) FROM llm_jobs j JOIN model_usage u ON u.job_id = j.id JOIN llm_models m ON m.model_id = u.model_id
                 WHERE j.execution_id = \(execution)
                   AND (j.result->>'cost')::numeric = u.cost
                   AND u.cost = (u.input_tokens - coalesce(u.cached_input_tokens, 0)) * m.input_cost_per_1k / 1000
                                + coalesce(u.cached_input_tokens, 0) * coalesce(m.cached_input_cost_per_1k, m.input_cost_per_1k) / 1000
                                + u.output_tokens * m.output_cost_per_1k / 1000
                """) == 3)

            // models_used: every agent with its model, tokens and the exact cost of its usage rows.
            #expect(try await h.count("""
                SELECT count(*) FROM workflow_executions e, model_usage u
                 WHERE e.id = \(execution) AND u.execution_id = e.id
                   AND (e.models_used -> u.agent_id::text -> u.model_id ->> 'requests')::int = 1
                   AND (e.models_used -> u.agent_id::text -> u.model_id ->> 'input_tokens')::int = u.input_tokens
                   AND (e.models_used -> u.agent_id::text -> u.model_id ->> 'output_tokens')::int = u.output_tokens
                   AND (e.models_used -> u.agent_id::text -> u.model_id ->> 'cost')::numeric = u.cost
                   AND (e.models_used -> u.agent_id::text -> u.model_id ->> 'unpriced_requests')::int = 0
                """) == 3)
            #expect(try await h.count("SELECT count(*) FROM workflow_executions e, jsonb_object_keys(e.models_used) k WHERE e.id = \(execution)") == 3)
            #expect(try await h.count("SELECT count(*) FROM workflow_executions WHERE id = \(execution) AND finished_at IS NOT NULL") == 1)

            try await expectCountersAgree(h)
        }
    }

    @Test("Usage counters agree exactly with usage rows, and the PRD view reads them")
    func countersAgreeUnderMixedOutcomes() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("stub-flaky-error-500-rate-40", provider: "openai")
            try await h.addModel("claude-backup", provider: "anthropic", input: nil, output: nil)
            let agent = try await h.addAgent("mixed", model: "stub-flaky-error-500-rate-40", fallbacks: ["claude-backup"])
            for index in 0..<60 { try await h.enqueue(agent: agent, text: "job \(index)") }
            var configuration = h.configuration()
            configuration.cooldownThreshold = 1000
            try await h.withWorker(configuration) { _ in try await h.waitForAllJobs() }
            #expect(try await h.count("SELECT count(*) FROM llm_jobs WHERE status = 'succeeded'") == 60)
            #expect(try await h.count("SELECT count(*) FROM model_usage") == h.stats().totalRequests)
            // The fallback has no price: its rows are unpriced, never a silent zero.
            #expect(try await h.count("SELECT count(*) FROM model_usage WHERE model_id = 'claude-backup' AND cost IS NOT NULL") == 0)
            try await expectCountersAgree(h)
            #expect(try await h.count("""
                SELECT count(*) FROM agent_usage_stats s
                 WHERE s.agent_id = \(agent)
                   AND s.total_requests = (SELECT count(*) FROM model_usage)
                   AND s.unpriced_requests = (SELECT count(*) FROM model_usage WHERE cost IS NULL)
                   AND s.total_errors = (SELECT count(*) FROM model_usage WHERE outcome = 'error')
                """) == 1)
        }
    }

    @Test("A change whose notification was lost is picked up when the listener reconnects")
    func resyncOnListenerReconnect() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("gpt-old", provider: "openai")
            try await h.addModel("gpt-new", provider: "openai")
            let agent = try await h.addAgent("resynced", model: "gpt-old")
            try await h.withWorker { worker in
                #expect(worker.configSnapshot.agents[agent]?.configuration.modelID == "gpt-old")
                // A change that sends no notification (as if sent while the listener was down).
                try await h.pool.execute("ALTER TABLE agents DISABLE TRIGGER agents_notify_config_update")
                try await h.setAgentModel(agent, model: "gpt-new")
                try await h.pool.execute("ALTER TABLE agents ENABLE TRIGGER agents_notify_config_update")
                #expect(worker.configSnapshot.agents[agent]?.configuration.modelID == "gpt-old")
                // Drop the worker's LISTEN connection: it reconnects and reloads everything.
                try await h.pool.query("""
                    SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                     WHERE datname = current_database() AND query LIKE 'LISTEN%'
                    """)
                try await h.waitUntil(seconds: 20, "resynchronised") {
                    worker.configSnapshot.agents[agent]?.configuration.modelID == "gpt-new"
                }
                let job = try await h.enqueue(agent: agent)
                try await h.waitForAllJobs()
                #expect(try await h.job(job).result?["model"]?.string == "gpt-new")
            }
        }
    }

    @Test("Database connections killed mid-run: the worker reconnects and every job succeeds once")
    func survivesConnectionLoss() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("stub-steady-latency-20ms", provider: "openai")
            let agent = try await h.addAgent("steady", model: "stub-steady-latency-20ms")
            for index in 0..<200 { try await h.enqueue(agent: agent, text: "job \(index)") }
            try await h.withWorker { _ in
                try await h.waitUntil("some jobs done") {
                    try await h.count("SELECT count(*) FROM llm_jobs WHERE status = 'succeeded'") >= 40
                }
                // Every other backend of this database: the worker's pool and its listener.
                try await h.pool.query("""
                    SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                     WHERE datname = current_database() AND pid <> pg_backend_pid()
                    """)
                try await h.waitForAllJobs(seconds: 60)
            }
            #expect(try await h.count("SELECT count(*) FROM llm_jobs WHERE status = 'succeeded' AND attempt = 1") == 200)
            #expect(h.stats().requests(model: "stub-steady-latency-20ms") == 200)
            #expect(try await h.count("SELECT count(*) FROM model_usage") == 200)
            try await expectCountersAgree(h)
        }
    }

    @Test("llm_jobs_done is notified only for jobs someone waits on (llm_job_waiters)")
    func longPollNotification() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("gpt-awaited", provider: "openai")
            let agent = try await h.addAgent("awaited", model: "gpt-awaited")
            let listener = PostgresListener(configuration: h.database, channels: ["llm_jobs_done"])
            let events = listener.events()
            defer { listener.stop() }
            var iterator = events.makeAsyncIterator()
            guard case .listening = await iterator.next() else {
                Issue.record("listener did not start")
                return
            }
            let (unwatched, watched) = try await h.withWorker { _ in
                let unwatched = try await h.enqueue(agent: agent, text: "nobody waits")
                try await h.waitForAllJobs()
                let watched = try await h.enqueue(agent: agent, text: "someone waits", runAt: "2999-01-01T00:00:00Z")
                // What the registry's long-poll does: register, then the job runs.
                try await h.pool.execute("INSERT INTO llm_job_waiters (job_id, waiter) VALUES (\(watched), 'registry-1')")
                try await h.pool.execute("UPDATE llm_jobs SET run_at = now() WHERE id = \(watched)")
                try await h.waitForAllJobs()
                return (unwatched, watched)
            }
            // The first notification is the watched job's: the unwatched one, finished earlier, sent none.
            guard case .notification(let notification) = await iterator.next() else {
                Issue.record("no notification")
                return
            }
            #expect(notification.payload.split(separator: ",").map(String.init) == [String(watched)])
            #expect(unwatched != watched)
        }
    }

    @Test("Priority order is honoured and a future run_at is not claimed")
    func priorityAndRunAt() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("gpt-order", provider: "openai")
            let agent = try await h.addAgent("ordered", model: "gpt-order")
            let low = try await h.enqueue(agent: agent, text: "low", priority: 0)
            let high = try await h.enqueue(agent: agent, text: "high", priority: 10)
            let middle = try await h.enqueue(agent: agent, text: "middle", priority: 5)
            let later = try await h.enqueue(agent: agent, text: "later", priority: 100, runAt: "2999-01-01T00:00:00Z")
            var configuration = h.configuration(concurrency: 1)
            configuration.batchSize = 1
            try await h.withWorker(configuration) { _ in
                try await h.waitUntil {
                    try await h.count("SELECT count(*) FROM llm_jobs WHERE status = 'succeeded'") == 3
                }
            }
            let order = try await h.pool.query("SELECT job_id FROM model_usage ORDER BY started_at, id").rows.map { try $0.decode(at: 0, as: Int64.self) }
            #expect(order == [high, middle, low])
            #expect(try await h.job(later).status == "queued")
            #expect(try await h.job(later).attempt == 0)
        }
    }

    @Test("A model_config change applies to the next job without a restart")
    func configChangeApplies() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("gpt-before", provider: "openai")
            try await h.addModel("claude-after", provider: "anthropic")
            let agent = try await h.addAgent("switcher", model: "gpt-before")
            try await h.withWorker { worker in
                let first = try await h.enqueue(agent: agent, text: "one")
                try await h.waitForAllJobs()
                #expect(try await h.job(first).result?["model"]?.string == "gpt-before")

                try await h.setAgentModel(agent, model: "claude-after")
                // The NOTIFY from 0010's trigger reloads this agent in the running worker.
                try await h.waitUntil(seconds: 10, "agent reloaded") {
                    worker.configSnapshot.agents[agent]?.configuration.modelID == "claude-after"
                }
                let second = try await h.enqueue(agent: agent, text: "two")
                try await h.waitForAllJobs()
                #expect(try await h.job(second).result?["model"]?.string == "claude-after")
                #expect(try await h.job(second).result?["provider"]?.string == "anthropic")

                // A catalog change (retiring the model) applies the same way.
                try await h.pool.execute("UPDATE llm_models SET status = 'retired' WHERE model_id = 'claude-after'")
                try await h.waitUntil(seconds: 10, "models reloaded") {
                    worker.configSnapshot.models["claude-after"]?.status == .retired
                }
                let third = try await h.enqueue(agent: agent, text: "three")
                try await h.waitForAllJobs()
                let row = try await h.job(third)
                #expect(row.status == "failed")
                #expect(row.error?["code"]?.string == "no_usable_model")
                #expect(row.error?["skipped"]?[0]?["reason"]?.string == "retired")
            }
            #expect(h.stats().requests(model: "claude-after") == 1)
        }
    }
}

extension JobExecutionTests {
    @Test("An agent whose stored model_config cannot be read fails its jobs, never running a default model")
    func unreadableModelConfigFailsTheJob() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("gpt-configured", provider: "openai")
            let agent = UUID()
            // Passes 0002's CHECK (object, string model_id) but not the decoder: temperature is text.
            try await h.pool.execute("""
                INSERT INTO agents (id, name, agent_type, model_config)
                VALUES (\(agent), 'hand-written', 'test', '{"model_id": "gpt-configured", "temperature": "hot"}'::jsonb)
                """)
            let job = try await h.enqueue(agent: agent)
            try await h.withWorker { _ in try await h.waitForAllJobs() }
            let row = try await h.job(job)
            #expect(row.status == "failed")
            #expect(row.error?["code"]?.string == "no_usable_model")
            #expect(row.error?["message"]?.string?.contains("model_config") == true)
            #expect(h.stats().totalRequests == 0)
        }
    }
}

/// agent_usage_daily and execution_usage hold exactly the sums of model_usage.
func expectCountersAgree(_ h: GatewayHarness) async throws {
    let mismatches = try await h.count("""
        WITH rows AS (
            SELECT agent_id, provider, model_id, count(*) AS requests,
                   count(*) FILTER (WHERE outcome = 'success') AS successes,
                   count(*) FILTER (WHERE outcome = 'error') AS errors,
                   count(*) FILTER (WHERE fallback_depth > 0) AS fallback_requests,
                   coalesce(sum(input_tokens), 0) AS input_tokens, coalesce(sum(output_tokens), 0) AS output_tokens,
                   coalesce(sum(cached_input_tokens), 0) AS cached, count(cost) AS priced, coalesce(sum(cost), 0) AS cost,
                   coalesce(sum(latency_ms), 0) AS latency,
                   count(*) FILTER (WHERE superseded) AS superseded, coalesce(sum(cost) FILTER (WHERE superseded), 0) AS superseded_cost
              FROM model_usage GROUP BY 1, 2, 3
        ), counters AS (
            SELECT agent_id, provider, model_id, sum(requests) AS requests, sum(successes) AS successes,
                   sum(errors) AS errors, sum(fallback_requests) AS fallback_requests, sum(input_tokens) AS input_tokens,
                   sum(output_tokens) AS output_tokens, sum(cached_input_tokens) AS cached,
                   sum(priced_requests) AS priced, sum(cost) AS cost, sum(latency_ms_sum) AS latency,
                   sum(superseded_requests) AS superseded, sum(superseded_cost) AS superseded_cost
              FROM agent_usage_daily GROUP BY 1, 2, 3
        )
        SELECT count(*) FROM rows r FULL JOIN counters c USING (agent_id, provider, model_id)
         WHERE (r.requests, r.successes, r.errors, r.fallback_requests, r.input_tokens, r.output_tokens, r.cached,
                r.priced, r.cost, r.latency, r.superseded, r.superseded_cost)
               IS DISTINCT FROM
               (c.requests, c.successes, c.errors, c.fallback_requests, c.input_tokens, c.output_tokens, c.cached,
                c.priced, c.cost, c.latency, c.superseded, c.superseded_cost)
        """)
    #expect(mismatches == 0)
    let executionMismatches = try await h.count("""
        WITH rows AS (
            SELECT execution_id, agent_id, provider, model_id, count(*) AS requests,
                   coalesce(sum(input_tokens), 0) AS input_tokens, coalesce(sum(cost), 0) AS cost
              FROM model_usage WHERE execution_id IS NOT NULL GROUP BY 1, 2, 3, 4
        ), counters AS (
            SELECT execution_id, agent_id, provider, model_id, sum(requests) AS requests,
                   sum(input_tokens) AS input_tokens, sum(cost) AS cost
              FROM execution_usage GROUP BY 1, 2, 3, 4
        )
        SELECT count(*) FROM rows r FULL JOIN counters c USING (execution_id, agent_id, provider, model_id)
         WHERE (r.requests, r.input_tokens, r.cost) IS DISTINCT FROM (c.requests, c.input_tokens, c.cost)
        """)
    #expect(executionMismatches == 0)
}
