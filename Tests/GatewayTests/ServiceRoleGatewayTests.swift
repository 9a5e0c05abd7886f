import Foundation
@testable import Gateway
import Logging
import Postgres
import Storage
import Testing

/// Review finding P2-9 end to end: the worker and its retention run as the services' NOSUPERUSER
/// role (migrations/0025, `migrate --service-role`): jobs are claimed, called and completed, usage
/// is recorded, and expired usage partitions are dropped, without DDL rights of its own.
@Suite("Gateway: runs as the services' database role")
struct ServiceRoleGatewayTests {
    @Test("A job runs and retention drops an expired partition as the service role")
    func workerAndRetentionAsServiceRole() async throws {
        try await GatewayHarness.run { h in
            let role = "svc_gw_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(10).lowercased()
            try await ServiceRole.ensure(name: role, password: nil, pool: h.pool)
            var service = h.database
            var components = try #require(URLComponents(string: h.database.connectionString))
            components.user = role
            service.connectionString = try #require(components.string)

            try await h.addModel("gpt-svc")
            let agent = try await h.addAgent("svc", model: "gpt-svc")
            var logger = Logger(label: "service-role-test")
            logger.logLevel = .warning
            let worker = try Worker(configuration: h.configuration(workerID: "w-svc"), database: service, logger: logger)
            let task = Task { try await worker.run() }
            do {
                try await h.waitUntil(seconds: 30, "worker ready") { worker.isReady }
                let id = try await h.enqueue(agent: agent)
                try await h.waitForAllJobs()
                #expect(try await h.job(id).status == "succeeded")
                #expect(try await h.count("SELECT count(*) FROM model_usage WHERE worker_id = 'w-svc'") == 1)
                worker.shutdown()
                try await task.value
            } catch {
                worker.shutdown()
                _ = await task.result
                throw error
            }

            // An expired day partition (made by the owner), dropped by retention as the service role.
            try await h.pool.execute("""
                CREATE TABLE model_usage_20200101 PARTITION OF model_usage
                   FOR VALUES FROM ('2020-01-01 00:00:00+00') TO ('2020-01-02 00:00:00+00')
                """)
            let servicePool = PostgresPool(configuration: service, maxConnections: 2)
            defer { servicePool.shutdown() }
            #expect(try await servicePool.query("SELECT current_user::text AS u").rows[0].decode("u", as: String.self) == role)
            let report = try await Retention(
                pool: servicePool, policy: RetentionPolicy(jobs: nil, usage: .seconds(30 * 86_400)), logger: logger
            ).runOnce()
            #expect(report.partitionsDropped == ["model_usage_20200101"])
            #expect(try await h.count("SELECT count(*) FROM pg_class WHERE relname = 'model_usage_20200101'") == 0)
            _ = try? await h.pool.execute(.unsafeSQL("DROP ROLE IF EXISTS \(role)"))
        }
    }
}
