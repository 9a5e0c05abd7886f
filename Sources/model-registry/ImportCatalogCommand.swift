import ArgumentParser
import Foundation
import Logging
import Postgres
import Storage

struct ImportCatalogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-catalog",
        abstract: "Import a model catalog file into llm_models (idempotent; keeps local edits).",
        discussion: """
            Example: model-registry import-catalog --format litellm model_prices_and_context_window.json (LiteLLM's cost map)
            Inserts new chat models of callable providers (openai, anthropic, huggingface), updates prices, \
            limits and deprecation dates of existing ones, and reports what it skipped and why.
            """)

    @Option(help: "Catalog format: litellm.")
    var format: String = CatalogImporter.Format.litellm.rawValue

    @Argument(help: "Path of the catalog file.")
    var path: String

    @OptionGroup var database: DatabaseOptions

    @Flag(help: "Also list every skipped entry, not only the counts per reason.")
    var verbose = false

    func run() async throws {
        guard let format = CatalogImporter.Format(rawValue: format) else {
            throw ValidationError("unknown --format '\(format)' (supported: \(CatalogImporter.Format.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        let environment = ProcessInfo.processInfo.environment
        var logger = Logger(label: "model-registry.import-catalog")
        logger.logLevel = environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? .warning
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read \(path)")
        }
        let configuration = try database.configuration(environment)
        let pool = PostgresPool(configuration: configuration, maxConnections: 1, logger: logger)
        defer { pool.shutdown() }
        let report: CatalogImporter.Report
        do {
            report = try await CatalogImporter(pool: pool, logger: logger).importCatalog(data, format: format, actor: .cli)
        } catch {
            throw ValidationError("import failed: \(error)")
        }
        print("imported \(path) into \(configuration)")
        print("  inserted:  \(report.inserted.count)")
        print("  updated:   \(report.updated.count)")
        for update in report.updated.prefix(verbose ? .max : 20) {
            print("    \(update.modelID): \(update.fields.joined(separator: ", "))")
        }
        print("  unchanged: \(report.unchanged.count)")
        print("  skipped:   \(report.skipped.count)")
        let groups = report.skippedByReason
        for group in groups.prefix(verbose ? .max : 12) {
            print("    \(group.count) × \(group.reason) (e.g. \(group.examples.prefix(3).joined(separator: ", ")))")
        }
        if !verbose, groups.count > 12 {
            let rest = groups.dropFirst(12)
            print("    \(rest.reduce(0) { $0 + $1.count }) more in \(rest.count) other reasons (--verbose lists them)")
        }
        if verbose {
            for skip in report.skipped { print("    skipped \(skip.key): \(skip.reason)") }
        }
    }
}
