import ArgumentParser
import Foundation
import Logging
import Postgres
import Storage

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply pending schema migrations (safe to run from many processes at once)."
    )

    @Option(help: "Folder of NNNN_name.sql files (default: SWITCHBOARD_MIGRATIONS_DIR, else ./migrations).")
    var migrationsDir: String?

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let logger = Logger(label: "model-registry.migrate")
        let environment = ProcessInfo.processInfo.environment
        let configuration = try database.configuration(environment)
        let directory = migrationsDir.map { URL(fileURLWithPath: $0) } ?? Migration.defaultDirectory(environment: environment)
        let pool = PostgresPool(configuration: configuration, maxConnections: 1, logger: logger)
        defer { pool.shutdown() }
        do {
            let migrator = Migrator(pool: pool, migrations: try Migration.load(from: directory), logger: logger)
            let applied = try await migrator.migrate()
            print(applied.isEmpty ? "database is up to date (\(configuration))" : "applied \(applied.count) migration(s) to \(configuration): \(applied.joined(separator: ", "))")
        } catch {
            throw ValidationError("\(error)")
        }
    }
}
