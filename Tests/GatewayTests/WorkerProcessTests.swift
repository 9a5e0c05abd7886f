import CurlHTTP
import Catalog
import Foundation
import Postgres
import TestSupport
import Testing

/// Real `llm-gateway run` processes (the built executable) against the test database and the
/// in-process stub: several workers, kill -9, SIGTERM.
@Suite("Gateway: worker processes", .serialized)
struct WorkerProcessTests {
    static let executable = TestDatabase.repositoryRoot.appendingPathComponent(".build/debug/llm-gateway")

    /// A running `llm-gateway run`; its output goes to a log file named in failures.
    final class GatewayProcess: @unchecked Sendable {
        let process = Process()
        let log: URL

        /// `environment` is added to this process's (over the defaults below); it replaces
        /// `--metrics-port 0` when it sets GATEWAY_METRICS_PORT (flags win over variables).
        init(h: GatewayHarness, workerID: String, arguments: [String], environment extra: [String: String] = [:]) throws {
            // A missing executable fails the test (never a silent skip): `swift build` builds it.
            guard FileManager.default.isExecutableFile(atPath: WorkerProcessTests.executable.path) else {
                throw HarnessError.missing("\(WorkerProcessTests.executable.path) (run swift build first)")
            }
            log = FileManager.default.temporaryDirectory.appendingPathComponent("llm-gateway-test-\(workerID)-\(UUID().uuidString.prefix(6)).log")
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            process.executableURL = WorkerProcessTests.executable
            let metrics = extra["GATEWAY_METRICS_PORT"] == nil ? ["--metrics-port", "0"] : []
            process.arguments = ["run", "--worker-id", workerID, "--poll-interval", "0.2"] + metrics + arguments
            var environment = ProcessInfo.processInfo.environment
            environment["DATABASE_URL"] = h.database.connectionString
            environment["STUB_KEY"] = "sk-stub-test"
            environment[KeyHostBindings.environmentVariable] = "STUB_KEY=127.0.0.1"
            environment["LOG_LEVEL"] = "notice"
            environment.merge(extra) { _, new in new }
            process.environment = environment
            let handle = try FileHandle(forWritingTo: log)
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
        }

        func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

        /// Waits (bounded) for the process to exit; returns its status.
        func waitForExit(seconds: Double = 60) async throws -> Int32 {
            let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
            while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                Issue.record("llm-gateway did not exit; log: \(log.path)")
                while process.isRunning { try await Task.sleep(for: .milliseconds(50)) }
            }
            return process.terminationStatus
        }

        deinit {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
    }

    static func insertJobs(_ h: GatewayHarness, agent: UUID, count: Int) async throws {
        try await h.pool.execute("""
            INSERT INTO llm_jobs (agent_id, request)
            SELECT \(agent), jsonb_build_object('messages', jsonb_build_array(
                       jsonb_build_object('role', 'user', 'content', 'job ' || g)))
              FROM generate_series(1, \(count)) g
            """)
    }

    @Test("Two worker processes run 2,000 jobs, each exactly once")
    func twoWorkersRunEachJobOnce() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("stub-queue-latency-5ms", provider: "openai")
            let agent = try await h.addAgent("bulk", model: "stub-queue-latency-5ms")
            let workers = try ["p1", "p2"].map { try GatewayProcess(h: h, workerID: $0, arguments: ["--concurrency", "64", "--batch-size", "32"]) }
            try await Self.insertJobs(h, agent: agent, count: 2000)
            try await h.waitForAllJobs(seconds: 120)
            for worker in workers { worker.signal(SIGTERM) }
            for worker in workers { #expect(try await worker.waitForExit() == 0) }

            #expect(try await h.count("SELECT count(*) FROM llm_jobs WHERE status = 'succeeded' AND attempt = 1") == 2000)
            #expect(h.stats().requests(model: "stub-queue-latency-5ms") == 2000)
            #expect(try await h.count("SELECT count(DISTINCT job_id) FROM model_usage") == 2000)
            #expect(try await h.count("SELECT count(*) FROM model_usage") == 2000)
            // Both workers took part.
            #expect(try await h.count("SELECT count(DISTINCT worker_id) FROM model_usage") == 2)
            try await expectCountersAgree(h)
            #expect(try await h.count("SELECT count(*) FROM llm_gateway_waiters") == 0)
        }
    }

    @Test("F5: token counts of Int.max, -1 and 2^31 from either API style leave the worker alive and end each job once")
    func hostileTokenCounts() async throws {
        try await GatewayHarness.run { h in
            var models: [String] = []
            for (provider, tag) in [("openai", "oa"), ("anthropic", "an")] {
                for mode in ["max", "negative", "int4"] {
                    let model = "stub-\(tag)-usage-\(mode)"
                    try await h.addModel(model, provider: provider)
                    try await h.enqueue(agent: try await h.addAgent(model, model: model))
                    models.append(model)
                }
            }
            let worker = try GatewayProcess(h: h, workerID: "hostile", arguments: [])
            // Ends early when the worker dies (the trap this test is about), not after the deadline.
            try await h.waitUntil(seconds: 60, "jobs finished or worker gone") {
                try await h.count("SELECT count(*) FROM llm_jobs WHERE status IN ('queued', 'running')") == 0
                    || !worker.process.isRunning
            }
            let log = (try? String(contentsOf: worker.log, encoding: .utf8)) ?? ""
            #expect(worker.process.isRunning, "llm-gateway died: \(log.suffix(2000))")
            #expect(try await h.count("SELECT count(*) FROM llm_jobs WHERE status = 'succeeded' AND attempt = 1") == 6)
            for model in models { #expect(h.stats().requests(model: model) == 1, "\(model)") }
            // One row per call, billed for an amount nobody knows: flagged, tokens and cost unknown.
            #expect(try await h.count("SELECT count(*) FROM model_usage") == 6)
            #expect(try await h.count("""
                SELECT count(*) FROM model_usage
                 WHERE usage_invalid AND outcome = 'success' AND input_tokens IS NULL AND cost IS NULL
                """) == 6)
            try await expectCountersAgree(h)
            worker.signal(SIGTERM)
            #expect(try await worker.waitForExit() == 0)
        }
    }

    @Test("A lease under the floor is refused unless the test flag lowers it (F2)")
    func leaseFloor() async throws {
        try await GatewayHarness.run { h in
            let refused = try GatewayProcess(h: h, workerID: "short", arguments: ["--lease-seconds", "5"])
            let status = try await refused.waitForExit(seconds: 30)
            let log = (try? String(contentsOf: refused.log, encoding: .utf8)) ?? ""
            #expect(status != 0, "\(log)")
            #expect(log.contains("--lease-seconds must be at least 30"), "\(log)")
            let allowed = try GatewayProcess(h: h, workerID: "short-ok", arguments: ["--lease-seconds", "5", "--allow-short-lease"])
            try await h.waitUntil(seconds: 30, "worker registered idle") {
                try await h.count("SELECT count(*) FROM llm_gateway_waiters WHERE worker_id = 'short-ok'") == 1
            }
            allowed.signal(SIGTERM)
            #expect(try await allowed.waitForExit() == 0)
        }
    }

    @Test("A malformed SWITCHBOARD_KEY_HOSTS stops the start with a message naming the entry", arguments: [
        ("STUB_KEY", "has no '='"), ("STUB_KEY=https://127.0.0.1", "bare host"), ("DATABASE_URL=127.0.0.1", "Switchboard's own secrets"),
    ])
    func malformedKeyHostsRefused(value: String, expected: String) async throws {
        try await GatewayHarness.run { h in
            let gateway = try GatewayProcess(
                h: h, workerID: "bad-keys", arguments: [], environment: [KeyHostBindings.environmentVariable: value])
            let status = try await gateway.waitForExit(seconds: 30)
            let log = (try? String(contentsOf: gateway.log, encoding: .utf8)) ?? ""
            #expect(status != 0, "\(log)")
            #expect(log.contains("SWITCHBOARD_KEY_HOSTS: entry '\(value)'") && log.contains(expected), "\(log)")
        }
    }

    @Test("The metrics server answers /metrics, /healthz and /readyz")
    func metricsServer() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("gpt-metered", provider: "openai")
            let agent = try await h.addAgent("metered", model: "gpt-metered")
            let port = try Self.freePort()
            let worker = try GatewayProcess(h: h, workerID: "metered", arguments: ["--metrics-port", String(port), "--metrics-host", "127.0.0.1"])
            try await Self.insertJobs(h, agent: agent, count: 5)
            try await h.waitForAllJobs()
            let http = try CurlHTTPClient()
            defer { http.shutdown() }
            let base = "http://127.0.0.1:\(port)"
            try await h.waitUntil(seconds: 30, "readyz 200") {
                (try? await http.send(CurlHTTPRequest(url: base + "/readyz")))?.status == 200
            }
            #expect(try await http.send(CurlHTTPRequest(url: base + "/healthz")).status == 200)
            let metrics = try await http.send(CurlHTTPRequest(url: base + "/metrics")).bodyText
            #expect(metrics.contains("gateway_jobs_claimed_total 5"))
            #expect(metrics.contains(#"gateway_jobs_completed_total{status="succeeded"} 5"#))
            #expect(metrics.contains("gateway_provider_calls_total{"))
            #expect(metrics.contains("gateway_provider_call_duration_seconds_bucket{"))
            worker.signal(SIGTERM)
            #expect(try await worker.waitForExit() == 0)
        }
    }

    @Test("Options the help promises a variable for read it: GATEWAY_METRICS_HOST/PORT, GATEWAY_MAX_RETRIES")
    func optionsFromTheEnvironment() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("stub-error-500", provider: "openai")
            let agent = try await h.addAgent("failing", model: "stub-error-500")
            let port = try Self.freePort()
            // 127.0.0.2 is loopback too: only the variable can put the server there.
            let worker = try GatewayProcess(h: h, workerID: "env", arguments: [], environment: [
                "GATEWAY_METRICS_PORT": String(port), "GATEWAY_METRICS_HOST": "127.0.0.2",
                "GATEWAY_MAX_RETRIES": "0", "GATEWAY_RETRY_BASE_MS": "1",
            ])
            try await h.pool.execute("""
                INSERT INTO llm_jobs (agent_id, request, max_attempts)
                VALUES (\(agent), '{"messages": [{"role": "user", "content": "x"}]}', 1)
                """)
            try await h.waitForAllJobs()
            // No retry of the same model (the default is 2): one call for the one attempt.
            #expect(h.stats().requests(model: "stub-error-500") == 1)
            let http = try CurlHTTPClient()
            defer { http.shutdown() }
            try await h.waitUntil(seconds: 30, "readyz 200 on 127.0.0.2") {
                (try? await http.send(CurlHTTPRequest(url: "http://127.0.0.2:\(port)/readyz")))?.status == 200
            }
            #expect((try? await http.send(CurlHTTPRequest(url: "http://127.0.0.1:\(port)/readyz"))) == nil)
            worker.signal(SIGTERM)
            #expect(try await worker.waitForExit() == 0)
        }
    }

    /// Review finding P2-10: without --metrics-host the server listens on loopback only (here:
    /// 127.0.0.1 answers, 127.0.0.2 does not, which 0.0.0.0 would), and GATEWAY_METRICS_TOKEN puts
    /// /metrics behind a bearer token while the probes stay open.
    @Test("The metrics server binds 127.0.0.1 by default and GATEWAY_METRICS_TOKEN guards /metrics")
    func metricsServerDefaultsToLoopbackWithOptionalToken() async throws {
        try await GatewayHarness.run { h in
            let port = try Self.freePort()
            let token = "metrics-token-0123456789abcdef0123456789"
            let worker = try GatewayProcess(h: h, workerID: "loopback-metrics", arguments: [], environment: [
                "GATEWAY_METRICS_PORT": String(port), "GATEWAY_METRICS_TOKEN": token,
            ])
            let http = try CurlHTTPClient()
            defer { http.shutdown() }
            let base = "http://127.0.0.1:\(port)"
            try await h.waitUntil(seconds: 30, "readyz 200 on 127.0.0.1") {
                (try? await http.send(CurlHTTPRequest(url: base + "/readyz")))?.status == 200
            }
            #expect((try? await http.send(CurlHTTPRequest(url: "http://127.0.0.2:\(port)/readyz"))) == nil, "not on every interface")
            #expect(try await http.send(CurlHTTPRequest(url: base + "/healthz")).status == 200)
            let anonymous = try await http.send(CurlHTTPRequest(url: base + "/metrics"))
            #expect(anonymous.status == 401)
            #expect(!anonymous.bodyText.contains("gateway_"))
            let wrong = try await http.send(CurlHTTPRequest(url: base + "/metrics", headers: [("Authorization", "Bearer nope")]))
            #expect(wrong.status == 401)
            let authorized = try await http.send(CurlHTTPRequest(url: base + "/metrics", headers: [("Authorization", "Bearer \(token)")]))
            #expect(authorized.status == 200)
            #expect(authorized.bodyText.contains("gateway_jobs_claimed_total"))
            worker.signal(SIGTERM)
            #expect(try await worker.waitForExit() == 0)
        }
    }

    /// A port that was free a moment ago (bound to 0, read back, closed).
    static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard bound == 0 else { throw HarnessError.timeout("bind failed") }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    @Test("kill -9 of a worker: its jobs are rescued after the lease and every job succeeds")
    func killedWorkerIsRescued() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("stub-rescue-latency-30ms", provider: "openai")
            let agent = try await h.addAgent("rescued", model: "stub-rescue-latency-30ms")
            try await Self.insertJobs(h, agent: agent, count: 2000)
            let doomed = try GatewayProcess(h: h, workerID: "doomed", arguments: ["--concurrency", "64", "--lease-seconds", "2", "--allow-short-lease"])
            let survivor = try GatewayProcess(h: h, workerID: "survivor", arguments: ["--concurrency", "64", "--lease-seconds", "2", "--allow-short-lease"])
            try await h.waitUntil(seconds: 60, "doomed worker busy") {
                try await h.count("SELECT count(*) FROM llm_jobs WHERE status = 'running' AND lease_owner = 'doomed'") > 0
                    && h.stats().totalRequests > 300
            }
            doomed.signal(SIGKILL)
            _ = try await doomed.waitForExit()
            #expect(try await h.count("SELECT count(*) FROM llm_jobs WHERE status = 'running' AND lease_owner = 'doomed'") > 0)
            try await h.waitForAllJobs(seconds: 120)
            survivor.signal(SIGTERM)
            #expect(try await survivor.waitForExit() == 0)

            #expect(try await h.count("SELECT count(*) FROM llm_jobs WHERE status = 'succeeded'") == 2000)
            // Rescued jobs ran again (attempt 2) on the survivor.
            #expect(try await h.count("SELECT count(*) FROM llm_jobs WHERE attempt = 2") > 0)
            #expect(try await h.count("SELECT count(*) FROM model_usage u JOIN llm_jobs j ON j.id = u.job_id WHERE j.attempt = 2 AND u.attempt = 2 AND u.worker_id = 'survivor'") > 0)
            // None completed twice (issue 14, fault tests): exactly one successful call on each
            // job's final attempt, and no call started after its job had finished.
            #expect(try await h.count("""
                SELECT count(*) FROM llm_jobs j
                 WHERE (SELECT count(*) FROM model_usage u
                         WHERE u.job_id = j.id AND u.outcome = 'success' AND u.attempt = j.attempt) <> 1
                """) == 0)
            #expect(try await h.count("""
                SELECT count(*) FROM model_usage u JOIN llm_jobs j ON j.id = u.job_id WHERE u.started_at > j.finished_at
                """) == 0)
            try await expectCountersAgree(h)
            // F6 (issue 22): the killed worker's calls in flight (answered or not, never written)
            // are in the ledger, settled by the rescuer as unknown: nothing existed only in memory.
            let ledgerRows = try await h.count("SELECT count(*) FROM llm_job_calls")
            let usageRows = try await h.count("SELECT count(*) FROM model_usage")
            #expect(try await h.count("SELECT count(*) FROM llm_job_calls WHERE settled_at IS NULL") == 0)
            #expect(try await h.count("""
                SELECT count(*) FROM llm_job_calls WHERE outcome = 'unknown' AND superseded AND worker_id = 'doomed'
                """) > 0)
            #expect(try await h.count("SELECT count(*) FROM llm_job_calls WHERE outcome = 'unknown'") == ledgerRows - usageRows)
            // Every call the provider saw has its row (a row may precede a send the kill cut off).
            #expect(ledgerRows >= h.stats().requests(model: "stub-rescue-latency-30ms"))
        }
    }

    @Test("SIGTERM: in-flight calls finish, unstarted jobs stay queued with no attempt spent")
    func sigtermDrains() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("stub-drain-latency-1500ms", provider: "openai")
            let agent = try await h.addAgent("drained", model: "stub-drain-latency-1500ms")
            try await Self.insertJobs(h, agent: agent, count: 100)
            let worker = try GatewayProcess(h: h, workerID: "draining", arguments: ["--concurrency", "10", "--grace-period", "20"])
            try await h.waitUntil(seconds: 60, "10 calls in flight") { h.stats().inFlight == 10 }
            worker.signal(SIGTERM)
            #expect(try await worker.waitForExit() == 0)
            let succeeded = try await h.count("SELECT count(*) FROM llm_jobs WHERE status = 'succeeded'")
            #expect(succeeded == h.stats().requests(model: "stub-drain-latency-1500ms"))
            #expect(succeeded >= 10)
            #expect(try await h.count("SELECT count(*) FROM llm_jobs WHERE status = 'queued' AND attempt = 0 AND lease_owner IS NULL") == 100 - succeeded)
            #expect(try await h.count("SELECT count(*) FROM llm_jobs WHERE status = 'running'") == 0)
        }
    }

    @Test("SIGTERM with a short grace period: calls still running are cancelled and released without spending an attempt")
    func sigtermReleases() async throws {
        try await GatewayHarness.run { h in
            try await h.addModel("stub-long-latency-20s", provider: "openai")
            let agent = try await h.addAgent("released", model: "stub-long-latency-20s")
            try await Self.insertJobs(h, agent: agent, count: 30)
            let worker = try GatewayProcess(h: h, workerID: "releasing", arguments: ["--concurrency", "10", "--grace-period", "0.5"])
            try await h.waitUntil(seconds: 60, "10 calls in flight") { h.stats().inFlight == 10 }
            worker.signal(SIGTERM)
            #expect(try await worker.waitForExit() == 0)
            #expect(try await h.count("SELECT count(*) FROM llm_jobs WHERE status = 'queued' AND attempt = 0 AND lease_owner IS NULL AND started_at IS NULL") == 30)
            #expect(try await h.count("SELECT count(*) FROM model_usage") == 0)
        }
    }
}
