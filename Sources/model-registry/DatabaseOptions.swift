import ArgumentParser
import Foundation
import Postgres

/// `--database-url`, shared by every subcommand that needs the database; DATABASE_URL otherwise.
struct DatabaseOptions: ParsableArguments {
    @Option(help: "PostgreSQL URL or conninfo (default: DATABASE_URL).")
    var databaseURL: String?

    func configuration(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> PostgresConfiguration {
        if let databaseURL { return PostgresConfiguration(connectionString: databaseURL, applicationName: "model-registry") }
        return try PostgresConfiguration.fromEnvironment(environment, applicationName: "model-registry")
    }
}
