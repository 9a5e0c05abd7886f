import Foundation
import JSON
import Postgres
import TestSupport
import Testing

/// The Grafana dashboard in docker/grafana/dashboards and the read-only login role of
/// docker/postgres/initdb.d, as the dashboard tests use them.
enum DashboardSupport {
    static let dashboardFile = TestDatabase.repositoryRoot.appendingPathComponent("docker/grafana/dashboards/switchboard.json")
    static let roleScript = TestDatabase.repositoryRoot.appendingPathComponent("docker/postgres/initdb.d/10-dashboard-role.sh")

    struct Panel {
        var title: String
        var type: String
        var format: String
        var rawSQL: String
    }

    /// Every panel of the dashboard with its one SQL target.
    static func panels() throws -> [Panel] {
        let text = try String(contentsOf: dashboardFile, encoding: .utf8)
        let document = try #require(JSONValue.parse(text), "the dashboard is not valid JSON")
        let panels = try #require(document["panels"]?.arrayValue)
        return try panels.map { panel in
            let title = try #require(panel["title"]?.stringValue)
            let targets = try #require(panel["targets"]?.arrayValue, "panel \(title) has no targets")
            try #require(targets.count == 1, "panel \(title) should have one query")
            return Panel(
                title: title, type: panel["type"]?.stringValue ?? "",
                format: targets[0]["format"]?.stringValue ?? "",
                rawSQL: try #require(targets[0]["rawSql"]?.stringValue, "panel \(title) has no rawSql"))
        }
    }

    /// Grafana's PostgreSQL macros as Grafana expands them for the range `from`…`to`:
    /// `$__timeFilter(col)` → `col BETWEEN 'from' AND 'to'`, `$__timeFrom()` / `$__timeTo()` → the
    /// quoted instant. Any other `$__` macro or `$variable` is an error (the test knows no value).
    static func expandMacros(_ sql: String, from: Date, to: Date) throws -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        let fromText = "'\(formatter.string(from: from))'"
        let toText = "'\(formatter.string(from: to))'"
        var expanded = sql.replacingOccurrences(of: "$__timeFrom()", with: fromText)
            .replacingOccurrences(of: "$__timeTo()", with: toText)
        let filter = try NSRegularExpression(pattern: #"\$__timeFilter\(([^()]+)\)"#)
        expanded = filter.stringByReplacingMatches(
            in: expanded, range: NSRange(expanded.startIndex..., in: expanded),
            withTemplate: "$1 BETWEEN \(fromText) AND \(toText)")
        if expanded.contains("$") {
            throw DashboardTestError.unexpandedMacro(expanded)
        }
        return expanded
    }

    /// The panel's result rows as JSON objects (numbers keep their exact text).
    static func run(_ sql: String, on pool: PostgresPool) async throws -> [JSONValue] {
        let rows = try await pool.query(.unsafeSQL("SELECT to_jsonb(t)::text FROM (\(sql)) t")).rows
        return try rows.map { row in try #require(JSONValue.parse(try row.decode(at: 0, as: String.self))) }
    }

    /// Runs the initdb script against the test server (as the postgres image would) to create a
    /// login role with `password`; returns a configuration that logs in as it.
    static func createLoginRole(
        _ name: String, password: String, database: PostgresConfiguration
    ) throws -> PostgresConfiguration {
        let url = try #require(URLComponents(string: database.connectionString), "tests need DATABASE_URL as a URL")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [roleScript.path]
        var environment = ProcessInfo.processInfo.environment
        environment["PGHOST"] = url.host ?? "127.0.0.1"
        environment["PGPORT"] = String(url.port ?? 5432)
        environment["POSTGRES_USER"] = url.user ?? "postgres"
        environment["POSTGRES_DB"] = String(url.path.dropFirst())
        environment["GRAFANA_DB_USER"] = name
        environment["GRAFANA_DB_PASSWORD"] = password
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "10-dashboard-role.sh failed: \(text)")
        var login = url
        login.user = name
        login.password = password
        // No statement_timeout of ours: the role's own setting applies, as for Grafana.
        return PostgresConfiguration(
            connectionString: try #require(login.string), applicationName: "dashboard-tests", statementTimeout: nil)
    }

    /// A fresh login role made by the initdb script around `body`, dropped afterwards (roles
    /// outlive the test database).
    static func withLoginRole<T>(
        database: PostgresConfiguration, admin: PostgresPool, _ body: (PostgresConfiguration) async throws -> T
    ) async throws -> T {
        let name = "dash_" + UUID().uuidString.prefix(8).lowercased()
        let login = try createLoginRole(name, password: "reader-secret", database: database)
        do {
            let value = try await body(login)
            try await admin.execute(.unsafeSQL("DROP ROLE \(name)"))
            return value
        } catch {
            _ = try? await admin.execute(.unsafeSQL("DROP ROLE \(name)"))
            throw error
        }
    }

    /// The statements of the query block for Metabase / psql users in docs/dashboards.md
    /// (the name is from when that block was in the README).
    static func readmeQueries() throws -> [String] {
        let readme = try String(contentsOf: TestDatabase.repositoryRoot.appendingPathComponent("docs/dashboards.md"), encoding: .utf8)
        let section = try #require(readme.range(of: "**Metabase / psql**"), "docs/dashboards.md has no Metabase queries")
        let rest = readme[section.upperBound...]
        let open = try #require(rest.range(of: "```sql\n"))
        let close = try #require(rest[open.upperBound...].range(of: "```"))
        let block = rest[open.upperBound..<close.lowerBound]
        return block.components(separatedBy: ";\n")
            .map { statement in
                statement.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("--") }
                    .joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
            }
            .filter { !$0.isEmpty }
    }

    /// Exact decimal of a JSON number or numeric text.
    static func decimal(_ value: JSONValue?) -> Decimal? {
        value?.scalarText.flatMap { Decimal(string: $0, locale: Locale(identifier: "en_US_POSIX")) }
    }

    /// PostgreSQL's percentile_cont over `values`.
    static func percentile(_ fraction: Double, _ values: [Int]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let position = fraction * Double(sorted.count - 1)
        let lower = Int(position.rounded(.down))
        let upper = min(lower + 1, sorted.count - 1)
        return Double(sorted[lower]) + (Double(sorted[upper]) - Double(sorted[lower])) * (position - Double(lower))
    }
}

enum DashboardTestError: Error {
    case unexpandedMacro(String)
}
