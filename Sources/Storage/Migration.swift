import Foundation

/// One schema change: a plain SQL file in `migrations/`, named `NNNN_description.sql`.
public struct Migration: Sendable, Equatable {
    /// The file name without `.sql`; files apply in this name's lexical order.
    public var version: String
    public var sql: String

    public init(version: String, sql: String) {
        self.version = version
        self.sql = sql
    }

    /// The first-line marker of a file that must run outside a transaction block.
    public static let noTransactionMarker = "-- switchboard:no-transaction"

    /// Whether the file's first line is `-- switchboard:no-transaction` (`CREATE INDEX
    /// CONCURRENTLY`, `ALTER SYSTEM`, `VACUUM`: statements PostgreSQL refuses inside a transaction).
    /// Such a file holds ONE statement: several would run as one implicit transaction again.
    public var runsOutsideTransaction: Bool {
        let firstLine = sql.prefix { $0 != "\n" && $0 != "\r" }
        return firstLine.trimmingCharacters(in: .whitespaces) == Self.noTransactionMarker
    }

    /// Reads every `*.sql` file of a folder, sorted by name.
    public static func load(from directory: URL) throws -> [Migration] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw MigrationError.directoryUnreadable(directory.path, "\(error.localizedDescription)")
        }
        return try names.filter { $0.hasSuffix(".sql") }.sorted().map { name in
            let url = directory.appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: url.path) else {
                throw MigrationError.directoryUnreadable(url.path, "cannot read file")
            }
            return Migration(version: String(name.dropLast(4)), sql: String(decoding: data, as: UTF8.self))
        }
    }

    /// Where the migrations are: `SWITCHBOARD_MIGRATIONS_DIR`, else `migrations/` in the current
    /// folder, else next to the checkout the executable was built in (`.build/<config>/…`).
    public static func defaultDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let configured = environment["SWITCHBOARD_MIGRATIONS_DIR"], !configured.isEmpty {
            return URL(fileURLWithPath: configured)
        }
        let candidates = [
            URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("migrations"),
            URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath()
                .deletingLastPathComponent().appendingPathComponent("../../../migrations").standardized,
            URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath()
                .deletingLastPathComponent().appendingPathComponent("migrations"),
        ]
        return candidates.first { FileManager.default.fileExists(atPath: $0.path) } ?? candidates[0]
    }
}

public enum MigrationError: Error, Equatable, CustomStringConvertible {
    case directoryUnreadable(String, String)
    case checksumMismatch(version: String, applied: String, onDisk: String)
    case failed(version: String, reason: String)

    public var description: String {
        switch self {
        case .directoryUnreadable(let path, let reason):
            return "cannot read migrations at \(path): \(reason)"
        case .checksumMismatch(let version, let applied, let onDisk):
            return "migration \(version) was changed after it was applied (checksum \(applied) in schema_migrations, \(onDisk) on disk); applied migrations must never be edited — restore the file and add a new migration instead"
        case .failed(let version, let reason):
            return "migration \(version) failed and was rolled back: \(reason)"
        }
    }
}
