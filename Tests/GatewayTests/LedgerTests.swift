import Foundation
@testable import Gateway
import Postgres
import TestSupport
import Testing

/// The attempt ledger (issue 22, migration 0031): a row per provider call before it is sent,
/// settled exactly once; usage only for the calls settled now; superseded calls counted apart;
/// orphans settled by the rescuer.
@Suite("Gateway: attempt ledger")
struct LedgerTests {
    @Test("A call's ledger row exists while the call is in flight and is settled once when it answers")
    func rowBeforeTheCall() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("stub-ledger-latency-2s", provider: "openai")
            let agent = try await h.addAgent("ledgered", model: "stub-ledger-latency-2s")
            try await h.withWorker { _ in
                let id = try await h.enqueue(agent: agent)
                try await h.waitUntil(seconds: 20, "call sent") { h.stats().requests(model: "stub-ledger-latency-2s") == 1 }
                // The provider has the request: the ledger already knows of it, unsettled.
                #expect(try await h.count("""
                    SELECT count(*) FROM llm_job_calls
                     WHERE job_id = \(id) AND attempt = 1 AND call_seq = 1 AND settled_at IS NULL
                       AND model_id = 'stub-ledger-latency-2s' AND lease_token IS NOT NULL
                    """) == 1)
                try await h.waitForAllJobs()
                #expect(try await h.count("""
                    SELECT count(*) FROM llm_job_calls
                     WHERE job_id = \(id) AND settled_at IS NOT NULL AND outcome = 'success' AND NOT superseded
                    """) == 1)
                #expect(try await h.count("SELECT count(*) FROM model_usage WHERE job_id = \(id) AND call_seq = 1 AND NOT superseded") == 1)
            }
            try await expectCountersAgree(h)
        }
    }

    @Test("F2: a completion written twice (a retried batch) records its calls once")
    func replayWritesNothingTwice() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("gpt-lease", provider: "openai")
            let agent = try await h.addAgent("replayed", model: "gpt-lease")
            let id = try await h.enqueue(agent: agent)
            let store = GatewayStore(pool: h.pool, workerID: "r")
            let job = try #require(try await store.claim(limit: 1, lease: .seconds(30)).first)
            let sequences = try await store.openCalls([
                CallLedger.Entry(attempt: job.key, provider: "openai", modelID: "gpt-lease", fallbackDepth: 0),
            ])
            #expect(sequences[job.key] == .opened(callSeq: 1, reserved: false))
            let batch = CompletionBatch([LeaseTests.outcome(job)])
            #expect(try await store.complete(batch) == 1)
            // As after a COMMIT whose answer was lost and judged rolled back: the same batch again.
            #expect(try await store.complete(batch) == 0)
            #expect(try await h.count("SELECT count(*) FROM model_usage WHERE job_id = \(id)") == 1)
            #expect(try await h.count("SELECT coalesce(sum(requests), 0)::int FROM agent_usage_daily") == 1)
            try await expectCountersAgree(h)
        }
    }

    @Test("The rescuer settles an expired attempt's open calls as unknown; the late answer replaces that once, superseded")
    func rescuerSettlesOrphans() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("gpt-lease", provider: "openai")
            let agent = try await h.addAgent("orphaned", model: "gpt-lease")
            let id = try await h.enqueue(agent: agent)
            let a = GatewayStore(pool: h.pool, workerID: "a")
            let job = try #require(try await a.claim(limit: 1, lease: .seconds(30)).first)
            _ = try await a.openCalls([CallLedger.Entry(attempt: job.key, provider: "openai", modelID: "gpt-lease", fallbackDepth: 0)])
            // a goes silent (killed, or cut off); its lease runs out and another worker rescues.
            try await h.pool.execute("UPDATE llm_jobs SET lease_expires_at = now() - interval '1 second' WHERE id = \(id)")
            #expect(try await GatewayStore(pool: h.pool, workerID: "b").rescueExpired(limit: 10).requeued == 1)
            #expect(try await h.count("""
                SELECT count(*) FROM llm_job_calls
                 WHERE job_id = \(id) AND attempt = 1 AND outcome = 'unknown' AND superseded AND settled_at IS NOT NULL
                """) == 1)
            #expect(try await h.count("SELECT count(*) FROM model_usage") == 0)
            // a was alive after all: its answer is recorded (real spend), as a superseded call, once.
            let batch = CompletionBatch([LeaseTests.outcome(job)])
            #expect(try await a.complete(batch) == 0)
            #expect(try await a.complete(batch) == 0)
            #expect(try await h.count("SELECT count(*) FROM model_usage WHERE job_id = \(id) AND superseded") == 1)
            #expect(try await h.count("SELECT count(*) FROM llm_job_calls WHERE job_id = \(id) AND outcome = 'success' AND superseded") == 1)
            #expect(try await h.job(id).status == "queued")
            try await expectCountersAgree(h)
        }
    }

    @Test("A shutdown release settles the aborted call as unknown; the next claim of the same attempt number continues the sequence")
    func releaseSettlesTheAbortedCall() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("gpt-lease", provider: "openai")
            let agent = try await h.addAgent("released", model: "gpt-lease")
            let id = try await h.enqueue(agent: agent)
            let store = GatewayStore(pool: h.pool, workerID: "s")
            let job = try #require(try await store.claim(limit: 1, lease: .seconds(30)).first)
            let entry = CallLedger.Entry(attempt: job.key, provider: "openai", modelID: "gpt-lease", fallbackDepth: 0)
            _ = try await store.openCalls([entry])
            let released = JobOutcome(job: job, disposition: .released(delay: .zero), calls: [])
            #expect(try await store.complete(CompletionBatch([released])) == 1)
            #expect(try await h.count("""
                SELECT count(*) FROM llm_job_calls WHERE job_id = \(id) AND outcome = 'unknown' AND NOT superseded
                """) == 1)
            let again = try #require(try await store.claim(limit: 1, lease: .seconds(30)).first)
            #expect(again.attempt == 1)  // the release gave the attempt back
            #expect(try await store.openCalls([entry])[again.key] == .opened(callSeq: 2, reserved: false))
        }
    }
}
