import Foundation
import Postgres
import Storage
import Testing
import TestSupport

/// `model-registry import-catalog` as a user runs it: a process, the real LiteLLM file, twice.
@Suite struct ImportCatalogCommandTests {
    private func run(_ arguments: [String], database: PostgresConfiguration) throws -> (status: Int32, output: String) {
        let executable = TestDatabase.repositoryRoot.appendingPathComponent(".build/debug/model-registry")
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ["DATABASE_URL": database.connectionString, "PATH": "/usr/bin:/bin"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    private func count(_ label: String, in output: String) -> Int? {
        output.split(separator: "\n")
            .first { $0.trimmingCharacters(in: .whitespaces).hasPrefix(label + ":") }
            .flatMap { Int($0.split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "") }
    }

    @Test func importsTheLiteLLMFileThenChangesNothingOnASecondRun() async throws {
        let executable = TestDatabase.repositoryRoot.appendingPathComponent(".build/debug/model-registry")
        try #require(FileManager.default.isExecutableFile(atPath: executable.path), "build model-registry first")
        let file = TestDatabase.sharedDataDirectory.appendingPathComponent("litellm/model_prices_and_context_window.json").path
        try await TestDatabase.withFreshDatabase { database in
            let migrate = try run(["migrate", "--migrations-dir", TestDatabase.migrationsDirectory.path], database: database)
            #expect(migrate.status == 0, "\(migrate.output)")

            let first = try run(["import-catalog", "--format", "litellm", file], database: database)
            #expect(first.status == 0, "\(first.output)")
            let inserted = try #require(count("inserted", in: first.output), "\(first.output)")
            #expect(inserted > 0)
            #expect((count("skipped", in: first.output) ?? 0) > 1000, "other providers' entries are reported as skipped")
            #expect(first.output.contains("is not callable"))

            let second = try run(["import-catalog", "--format", "litellm", file], database: database)
            #expect(second.status == 0, "\(second.output)")
            #expect(count("inserted", in: second.output) == 0)
            #expect(count("updated", in: second.output) == 0)

            let pool = PostgresPool(configuration: database, maxConnections: 1)
            defer { pool.shutdown() }
            let gpt4o = try await pool.query("SELECT input_cost_per_1k, context_window FROM llm_models WHERE model_id = 'gpt-4o'").rows[0]
            #expect(try gpt4o.decode("input_cost_per_1k", as: Decimal.self) == Decimal(string: "0.0025"))
            #expect(try gpt4o.decode("context_window", as: Int.self) == 128_000)
        }
    }

    @Test func unknownFormatAndMissingFileAreClearErrors() async throws {
        try await TestDatabase.withFreshDatabase { database in
            let format = try run(["import-catalog", "--format", "csv", "x.json"], database: database)
            #expect(format.status != 0)
            #expect(format.output.contains("unknown --format 'csv'"))
            let missing = try run(["import-catalog", "--format", "litellm", "/no/such/file.json"], database: database)
            #expect(missing.status != 0)
            #expect(missing.output.contains("cannot read /no/such/file.json"))
        }
    }
}
