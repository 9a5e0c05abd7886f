import Foundation
import Logging
import Postgres
import ServiceLifecycle
import Synchronization
import Testing
@testable import RegistryAPI

/// `GET /api/jobs/{id}?wait=`: woken by the worker's gated `llm_jobs_done` NOTIFY through one
/// shared listener, re-checked on listener reconnect, current state at the deadline.
@Suite struct JobLongPollTests {
    func enqueue(_ api: Registry, _ agent: String) async throws -> Int64 {
        let reply = try await api.post("/api/jobs", #"{"agent_id": "\#(agent)", "messages": [{"role": "user", "content": "hi"}]}"#)
        return Int64(try #require(try reply.json()["id"]?.int))
    }

    @Test func returnsWhenTheWorkerCompletesTheJob() async throws {
        try await Registry.run { api in
            let agent = try await api.createAgent(#"{"name": "W", "agent_type": "chat"}"#)
            let id = try await enqueue(api, agent)
            try await Worker.claim(api.pool, id)
            let started = ContinuousClock.now
            let poll = Task { try await api.get("/api/jobs/\(id)?wait=60") }
            try await Worker.waitForWaiters(api.pool, count: 1)
            try await Worker.succeed(api.pool, [id])
            let reply = try await poll.value
            #expect(reply.status == .ok, "\(reply)")
            let job = try reply.json()
            #expect(job["status"]?.string == "succeeded")
            #expect(job["result"]?["content"]?.string == "hello")
            #expect(job["result"]?["model"]?.string == "gpt-4o")
            // Woken by the notification, not by its 60-second deadline.
            #expect(ContinuousClock.now - started < .seconds(30))
            // The registration is gone.
            #expect(try await api.pool.query("SELECT 1 FROM llm_job_waiters").rows.isEmpty)
        }
    }

    @Test func answersTheCurrentStateAtTheDeadline() async throws {
        try await Registry.run { api in
            let agent = try await api.createAgent(#"{"name": "T", "agent_type": "chat"}"#)
            let id = try await enqueue(api, agent)
            let reply = try await api.get("/api/jobs/\(id)?wait=1")
            #expect(reply.status == .ok)
            #expect(try reply.json()["status"]?.string == "queued")
            #expect(try await api.pool.query("SELECT 1 FROM llm_job_waiters").rows.isEmpty)
            // A finished job answers at once; bad values are refused; large ones are capped.
            try await Worker.claim(api.pool, id)
            try await Worker.succeed(api.pool, [id])
            #expect(try await api.get("/api/jobs/\(id)?wait=600").json()["status"]?.string == "succeeded")
            #expect(try await api.get("/api/jobs/\(id)?wait=-1").status == .badRequest)
            #expect(try await api.get("/api/jobs/\(id)?wait=soon").status == .badRequest)
            #expect(try await api.get("/api/jobs/777777?wait=5").status == .notFound)
        }
    }

    @Test func cancellingAQueuedJobWakesItsLongPoll() async throws {
        try await Registry.run { api in
            let agent = try await api.createAgent(#"{"name": "X", "agent_type": "chat"}"#)
            let id = try await enqueue(api, agent)
            let poll = Task { try await api.get("/api/jobs/\(id)?wait=60") }
            try await Worker.waitForWaiters(api.pool, count: 1)
            #expect(try await api.post("/api/jobs/\(id)/cancel", "").status == .ok)
            #expect(try await poll.value.json()["status"]?.string == "cancelled")
        }
    }

    /// Many waiters share ONE listener connection: the backends of the test database stay at the
    /// pool's size plus one while 24 requests wait; one NOTIFY naming all jobs wakes all of them.
    @Test func concurrentLongPollsShareOneListener() async throws {
        try await Registry.run { api in
            let agent = try await api.createAgent(#"{"name": "M", "agent_type": "chat"}"#)
            var ids: [Int64] = []
            for _ in 0..<12 { ids.append(try await enqueue(api, agent)) }
            let waiters = ids + ids  // two waiters on each job
            let replies = Task {
                try await withThrowingTaskGroup(of: (Int64, String?).self) { group in
                    for id in waiters {
                        group.addTask { (id, try await api.get("/api/jobs/\(id)?wait=60").json()["status"]?.string) }
                    }
                    var statuses: [(Int64, String?)] = []
                    for try await status in group { statuses.append(status) }
                    return statuses
                }
            }
            try await Worker.waitForWaiters(api.pool, count: waiters.count)
            // Client connections only: an autovacuum worker on the freshly seeded database also shows
            // up under its datname, and did under load (6 backends against a bound of 5).
            let backends = try await api.pool.query("""
                SELECT count(*) AS n FROM pg_stat_activity
                 WHERE datname = current_database() AND backend_type = 'client backend'
                """).rows.first?.decode("n", as: Int.self) ?? 0
            #expect(backends <= api.pool.maxConnections + 1, "\(backends) backends for \(waiters.count) waiters")
            #expect(api.completions?.waitingCount == waiters.count)
            try await Worker.succeed(api.pool, ids)
            let statuses = try await replies.value
            #expect(statuses.count == waiters.count)
            #expect(statuses.allSatisfy { $0.1 == "succeeded" }, "\(statuses)")
        }
    }

    /// A completion whose NOTIFY never arrived is found when the listener reconnects: every waiter
    /// re-reads its job then.
    @Test func rechecksEveryWaiterWhenTheListenerReconnects() async throws {
        try await Registry.run { api in
            let agent = try await api.createAgent(#"{"name": "R", "agent_type": "chat"}"#)
            let id = try await enqueue(api, agent)
            let poll = Task { try await api.get("/api/jobs/\(id)?wait=60") }
            try await Worker.waitForWaiters(api.pool, count: 1)
            try await Worker.succeed(api.pool, [id], notify: false)
            let terminated = try await api.pool.query("""
                SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity
                 WHERE datname = current_database() AND query ILIKE 'LISTEN%'
                """).rows.first?.decode("n", as: Int.self)
            #expect(terminated == 1)
            let reply = try await poll.value
            #expect(try reply.json()["status"]?.string == "succeeded")
        }
    }

    /// SIGTERM must not wait out every long-poll: a graceful shutdown of the service group the
    /// request runs in answers it with the current state, and so does stopping the hub.
    @Test func aGracefulShutdownAnswersWaitingLongPolls() async throws {
        try await Registry.run { api in
            let agent = try await api.createAgent(#"{"name": "G", "agent_type": "chat"}"#)
            let id = try await enqueue(api, agent)
            let hub = try #require(api.completions)

            struct LongPoll: Service {
                let hub: JobCompletionHub
                let id: Int64
                let answer: @Sendable (String?) -> Void
                func run() async throws { answer(try await hub.waitForCompletion(of: id, timeout: .seconds(60))?.status) }
            }
            let answered = Mutex<[String?]>([])
            let group = ServiceGroup(configuration: .init(
                services: [LongPoll(hub: hub, id: id) { status in answered.withLock { $0.append(status) } }],
                logger: Logger(label: "long-poll-test")))
            let started = ContinuousClock.now
            let running = Task { try await group.run() }
            try await Worker.waitForWaiters(api.pool, count: 1)
            await group.triggerGracefulShutdown()
            try await running.value
            #expect(answered.withLock { $0 } == ["queued"])
            #expect(ContinuousClock.now - started < .seconds(30), "answered at shutdown, not at the deadline")
            #expect(try await api.pool.query("SELECT 1 FROM llm_job_waiters").rows.isEmpty)

            // Stopping the hub (the application's service does it) answers waiters too.
            let poll = Task { try await api.get("/api/jobs/\(id)?wait=60") }
            try await Worker.waitForWaiters(api.pool, count: 1)
            hub.shutdown()
            #expect(try await poll.value.json()["status"]?.string == "queued")
        }
    }
}
