import Foundation
import Postgres
import Testing
import TestSupport

/// `model-registry serve` as an operator starts it: safe defaults without a token, JSON logs.
@Suite struct ServeCommandTests {
    static let executable = TestDatabase.repositoryRoot.appendingPathComponent(".build/debug/model-registry")

    private func start(_ arguments: [String], environment: [String: String]) throws -> (Process, FileHandle) {
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = arguments
        process.environment = environment.merging(["PATH": "/usr/bin:/bin"]) { first, _ in first }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        return (process, pipe.fileHandleForReading)
    }

    @Test func withoutATokenItRefusesAPublicAddress() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.executable.path), "build model-registry first")
        try await TestDatabase.withFreshDatabase { database in
            let (process, output) = try start(
                ["serve", "--host", "0.0.0.0", "--port", "0", "--migrations-dir", TestDatabase.migrationsDirectory.path],
                environment: ["DATABASE_URL": database.connectionString])
            let text = String(decoding: output.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus != 0)
            #expect(text.contains("refusing to serve the API without a token on 0.0.0.0"), "\(text)")
            #expect(text.contains("--allow-unauthenticated"))
        }
    }

    /// Without a token (and without --host) it listens on 127.0.0.1 and says so; LOG_FORMAT=json
    /// makes every line one JSON object.
    @Test func withoutATokenItListensOnLoopbackAndLogsJSON() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.executable.path), "build model-registry first")
        try await TestDatabase.withFreshDatabase { database in
            let (process, output) = try start(
                ["serve", "--port", "0", "--migrations-dir", TestDatabase.migrationsDirectory.path],
                environment: ["DATABASE_URL": database.connectionString, "LOG_FORMAT": "json"])
            defer {
                if process.isRunning { process.terminate() }
                process.waitUntilExit()
            }
            var buffer = ""
            var lines: [String] = []
            // Read until the auth warning has been logged (bounded: the process logs it at start).
            while !lines.contains(where: { $0.contains("registry.auth.disabled") }), lines.count < 50 {
                let chunk = output.availableData
                if chunk.isEmpty { break }
                buffer += String(decoding: chunk, as: UTF8.self)
                while let newline = buffer.firstIndex(of: "\n") {
                    lines.append(String(buffer[..<newline]))
                    buffer = String(buffer[buffer.index(after: newline)...])
                }
            }
            let objects = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            #expect(objects.count == lines.count && !lines.isEmpty, "every line is one JSON object: \(lines)")
            let starting = objects.first { $0["msg"] as? String == "registry.starting" }
            #expect(starting?["http.host"] as? String == "127.0.0.1", "\(lines)")
            #expect(starting?["auth.enabled"] as? String == "false")
            let warning = objects.first { $0["msg"] as? String == "registry.auth.disabled" }
            #expect(warning?["level"] as? String == "warning")
            #expect((warning?["registry.hint"] as? String)?.contains("127.0.0.1") == true)
        }
    }
}
