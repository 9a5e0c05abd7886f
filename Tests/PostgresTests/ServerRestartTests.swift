import Foundation
import Postgres
import Testing
import TestSupport

@Suite struct ServerRestartTests {
    /// A real `pg_ctl restart` of a cluster of the test's own: pooled connections and the
    /// listener all lose their sessions at once, and both recover.
    @Test func poolAndListenerSurviveAServerRestart() async throws {
        let cluster = try await ThrowawayCluster.start()
        do {
            try await restartScenario(cluster)
        } catch {
            await cluster.destroy()
            throw error
        }
        await cluster.destroy()
    }

    private func restartScenario(_ cluster: ThrowawayCluster) async throws {
        let configuration = PostgresConfiguration(connectionString: cluster.connectionString, connectTimeoutSeconds: 5)
        let pool = PostgresPool(configuration: configuration, maxConnections: 3)
        defer { pool.shutdown() }
        let listener = PostgresListener(configuration: configuration, channels: ["after_restart"])
        defer { listener.stop() }
        let events = listener.events()
        #expect(await next(events) == .event(.listening(isReconnect: false)))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<3 { group.addTask { try await pool.query("SELECT pg_sleep(0.05)") } }
            try await group.waitForAll()
        }
        let before = try await pool.query("SELECT pg_postmaster_start_time()::text AS t").rows[0].decode("t", as: String.self)

        try await cluster.restart()

        // Every pooled session is gone; the pool notices (socket EOF) and opens new ones.
        try await withThrowingTaskGroup(of: Int.self) { group in
            for n in 0..<6 { group.addTask { try await pool.query("SELECT \(n) AS n").rows[0].decode("n", as: Int.self) } }
            var seen: [Int] = []
            for try await n in group { seen.append(n) }
            #expect(seen.sorted() == Array(0..<6))
        }
        let after = try await pool.query("SELECT pg_postmaster_start_time()::text AS t").rows[0].decode("t", as: String.self)
        #expect(after != before, "the server really restarted")

        // The listener reports the reconnect, then delivers again.
        #expect(await next(events, within: 30) == .event(.listening(isReconnect: true)))
        try await pool.query("SELECT pg_notify('after_restart', 'hello')")
        guard case .event(.notification(let notification)) = await next(events) else {
            Issue.record("no notification after the restart")
            return
        }
        #expect(notification.payload == "hello")
    }
}
