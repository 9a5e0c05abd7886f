import Foundation
import Postgres

/// Each test that touches the database gets its own, created from `DATABASE_URL` and dropped
/// afterwards, so tests run in parallel without seeing each other's rows.
public enum TestDatabase {
    /// The server `make test` started (or the one `DATABASE_URL` names).
    public static func serverConfiguration() throws -> PostgresConfiguration {
        try PostgresConfiguration.fromEnvironment(ProcessInfo.processInfo.environment, applicationName: "switchboard-tests")
    }

    /// How many database tests run at once. Swift Testing starts every test concurrently; on a
    /// 2-core machine that many pools exhaust the server's connections and starve each other.
    static let concurrentDatabases = AsyncSemaphore(permits: 6)

    /// Creates an empty database, runs `body` with its configuration, then drops it.
    public static func withFreshDatabase<T>(
        _ body: (PostgresConfiguration) async throws -> T
    ) async throws -> T {
        await concurrentDatabases.acquire()
        defer { concurrentDatabases.release() }
        let server = try serverConfiguration()
        let name = "sb_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        let admin = try await PostgresConnection.connect(server)
        try await admin.query(.unsafeSQL("CREATE DATABASE \(name)"))
        let configuration = PostgresConfiguration(
            connectionString: connectionString(server.connectionString, database: name),
            applicationName: "switchboard-tests"
        )
        do {
            let value = try await body(configuration)
            try await admin.query(.unsafeSQL("DROP DATABASE \(name) WITH (FORCE)"))
            return value
        } catch {
            _ = try? await admin.query(.unsafeSQL("DROP DATABASE \(name) WITH (FORCE)"))
            throw error
        }
    }

    /// The checkout's root folder (for `migrations/` and `../shared/data`).
    public static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static var migrationsDirectory: URL { repositoryRoot.appendingPathComponent("migrations") }

    /// `../shared/data` beside the checkout.
    public static var sharedDataDirectory: URL {
        repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/data")
    }
}

/// The same server with another database: a URL gets a new path, a conninfo string a later
/// `dbname` (libpq lets the last one win).
public func connectionString(_ base: String, database: String) -> String {
    if base.hasPrefix("postgres://") || base.hasPrefix("postgresql://"), var components = URLComponents(string: base) {
        components.path = "/" + database
        return components.string ?? base
    }
    return base + " dbname=\(database)"
}
