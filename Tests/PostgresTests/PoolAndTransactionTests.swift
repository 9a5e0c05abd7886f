import Foundation
import Postgres
import Synchronization
import Testing
import TestSupport

struct Boom: Error {}

@Suite struct PoolAndTransactionTests {
    @Test func transactionCommitsOrRollsBack() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let pool = PostgresPool(configuration: configuration, maxConnections: 2)
            defer { pool.shutdown() }
            try await pool.query("CREATE TABLE ledger (entry text)")
            try await pool.withTransaction { connection in
                try await connection.execute("INSERT INTO ledger VALUES (\("kept"))")
            }
            await #expect(throws: Boom.self) {
                try await pool.withTransaction { connection in
                    try await connection.execute("INSERT INTO ledger VALUES (\("discarded"))")
                    throw Boom()
                }
            }
            let entries = try await pool.query("SELECT entry FROM ledger").rows.map { try $0.decode("entry", as: String.self) }
            #expect(entries == ["kept"])
        }
    }

    @Test func serializationFailureIsRecognisable() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let pool = PostgresPool(configuration: configuration, maxConnections: 2)
            defer { pool.shutdown() }
            try await pool.query("CREATE TABLE counter (n int); INSERT INTO counter VALUES (0)")
            let first = try await PostgresConnection.connect(configuration)
            let second = try await PostgresConnection.connect(configuration)
            try await first.query("BEGIN ISOLATION LEVEL SERIALIZABLE")
            try await second.query("BEGIN ISOLATION LEVEL SERIALIZABLE")
            _ = try await first.query("SELECT n FROM counter")
            _ = try await second.query("SELECT n FROM counter")
            try await first.execute("UPDATE counter SET n = n + 1")
            try await first.query("COMMIT")
            let error = await #expect(throws: PostgresError.self) { try await second.execute("UPDATE counter SET n = n + 1") }
            #expect(error?.isSerializationFailure == true)
            try await second.query("ROLLBACK")
        }
    }

    @Test func twoHundredTasksShareEightConnections() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let pool = PostgresPool(configuration: PostgresConfiguration(connectionString: configuration.connectionString, applicationName: "pool-200"), maxConnections: 8)
            defer { pool.shutdown() }
            let results = try await withThrowingTaskGroup(of: (Int, Int, Int).self) { group in
                for task in 0..<200 {
                    group.addTask {
                        try await pool.withConnection { connection in
                            let row = try await connection.query("""
                                SELECT \(task) * 2 AS doubled, pg_sleep(0.01)::text AS slept,
                                       (SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pool-200') AS open
                                """).rows[0]
                            return (task, try row.decode("doubled", as: Int.self), try row.decode("open", as: Int.self))
                        }
                    }
                }
                var results: [(Int, Int, Int)] = []
                for try await result in group { results.append(result) }
                return results
            }
            #expect(results.count == 200)
            #expect(results.allSatisfy { $0.1 == $0.0 * 2 })
            let mostOpen = results.map(\.2).max() ?? 0
            #expect(mostOpen <= 8)
        }
    }

    /// Eight statements that each check in (a sequence: visible to every session at once, not
    /// transactional) and then wait, on the server, until all eight have: they can only all
    /// finish if the pool really runs them at the same time on eight connections.
    @Test func eightTasksRunTogetherOnEightConnections() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let pool = PostgresPool(configuration: configuration, maxConnections: 8)
            defer { pool.shutdown() }
            try await pool.query("CREATE SEQUENCE arrivals")
            let reached = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        try await pool.query("""
                            DO $$
                            DECLARE deadline timestamptz := clock_timestamp() + interval '20 seconds';
                            BEGIN
                              PERFORM nextval('arrivals');
                              WHILE (SELECT last_value FROM arrivals) < 8 LOOP
                                IF clock_timestamp() >= deadline THEN RAISE EXCEPTION 'barrier not reached'; END IF;
                                PERFORM pg_sleep(0.01);
                              END LOOP;
                            END $$
                            """)
                        return true
                    }
                }
                var reached = 0
                for try await ok in group where ok { reached += 1 }
                return reached
            }
            #expect(reached == 8)
        }
    }

    @Test func poolRecoversAfterBackendsAreTerminated() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let applicationName = "terminate-\(UUID().uuidString.prefix(8))"
            let pool = PostgresPool(
                configuration: PostgresConfiguration(connectionString: configuration.connectionString, applicationName: applicationName),
                maxConnections: 4)
            defer { pool.shutdown() }
            // Open all four connections.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 { group.addTask { try await pool.query("SELECT pg_sleep(0.05)") } }
                try await group.waitForAll()
            }
            let admin = try await PostgresConnection.connect(configuration)
            let terminated = try await admin.query("""
                SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS n
                FROM pg_stat_activity WHERE application_name = \(applicationName)
                """).rows[0].decode("n", as: Int.self)
            #expect(terminated == 4)
            // Wait until the server has really closed them, as after a restart.
            for _ in 0..<100 {
                let left = try await admin.query("SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = \(applicationName)").rows[0].decode("n", as: Int.self)
                if left == 0 { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            // Every following query succeeds on a fresh connection.
            try await withThrowingTaskGroup(of: Int.self) { group in
                for n in 0..<8 { group.addTask { try await pool.query("SELECT \(n) AS n").rows[0].decode("n", as: Int.self) } }
                var seen: [Int] = []
                for try await n in group { seen.append(n) }
                #expect(seen.sorted() == Array(0..<8))
            }
        }
    }

    @Test func connectionBrokenMidUseIsReplaced() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let pool = PostgresPool(configuration: configuration, maxConnections: 1)
            defer { pool.shutdown() }
            // The session kills itself mid-statement: the caller sees the failure...
            await #expect(throws: PostgresError.self) {
                try await pool.query("SELECT pg_terminate_backend(pg_backend_pid())")
            }
            // ...and the next caller gets a working connection in the same slot.
            let answer = try await pool.query("SELECT 42 AS answer").rows[0].decode("answer", as: Int.self)
            #expect(answer == 42)
        }
    }
}

@Suite struct TransactionSafetyTests {
    @Test func swallowedStatementErrorDoesNotReportACommit() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let pool = PostgresPool(configuration: configuration, maxConnections: 1)
            defer { pool.shutdown() }
            try await pool.query("CREATE TABLE t (id int PRIMARY KEY)")
            await #expect(throws: PostgresError.self) {
                try await pool.withTransaction { connection in
                    try await connection.execute("INSERT INTO t VALUES (1)")
                    // The body catches the error and carries on: PostgreSQL would turn COMMIT into ROLLBACK.
                    _ = try? await connection.execute("INSERT INTO t VALUES (1)")
                }
            }
            let count = try await pool.query("SELECT count(*) AS n FROM t").rows[0].decode("n", as: Int.self)
            #expect(count == 0)
        }
    }

    @Test func unparseableURLNeverShowsThePassword() async throws {
        let configuration = PostgresConfiguration(connectionString: "postgresql://app:s3cret-pw@[::1/db")
        let error = await #expect(throws: PostgresError.self) { try await PostgresConnection.connect(configuration) }
        #expect(error?.kind == .connection)
        #expect(error?.description.contains("s3cret-pw") == false)
    }
}

@Suite struct PoolShutdownTests {
    @Test func shutdownFailsWaitersAndClosesConnectionsInUseOnRelease() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let applicationName = "shutdown-\(UUID().uuidString.prefix(8))"
            var named = configuration
            named.applicationName = applicationName
            let pool = PostgresPool(configuration: named, maxConnections: 1, acquireTimeout: nil)
            let admin = try await PostgresConnection.connect(configuration)
            let (release, releaseContinuation) = AsyncStream.makeStream(of: Void.self)
            let holding = Atomic<Bool>(false)
            let holder = Task {
                try await pool.withConnection { connection in
                    holding.store(true, ordering: .sequentiallyConsistent)
                    for await _ in release { break }
                    // Still usable while held, even though the pool has shut down meanwhile.
                    return try await connection.query("SELECT 1 AS one").rows.count
                }
            }
            try await waitUntil { holding.load(ordering: .sequentiallyConsistent) }
            let waiter = Task { try await pool.query("SELECT 1") }
            try await waitUntil { pool.waitingCount == 1 }
            pool.shutdown()
            let error = await #expect(throws: PostgresError.self) { try await waiter.value }
            #expect(error?.kind == .shutdown)
            releaseContinuation.yield()
            #expect(try await holder.value == 1)
            // The released connection was closed, not kept: no session of this pool is left.
            try await waitUntil {
                try await admin.query("SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = \(applicationName)").rows[0].decode("n", as: Int.self) == 0
            }
            await #expect(throws: PostgresError.self) { try await pool.query("SELECT 1") }
        }
    }
}
