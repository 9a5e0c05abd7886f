import Foundation

/// `benchmarks/native/hold_server.py` (a one-thread epoll HTTP/1.1 server) as a subprocess:
/// `/fast`, `/delay/MS`, `/hold`. Used where clients drop connections at arbitrary moments,
/// which trips a debug assertion in NIO's response writer of the Hummingbird test server.
final class TestHoldServer: Sendable {
    let port: Int
    private let process: Process
    private let directory: String

    var baseURL: String { "http://127.0.0.1:\(port)" }

    private init(port: Int, process: Process, directory: String) {
        self.port = port
        self.process = process
        self.directory = directory
    }

    static func start() async throws -> TestHoldServer {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("benchmarks/native/hold_server.py").path
        let directory = NSTemporaryDirectory() + "hold-server-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: directory + "/out", contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/out"))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = output
        try process.run()
        for _ in 0..<500 {
            if let text = try? String(contentsOfFile: directory + "/out", encoding: .utf8),
               let line = text.split(separator: "\n").first, let port = Int(line) {
                return TestHoldServer(port: port, process: process, directory: directory)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        kill(process.processIdentifier, SIGKILL)
        throw CancellationError()
    }

    func stop() {
        // SIGKILL: the child may inherit a signal mask that blocks SIGTERM from the test runner.
        kill(process.processIdentifier, SIGKILL)
        try? FileManager.default.removeItem(atPath: directory)
    }
}
