import Foundation
import Postgres
import Testing
import TestSupport

@Suite struct PostgresRoundTripTests {
    @Test func hostileStringsRoundTripVerbatim() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let connection = try await PostgresConnection.connect(configuration)
            try await connection.query("CREATE TABLE notes (id serial PRIMARY KEY, body text)")
            let hostile = [
                "it's", "a;b;c", "'; DROP TABLE notes; --", "\"double\"", "back\\slash", "$1 $2", "",
                "line\nbreak\ttab", "emoji 🚀 and ünïcödé 中文",
            ]
            for text in hostile {
                try await connection.execute("INSERT INTO notes (body) VALUES (\(text))")
            }
            let rows = try await connection.query("SELECT body FROM notes ORDER BY id").rows
            #expect(try rows.map { try $0.decode("body", as: String.self) } == hostile)
            // The table survived the "DROP TABLE" string.
            let count = try await connection.query("SELECT count(*) AS n FROM notes").rows[0].decode("n", as: Int.self)
            #expect(count == hostile.count)
        }
    }

    @Test func nullsDecodeOnlyIntoOptionals() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let connection = try await PostgresConnection.connect(configuration)
            let missing: Int? = nil
            let row = try await connection.query("SELECT \(missing)::int AS value, NULL::text AS label").rows[0]
            #expect(try row.decode("value", as: Int?.self) == nil)
            #expect(try row.decode("label", as: String?.self) == nil)
            #expect(row.isNull("label"))
            #expect(throws: PostgresError.self) { try row.decode("value", as: Int.self) }
        }
    }

    @Test func decimalsStayExact() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let connection = try await PostgresConnection.connect(configuration)
            try await connection.query("CREATE TABLE costs (amount numeric NOT NULL)")
            let tenth = try #require(Decimal(string: "0.1"))
            let fifth = try #require(Decimal(string: "0.2"))
            try await connection.execute("INSERT INTO costs VALUES (\(tenth)), (\(fifth))")
            let sum = try await connection.query("SELECT sum(amount) AS total FROM costs").rows[0].decode("total", as: Decimal.self)
            #expect(sum == Decimal(string: "0.3"))
            let tiny = try #require(Decimal(string: "0.000000123456789012345"))
            let back = try await connection.query("SELECT \(tiny) AS value").rows[0].decode("value", as: Decimal.self)
            #expect(back == tiny)
        }
    }

    @Test func scalarTypesRoundTrip() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let connection = try await PostgresConnection.connect(configuration)
            let when = Date(timeIntervalSince1970: 1_795_000_000.123456)
            let id = UUID()
            let row = try await connection.query("""
                SELECT \(when) AS at, \(true) AS yes, \(false) AS no, \(2.5) AS ratio, \(Int.max) AS big,
                       \(id) AS id, \(["a", "b c", "d\"e", "NULL"]) AS tags, \(Data([0, 1, 255])) AS bytes,
                       '2026-10-23'::date AS day
                """).rows[0]
            let decoded = try row.decode("at", as: Date.self)
            #expect(abs(decoded.timeIntervalSince1970 - when.timeIntervalSince1970) < 0.000_002)
            #expect(try row.decode("yes", as: Bool.self) == true)
            #expect(try row.decode("no", as: Bool.self) == false)
            #expect(try row.decode("ratio", as: Double.self) == 2.5)
            #expect(try row.decode("big", as: Int.self) == Int.max)
            #expect(try row.decode("id", as: UUID.self) == id)
            #expect(try row.decode("tags", as: [String].self) == ["a", "b c", "d\"e", "NULL"])
            #expect(try row.decode("bytes", as: Data.self) == Data([0, 1, 255]))
            let day = try row.decode("day", as: Date.self)
            #expect(day == Date(timeIntervalSince1970: 1_792_713_600))
        }
    }

    struct ModelConfig: Codable, Sendable, Equatable {
        var modelID: String
        var temperature: Double
        var fallbacks: [String]
        enum CodingKeys: String, CodingKey {
            case modelID = "model_id", temperature, fallbacks = "fallback_model_ids"
        }
    }

    @Test func jsonbRoundTripsCodableValues() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let connection = try await PostgresConnection.connect(configuration)
            try await connection.query("CREATE TABLE configs (config jsonb NOT NULL)")
            let config = ModelConfig(modelID: "meta-llama/Llama-3.1-8B-Instruct", temperature: 0.7, fallbacks: ["gpt-4o-mini"])
            try await connection.execute("INSERT INTO configs VALUES (\(try PostgresJSON(config)))")
            let row = try await connection.query("SELECT config, config->>'model_id' AS model FROM configs").rows[0]
            #expect(try row.decodeJSON("config", as: ModelConfig.self) == config)
            #expect(try row.decode("model", as: String.self) == "meta-llama/Llama-3.1-8B-Instruct")
        }
    }

    @Test func affectedRowCounts() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let connection = try await PostgresConnection.connect(configuration)
            try await connection.query("CREATE TABLE items (n int)")
            #expect(try await connection.execute("INSERT INTO items SELECT generate_series(1, 7)") == 7)
            #expect(try await connection.execute("UPDATE items SET n = n + 1 WHERE n > \(4)") == 3)
            #expect(try await connection.execute("DELETE FROM items WHERE n = \(99)") == 0)
        }
    }

    @Test func hundredThousandRowResult() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let connection = try await PostgresConnection.connect(configuration)
            let result = try await connection.query("SELECT n, 'row ' || n AS label FROM generate_series(1, \(100_000)) AS n")
            #expect(result.rows.count == 100_000)
            #expect(try result.rows[99_999].decode("n", as: Int.self) == 100_000)
            #expect(try result.rows[41].decode("label", as: String.self) == "row 42")
            var total = 0
            for row in result.rows { total += try row.decode(at: 0, as: Int.self) }
            #expect(total == 100_000 * 100_001 / 2)
        }
    }
}
