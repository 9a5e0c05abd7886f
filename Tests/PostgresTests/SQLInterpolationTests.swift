import Postgres
import Testing

@Suite struct SQLInterpolationTests {
    @Test func interpolatedValuesBecomeNumberedBinds() {
        let name = "x'; DROP TABLE agents; --"
        let sql: SQL = "SELECT * FROM agents WHERE name = \(name) AND max_tokens > \(5)"
        #expect(sql.text == "SELECT * FROM agents WHERE name = $1 AND max_tokens > $2")
        #expect(sql.binds.map(\.text) == [name, "5"])
        #expect(sql.binds.map(\.type) == [.text, .int8])
    }

    @Test func fragmentsAreSplicedWithRenumberedBinds() {
        let filter: SQL = "provider = \("openai") AND status <> \("retired")"
        let sql: SQL = "SELECT \(1) AS one FROM llm_models WHERE \(filter) AND note = '$1'"
        #expect(sql.text == "SELECT $1 AS one FROM llm_models WHERE provider = $2 AND status <> $3 AND note = '$1'")
        #expect(sql.binds.map(\.text) == ["1", "openai", "retired"])
    }

    @Test func joinedFragmentsKeepEveryBind() {
        let parts: [SQL] = ["a = \(1)", "b = \(2)", "c = \(3)"]
        let joined = SQL.joined(parts, separator: " AND ")
        #expect(joined.text == "a = $1 AND b = $2 AND c = $3")
        #expect(joined.binds.count == 3)
    }

    @Test func nilBecomesNull() {
        let missing: String? = nil
        let sql: SQL = "SELECT \(missing)"
        #expect(sql.binds.count == 1)
        #expect(sql.binds[0].text == nil)
    }
}
