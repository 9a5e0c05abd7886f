import Foundation
import Postgres
import Testing
import TestSupport

@Suite struct EncodingTests {
    @Test func splicedFragmentsBindTheRightValuesOnTheServer() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let connection = try await PostgresConnection.connect(configuration)
            let fragment: SQL = "\("second") AS b -- don't\n, E'it\\'s $1' AS e, $$ keep $1 $$ AS d, \("third") AS c"
            let row = try await connection.query("SELECT \("first") AS a, \(fragment)").rows[0]
            #expect(try row.decode("a", as: String.self) == "first")
            #expect(try row.decode("b", as: String.self) == "second")
            #expect(try row.decode("c", as: String.self) == "third")
            #expect(try row.decode("e", as: String.self) == "it's $1")
            #expect(try row.decode("d", as: String.self) == " keep $1 ")
        }
    }

    @Test func aStringWithNULIsRejectedNotCut() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let connection = try await PostgresConnection.connect(configuration)
            try await connection.query("CREATE TABLE notes (body text)")
            let error = await #expect(throws: PostgresError.self) {
                try await connection.execute("INSERT INTO notes VALUES (\("before\u{0}after"))")
            }
            #expect(error?.kind == .invalidValue)
            #expect(try await connection.query("SELECT count(*) AS n FROM notes").rows[0].decode("n", as: Int.self) == 0)
            // Nothing was sent; the connection carries on.
            try await connection.execute("INSERT INTO notes VALUES (\("fine"))")
            #expect(try await connection.query("SELECT body FROM notes").rows[0].decode("body", as: String.self) == "fine")
        }
    }

    struct Measurement: Codable, Sendable { var value: Double }

    @Test func aValueThatCannotBeEncodedThrowsInsteadOfStoringNull() async throws {
        let error = #expect(throws: PostgresError.self) { try PostgresJSON(Measurement(value: .nan)) }
        #expect(error?.kind == .invalidValue)
        let fine = try PostgresJSON(Measurement(value: 1.5))
        #expect(fine.jsonText == #"{"value":1.5}"#)
    }

    @Test func jsonAndBinaryValuesRoundTrip() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let connection = try await PostgresConnection.connect(configuration)
            let bytes = Data((0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
            let old = Date(timeIntervalSince1970: 86_400 * 365 + 0.25)
            let row = try await connection.query("SELECT \(bytes) AS bytes, \(try PostgresJSON(["k": [1, 2]])) AS doc, \(old) AS at").rows[0]
            #expect(try row.decode("bytes", as: Data.self) == bytes)
            #expect(try row.decodeJSON("doc", as: [String: [Int]].self) == ["k": [1, 2]])
            #expect(try row.decode("at", as: Date.self) == old)
        }
    }

    @Test func preEpochDatesSurviveTheTrip() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let connection = try await PostgresConnection.connect(configuration)
            let moonLanding = Date(timeIntervalSince1970: -14_182_940.5)
            let row = try await connection.query("SELECT \(moonLanding) AS at, \(moonLanding)::text AS text").rows[0]
            #expect(try row.decode("at", as: Date.self) == moonLanding)
            #expect(try row.decode("text", as: String.self) == "1969-07-20 20:17:39.5+00")
        }
    }
}

@Suite struct ConnectionSettingsTests {
    /// Settings in the URL are the user's: the code's defaults never override them.
    @Test func urlSettingsWinOverTheCodesDefaults() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            var fromURL = configuration
            fromURL.connectionString += "?application_name=from-url&options=-c%20statement_timeout%3D1234"
            fromURL.applicationName = "from-code"
            let connection = try await PostgresConnection.connect(fromURL)
            let row = try await connection.query("""
                SELECT current_setting('application_name') AS app, current_setting('statement_timeout') AS statement,
                       current_setting('lock_timeout') AS lock, current_setting('TimeZone') AS zone
                """).rows[0]
            #expect(try row.decode("app", as: String.self) == "from-url")
            #expect(try row.decode("statement", as: String.self) == "1234ms")
            // What the URL leaves unset takes the configuration's defaults.
            #expect(try row.decode("lock", as: String.self) == "10s")
            #expect(try row.decode("zone", as: String.self) == "UTC")
        }
    }

    @Test func timeoutsComeFromTheConfiguration() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            var custom = configuration
            custom.statementTimeout = .seconds(5)
            custom.lockTimeout = nil
            custom.idleInTransactionSessionTimeout = .milliseconds(1500)
            let connection = try await PostgresConnection.connect(custom)
            let row = try await connection.query("""
                SELECT current_setting('statement_timeout') AS statement, current_setting('lock_timeout') AS lock,
                       current_setting('idle_in_transaction_session_timeout') AS idle
                """).rows[0]
            #expect(try row.decode("statement", as: String.self) == "5s")
            #expect(try row.decode("lock", as: String.self) == "0")
            #expect(try row.decode("idle", as: String.self) == "1500ms")
        }
    }

    @Test func preparedStatementsAreReusedAndSurviveManyShapes() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let connection = try await PostgresConnection.connect(configuration)
            for n in 0..<20 {
                #expect(try await connection.query("SELECT \(n) + 1 AS n").rows[0].decode("n", as: Int.self) == n + 1)
            }
            // The same text with a NULL (untyped) bind is a different statement, not a type clash.
            let missing: Int? = nil
            #expect(try await connection.query("SELECT \(missing)::int8 + 1 AS n").rows[0].decode("n", as: Int?.self) == nil)
            let prepared = try await connection.query("SELECT count(*) AS n FROM pg_prepared_statements").rows[0].decode("n", as: Int.self)
            #expect(prepared == 2)
        }
    }

    @Test("A stale prepared statement (DDL changed its result) is re-prepared under a new name and run again at once")
    func stalePreparedStatementsAreRepreparedTransparently() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let connection = try await PostgresConnection.connect(configuration)
            try await connection.query("CREATE TABLE t (a int8)")
            try await connection.query("INSERT INTO t VALUES (\(Int64(1)))")
            let rowsOfT: SQL = "SELECT * FROM t WHERE a = \(Int64(1))"
            let other: SQL = "SELECT \(Int64(1)) + 1 AS n"
            _ = try await connection.query(rowsOfT)
            _ = try await connection.query(other)
            try await connection.query("ALTER TABLE t ADD COLUMN b int")
            // 0A000 on the cached plan: answered by a fresh prepare, not thrown.
            #expect(try await connection.query(rowsOfT).columns == ["a", "b"])
            #expect(try await connection.query(rowsOfT).rows.count == 1)
            // The other cached statement still runs its own SQL (names were never reused: 42P05 before).
            #expect(try await connection.query(other).rows[0].decode("n", as: Int.self) == 2)
            // After the session lost its statements (26000), each cache entry still runs its own SQL.
            try await connection.query("DEALLOCATE ALL")
            #expect(try await connection.query(rowsOfT).rows[0].decode("a", as: Int.self) == 1)
            #expect(try await connection.query(other).rows[0].decode("n", as: Int.self) == 2)
        }
    }

    @Test func aPipelineRunsAsOneTransaction() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let pool = PostgresPool(configuration: configuration, maxConnections: 1)
            defer { pool.shutdown() }
            try await pool.query("CREATE TABLE t (n int PRIMARY KEY)")
            let results = try await pool.pipeline([
                "INSERT INTO t VALUES (\(1))", "INSERT INTO t VALUES (\(2))", "SELECT count(*) AS n FROM t",
            ])
            #expect(results.count == 3)
            #expect(try results[2].rows[0].decode("n", as: Int.self) == 2)
            // A failing statement undoes the whole batch.
            let error = await #expect(throws: PostgresError.self) {
                try await pool.pipeline(["INSERT INTO t VALUES (\(3))", "INSERT INTO t VALUES (\(1))", "INSERT INTO t VALUES (\(4))"])
            }
            #expect(error?.isUniqueViolation == true)
            #expect(try await pool.query("SELECT count(*) AS n FROM t").rows[0].decode("n", as: Int.self) == 2)
        }
    }
}

@Suite struct ArrayBindTests {
    @Test func typedArraysWithNullsRoundTrip() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let connection = try await PostgresConnection.connect(configuration)
            let ids = [UUID(), UUID()]
            let counts: [Int?] = [1, nil, 3]
            let prices: [Decimal?] = [Decimal(string: "0.000015"), nil]
            let labels: [String?] = ["NULL", nil, "a \"quoted\" \\ value", "{braces},"]
            let row = try await connection.query("""
                SELECT \(ids) AS ids, \(counts) AS counts, \(prices) AS prices, \(labels) AS labels,
                       pg_typeof(\(ids))::text AS ids_type, cardinality(\(counts)) AS n,
                       \(ids[1]) = ANY(\(ids)) AS found
                """).rows[0]
            #expect(try row.decode("ids", as: [UUID].self) == ids)
            #expect(try row.decode("counts", as: [Int?].self) == counts)
            #expect(try row.decode("prices", as: [Decimal?].self) == prices)
            #expect(try row.decode("labels", as: [String?].self) == labels)
            #expect(try row.decode("ids_type", as: String.self) == "uuid[]")
            #expect(try row.decode("n", as: Int.self) == 3)
            #expect(try row.decode("found", as: Bool.self))
        }
    }

    @Test func batchRowsThroughUnnest() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let connection = try await PostgresConnection.connect(configuration)
            try await connection.query("CREATE TABLE usage (id uuid PRIMARY KEY, tokens int8, cost numeric)")
            let ids = (0..<50).map { _ in UUID() }
            let tokens: [Int] = Array(0..<50)
            let costs: [Decimal?] = (0..<50).map { $0 % 2 == 0 ? Decimal($0) / 1000 : nil }
            let inserted = try await connection.execute("""
                INSERT INTO usage (id, tokens, cost) SELECT * FROM unnest(\(ids), \(tokens), \(costs))
                """)
            #expect(inserted == 50)
            let row = try await connection.query("SELECT sum(tokens) AS t, count(cost) AS priced FROM usage").rows[0]
            #expect(try row.decode("t", as: Int.self) == 1225)
            #expect(try row.decode("priced", as: Int.self) == 25)
        }
    }
}
