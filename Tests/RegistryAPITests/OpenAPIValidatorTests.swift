import Foundation
import Testing
import TestSupport

/// `/openapi.json` checked by a real validator (openapi-spec-validator from PyPI, installed by
/// scripts/install-openapi-validator.sh, which `make test` runs). Skipped when it could not be
/// installed (no network): that script then printed why.
@Suite struct OpenAPIValidatorTests {
    static let validator = TestDatabase.repositoryRoot.appendingPathComponent(".build/openapi-venv/bin/openapi-spec-validator")

    @Test(.enabled(
        if: FileManager.default.isExecutableFile(atPath: validator.path),
        "openapi-spec-validator is not installed: run scripts/install-openapi-validator.sh (needs PyPI)"))
    func theDocumentIsValidOpenAPI() async throws {
        try await Registry.run { api in
            let reply = try await api.get("/openapi.json")
            #expect(reply.status == .ok)
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-openapi-\(UUID().uuidString).json")
            try Data(reply.body).write(to: file)
            defer { try? FileManager.default.removeItem(at: file) }
            let process = Process()
            process.executableURL = Self.validator
            process.arguments = [file.path]
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            try process.run()
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "\(output)")
            #expect(output.contains("OK"), "\(output)")
        }
    }
}
