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

    @Option(help: ArgumentHelp(
        "After migrating, create or update this login role for serve and llm-gateway: NOSUPERUSER, DML only, config_changes append-only (password: $SWITCHBOARD_SERVICE_DB_PASSWORD; default: $SWITCHBOARD_SERVICE_ROLE).",
        valueName: "name"))
    var serviceRole: String?

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
            if let role = serviceRole ?? environment["SWITCHBOARD_SERVICE_ROLE"].flatMap({ $0.isEmpty ? nil : $0 }) {
                try await ServiceRole.ensure(name: role, password: environment[ServiceRole.passwordVariable], pool: pool)
                print("service role \(role) ready (member of \(ServiceRole.groupRole): DML only, config_changes append-only)")
            }
        } catch {
            throw ValidationError("\(error)")
        }
    }
}
