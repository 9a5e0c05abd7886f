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

@Suite struct SQLSplicingEdgeCaseTests {
    /// Fragments are spliced as segments: nothing inside comments, E'' strings or $$ bodies is
    /// ever rewritten, and placeholders are numbered once, in bind order.
    @Test func commentsEscapedStringsAndDollarQuotesAreLeftAlone() {
        let fragment: SQL = "a = \(10) -- don't touch\n AND b = \(20) AND c = E'it\\'s $1' AND d = $$ literal $1 $$ AND e = \(30)"
        let sql: SQL = "SELECT \(1), \(2), \(3) WHERE \(fragment)"
        #expect(sql.text == "SELECT $1, $2, $3 WHERE a = $4 -- don't touch\n AND b = $5 AND c = E'it\\'s $1' AND d = $$ literal $1 $$ AND e = $6")
        #expect(sql.binds.map(\.text) == ["1", "2", "3", "10", "20", "30"])
    }

    @Test func fragmentsWithoutBindsAreCopiedVerbatim() {
        let raw = SQL.unsafeSQL("note = '$1' /* $2 */")
        let sql: SQL = "SELECT \(5) WHERE \(raw) AND \(raw)"
        #expect(sql.text == "SELECT $1 WHERE note = '$1' /* $2 */ AND note = '$1' /* $2 */")
        #expect(sql.binds.count == 1)
    }

    @Test func nestedAndAppendedFragmentsNumberInOrder() {
        let inner: SQL = "x = \("a")"
        let middle: SQL = "(\(inner) OR y = \("b"))"
        var sql: SQL = "SELECT \(0) WHERE \(middle)"
        sql.append(" AND z = \("c")")
        #expect(sql.text == "SELECT $1 WHERE (x = $2 OR y = $3) AND z = $4")
        #expect(sql.binds.map(\.text) == ["0", "a", "b", "c"])
    }
}
