import Foundation
@testable import Gateway
import Postgres
import TestSupport
import Testing

/// F1 (issue 22): a worker that re-claims its own rescued job holds two attempts of it at once;
/// the old run's end must not remove, stop heartbeating or hide the new one.
@Suite("Gateway: attempt fencing")
struct AttemptFencingTests {
    /// A job whose first attempt calls a 5-second model and whose second (after the agent is
    /// switched) calls a 12-second one, under a 3-second lease; the first attempt's lease is
    /// expired by SQL and rescued, and the same worker claims it again. Before the fix the first
    /// run's end dropped the second's handle and lease: its lease ran out 3 s later and the
    /// worker's own rescuer made a third attempt.
    /// `body` runs once the first attempt's outcome is written while the second call still runs.
    static func reclaimedWhileRunning(
        _ body: @Sendable (GatewayHarness, Worker, Int64) async throws -> Void
    ) async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("stub-first-latency-5s", provider: "openai")
            try await h.addModel("stub-second-latency-12s", provider: "openai")
            let agent = try await h.addAgent("fenced", model: "stub-first-latency-5s")
            var configuration = h.configuration(concurrency: 8)
            configuration.leaseDuration = .seconds(3)
            configuration.rescueInterval = .seconds(1)
            try await h.withWorker(configuration) { worker in
                let id = try await h.enqueue(agent: agent)
                try await h.waitUntil(seconds: 20, "first call in flight") {
                    h.stats().requests(model: "stub-first-latency-5s") == 1
                }
                try await h.setAgentModel(agent, model: "stub-second-latency-12s")
                try await h.waitUntil(seconds: 20, "worker sees the new model") {
                    worker.configSnapshot.agents[agent]?.configuration.modelID == "stub-second-latency-12s"
                }
                // Expire the lease behind the worker's back and rescue it (the heartbeat may extend
                // it in between: then again; the worker's own rescuer may be the one that requeues).
                let rescuer = GatewayStore(pool: h.pool, workerID: "rescuer")
                try await h.waitUntil(seconds: 20, "lease rescued") {
                    try await h.pool.execute("""
                        UPDATE llm_jobs SET lease_expires_at = now() - interval '1 second'
                         WHERE id = \(id) AND attempt = 1 AND status = 'running'
                        """)
                    _ = try await rescuer.rescueExpired(limit: 10)
                    return try await h.count("SELECT count(*) FROM llm_jobs WHERE id = \(id) AND (status = 'queued' OR attempt = 2)") == 1
                }
                try await h.waitUntil(seconds: 20, "second call in flight") {
                    h.stats().requests(model: "stub-second-latency-12s") == 1
                }
                #expect(worker.inFlight == 2)  // the old call runs on, the new one too
                try await h.waitUntil(seconds: 20, "first attempt's outcome written") {
                    try await h.count("SELECT count(*) FROM model_usage WHERE job_id = \(id) AND attempt = 1") == 1
                }
                try await body(h, worker, id)
            }
        }
    }

    @Test("F1: the old run's completion leaves the re-claimed attempt held and heartbeated: two calls, no third attempt")
    func reclaimedAttemptSurvivesTheOldCompletion() async throws {
        try await Self.reclaimedWhileRunning { h, worker, id in
            // Exactly the live attempt is held (the old run's end removed its own entry only).
            #expect(worker.inFlight == 1)
            try await h.waitForAllJobs(seconds: 30)
            let row = try await h.job(id)
            #expect(row.status == "succeeded")
            #expect(row.attempt == 2)
            #expect(h.stats().requests(model: "stub-first-latency-5s") == 1)
            #expect(h.stats().requests(model: "stub-second-latency-12s") == 1)
            #expect(try await h.count("SELECT count(*) FROM model_usage WHERE job_id = \(id)") == 2)
            // The old attempt's call is recorded, flagged as the duplicate it is (F2).
            #expect(try await h.count("SELECT count(*) FROM model_usage WHERE job_id = \(id) AND attempt = 1 AND superseded") == 1)
            #expect(try await h.count("SELECT count(*) FROM model_usage WHERE job_id = \(id) AND attempt = 2 AND NOT superseded") == 1)
            #expect(worker.inFlight == 0)
            try await expectCountersAgree(h)
        }
    }

    @Test("F1: a cancel after the old run's completion reaches the live attempt")
    func cancelReachesTheLiveAttempt() async throws {
        try await Self.reclaimedWhileRunning { h, _, id in
            // As the API cancels a running job.
            try await h.pool.execute("""
                WITH c AS (UPDATE llm_jobs SET cancel_requested_at = now() WHERE id = \(id) RETURNING id)
                SELECT pg_notify('llm_jobs_cancel', id::text) FROM c
                """)
            // The worker stops the live call (recorded as cancelled) long before it would answer.
            try await h.waitUntil(seconds: 20, "the live call cancelled") {
                try await h.count("""
                    SELECT count(*) FROM model_usage WHERE job_id = \(id) AND attempt = 2 AND error_class = 'cancelled'
                    """) == 1
            }
            try await h.waitForAllJobs(seconds: 20)
            #expect(try await h.job(id).status == "cancelled")
            #expect(h.stats().requests(model: "stub-second-latency-12s") == 1)
        }
    }
}
