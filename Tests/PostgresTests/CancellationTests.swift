import Foundation
import Postgres
import Synchronization
import Testing
import TestSupport

@Suite struct CancellationTests {
    @Test func cancellingTheTaskCancelsARunningQuery() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let applicationName = "cancel-\(UUID().uuidString.prefix(8))"
            var named = configuration
            named.applicationName = applicationName
            let pool = PostgresPool(configuration: named, maxConnections: 1)
            defer { pool.shutdown() }
            let admin = try await PostgresConnection.connect(configuration)
            let sleeper = Task { try await pool.query("SELECT pg_sleep(60) AS slept") }
            // Wait until the server really runs it, then cancel the task.
            try await waitUntil {
                try await admin.query("SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = \(applicationName) AND query LIKE 'SELECT pg_sleep%' AND state = 'active'").rows[0].decode("n", as: Int.self) == 1
            }
            sleeper.cancel()
            await #expect(throws: CancellationError.self) { try await sleeper.value }
            // The server stopped the statement (not merely the caller giving up), and the
            // connection went back to the pool in working order.
            let running = try await admin.query("SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = \(applicationName) AND state = 'active'").rows[0].decode("n", as: Int.self)
            #expect(running == 0)
            #expect(try await pool.query("SELECT 7 AS n").rows[0].decode("n", as: Int.self) == 7)
        }
    }

    @Test func cancellingInsideATransactionRollsItBack() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let pool = PostgresPool(configuration: configuration, maxConnections: 1)
            defer { pool.shutdown() }
            let admin = try await PostgresConnection.connect(configuration)
            try await pool.query("CREATE TABLE t (n int)")
            let started = Atomic<Bool>(false)
            let task = Task {
                try await pool.withTransaction { connection in
                    try await connection.execute("INSERT INTO t VALUES (1)")
                    started.store(true, ordering: .sequentiallyConsistent)
                    try await connection.query("SELECT pg_sleep(60)")
                }
            }
            try await waitUntil { started.load(ordering: .sequentiallyConsistent) }
            // The server is inside pg_sleep: cancelling now interrupts a running statement.
            try await waitUntil {
                try await admin.query("""
                    SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query LIKE 'SELECT pg_sleep(60)%'
                    """).rows[0].decode("n", as: Int.self) == 1
            }
            task.cancel()
            await #expect(throws: CancellationError.self) { try await task.value }
            #expect(try await pool.query("SELECT count(*) AS n FROM t").rows[0].decode("n", as: Int.self) == 0)
        }
    }

    @Test func aQueryInAnAlreadyCancelledTaskDoesNotRun() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let connection = try await PostgresConnection.connect(configuration)
            try await connection.query("CREATE TABLE t (n int)")
            let task = Task {
                withUnsafeCurrentTask { $0?.cancel() }
                return try await connection.execute("INSERT INTO t VALUES (1)")
            }
            await #expect(throws: CancellationError.self) { try await task.value }
            #expect(try await connection.query("SELECT count(*) AS n FROM t").rows[0].decode("n", as: Int.self) == 0)
        }
    }

    @Test func statementTimeoutIsAServerErrorNotACancellation() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            var limited = configuration
            limited.statementTimeout = .milliseconds(200)
            let connection = try await PostgresConnection.connect(limited)
            let error = await #expect(throws: PostgresError.self) { try await connection.query("SELECT pg_sleep(30)") }
            #expect(error?.sqlState == "57014")
            #expect(try await connection.query("SELECT 1 AS one").rows.count == 1)
        }
    }

    @Test func cancelledPoolWaiterLeavesTheQueueWithoutRunning() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let pool = PostgresPool(configuration: configuration, maxConnections: 1, acquireTimeout: nil)
            defer { pool.shutdown() }
            let (release, releaseContinuation) = AsyncStream.makeStream(of: Void.self)
            let holding = Atomic<Bool>(false)
            let holder = Task {
                try await pool.withConnection { _ in
                    holding.store(true, ordering: .sequentiallyConsistent)
                    for await _ in release { break }
                }
            }
            try await waitUntil { holding.load(ordering: .sequentiallyConsistent) }
            let ranBody = Atomic<Bool>(false)
            let waiter = Task {
                try await pool.withConnection { _ in ranBody.store(true, ordering: .sequentiallyConsistent) }
            }
            try await waitUntil { pool.waitingCount == 1 }
            waiter.cancel()
            await #expect(throws: CancellationError.self) { try await waiter.value }
            releaseContinuation.yield()
            try await holder.value
            #expect(ranBody.load(ordering: .sequentiallyConsistent) == false)
            // The single connection went back to the pool, not to the cancelled waiter.
            #expect(try await pool.query("SELECT 3 AS n").rows[0].decode("n", as: Int.self) == 3)
        }
    }

    @Test func acquireTimesOutWhenEveryConnectionIsBusy() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let pool = PostgresPool(configuration: configuration, maxConnections: 1, acquireTimeout: .milliseconds(200))
            defer { pool.shutdown() }
            let (release, releaseContinuation) = AsyncStream.makeStream(of: Void.self)
            let holding = Atomic<Bool>(false)
            let holder = Task {
                try await pool.withConnection { _ in
                    holding.store(true, ordering: .sequentiallyConsistent)
                    for await _ in release { break }
                }
            }
            try await waitUntil { holding.load(ordering: .sequentiallyConsistent) }
            let error = await #expect(throws: PostgresError.self) { try await pool.query("SELECT 1") }
            #expect(error?.kind == .poolTimeout)
            releaseContinuation.yield()
            try await holder.value
            #expect(try await pool.query("SELECT 1 AS one").rows.count == 1)
        }
    }
}

@Suite struct CancellationRaceTests {
    /// Cancels land at random moments (before, during, just after their statement) on four
    /// shared connections. A cancel must only ever hit its own statement: every task that is
    /// not cancelled succeeds, although it runs right after cancelled ones on the same sessions.
    @Test func lateCancelsNeverHitTheNextStatement() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let pool = PostgresPool(configuration: configuration, maxConnections: 4)
            defer { pool.shutdown() }
            let outcomes = try await withThrowingTaskGroup(of: (cancelled: Bool, succeeded: Bool).self) { group in
                var tasks: [(Task<Int, any Error>, Bool)] = []
                for n in 0..<200 {
                    let task = Task { try await pool.query("SELECT pg_sleep(0.002), \(n) AS n").rows[0].decode("n", as: Int.self) }
                    tasks.append((task, n % 2 == 0))
                }
                for (task, cancel) in tasks {
                    group.addTask {
                        if cancel {
                            try await Task.sleep(for: .microseconds(Int.random(in: 0...5_000)))
                            task.cancel()
                        }
                        do {
                            _ = try await task.value
                            return (cancel, true)
                        } catch is CancellationError where cancel {
                            return (cancel, false)
                        }
                    }
                }
                var outcomes: [(cancelled: Bool, succeeded: Bool)] = []
                for try await outcome in group { outcomes.append(outcome) }
                return outcomes
            }
            #expect(outcomes.count == 200)
            #expect(outcomes.filter { !$0.cancelled }.allSatisfy { $0.succeeded })
            // The pool is in working order afterwards.
            #expect(try await pool.query("SELECT 1 AS one").rows.count == 1)
        }
    }
}
