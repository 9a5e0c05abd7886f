import Foundation
import Postgres

/// A PostgreSQL cluster of its own (made by `scripts/local-postgres.sh`), for tests that stop or
/// restart the server: doing that to the shared test cluster would break tests running beside them.
public final class ThrowawayCluster: Sendable {
    public let directory: String
    public let connectionString: String
    private let name: String

    private init(directory: String, connectionString: String, name: String) {
        self.directory = directory
        self.connectionString = connectionString
        self.name = name
    }

    public static func start() async throws -> ThrowawayCluster {
        let name = "throwaway-" + UUID().uuidString.prefix(8).lowercased()
        let directory = "/tmp/switchboard-pg-\(name)"
        let output = try await script(["start", name], directory: directory)
        guard let line = output.split(separator: "\n").last(where: { $0.hasPrefix("DATABASE_URL=") }) else {
            throw ClusterError(message: "local-postgres.sh start printed no DATABASE_URL: \(output)")
        }
        return ThrowawayCluster(directory: directory, connectionString: String(line.dropFirst("DATABASE_URL=".count)), name: name)
    }

    /// `pg_ctl restart`: the server stops (closing every session) and starts again on the same port.
    /// On a loaded machine the start can fail once (e.g. a slow shutdown): it is tried again, and
    /// a final failure carries the server log's tail.
    public func restart() async throws {
        var lastError: (any Error)?
        for _ in 0..<3 {
            do {
                // After a failed attempt the server may be stopped already (the stop half
                // succeeded): `restart` then refuses ("PID file does not exist"), so start it
                // again on its port with the options local-postgres.sh uses.
                let running = FileManager.default.fileExists(atPath: directory + "/data/postmaster.pid")
                if running {
                    try await Self.run(Self.asOwner([
                        Self.binDirectory() + "/pg_ctl", "-D", directory + "/data", "-l", directory + "/log",
                        "-w", "-t", "60", "-m", "fast", "restart",
                    ]))
                } else {
                    let port = try String(contentsOfFile: directory + "/port", encoding: .utf8)
                        .trimmingCharacters(in: .whitespacesAndNewlines)
                    try await Self.run(Self.asOwner([
                        Self.binDirectory() + "/pg_ctl", "-D", directory + "/data", "-l", directory + "/log",
                        "-w", "-t", "60", "-o",
                        "-k \(directory) -p \(port) -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c autovacuum_naptime=1s",
                        "start",
                    ]))
                }
                return
            } catch {
                lastError = error
                try await Task.sleep(for: .seconds(1))
            }
        }
        let log = (try? String(contentsOfFile: directory + "/log", encoding: .utf8)) ?? ""
        throw ClusterError(message: "\(lastError.map { "\($0)" } ?? "restart failed"); server log: \(log.suffix(2000))")
    }

    public func destroy() async {
        _ = try? await Self.script(["destroy", name], directory: directory)
    }

    private static func script(_ arguments: [String], directory: String) async throws -> String {
        let path = TestDatabase.repositoryRoot.appendingPathComponent("scripts/local-postgres.sh").path
        // With DATABASE_URL set the script reuses that server instead of making one.
        return try await run([path] + arguments, environment: ["DATABASE_URL": "", "SWITCHBOARD_PG_DIR": directory])
    }

    private static func asOwner(_ command: [String]) -> [String] {
        getuid() == 0 ? ["/usr/sbin/runuser", "-u", "postgres", "--"] + command : command
    }

    private static func binDirectory() throws -> String {
        let root = "/usr/lib/postgresql"
        let versions = try FileManager.default.contentsOfDirectory(atPath: root).sorted { $0.compare($1, options: .numeric) == .orderedAscending }
        guard let latest = versions.last else { throw ClusterError(message: "no PostgreSQL under \(root)") }
        return "\(root)/\(latest)/bin"
    }

    /// Runs a command through `/bin/sh` on a thread of its own (it takes seconds), output to a
    /// file: the server it starts inherits descriptors and would hold a pipe open forever.
    @discardableResult
    private static func run(_ command: [String], environment: [String: String] = [:]) async throws -> String {
        func quoted(_ word: String) -> String { "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        let outputPath = NSTemporaryDirectory() + "throwaway-cluster-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let assignments = environment.map { "\($0.key)=\(quoted($0.value))" }.sorted()
        // A server started from here would inherit this process's open descriptors (hundreds
        // while other tests hold connections), and `runuser` resets the open-file limit through
        // PAM, so the server refused to start ("insufficient file descriptors"). Close every
        // inherited descriptor above stderr before running the command.
        let closeInherited = #"for fd in /proc/$$/fd/*; do n=${fd##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-"; done 2>/dev/null; "#
        let script = closeInherited + (assignments + command.map(quoted)).joined(separator: " ")
            + " </dev/null >\(quoted(outputPath)) 2>&1"
        let line = "/bin/bash -c " + quoted(script)
        let status: Int32 = await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: system(line)) }
        }
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        guard status == 0 else {
            throw ClusterError(message: "\(command.joined(separator: " ")) failed (\(status)): \(text)")
        }
        return text
    }

    public struct ClusterError: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }
}
