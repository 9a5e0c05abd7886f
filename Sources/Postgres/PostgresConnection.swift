import Foundation
import Synchronization

/// An open database connection with an async API. Its libpq calls run on its own thread.
/// Use one connection from one task at a time (the pool guarantees this).
public final class PostgresConnection: Sendable {
    private let connection: BlockingConnection
    private let thread: ConnectionThread
    /// Numbers this connection's statements, so a cancel can name the one it means.
    private let statementCounter = Atomic<UInt64>(0)

    private init(connection: BlockingConnection, thread: ConnectionThread) {
        self.connection = connection
        self.thread = thread
    }

    /// Opens a connection; throws `PostgresError(kind: .connection)` naming host, port and
    /// libpq's reason (never the password).
    public static func connect(_ configuration: PostgresConfiguration) async throws -> PostgresConnection {
        let thread = ConnectionThread(name: "postgres-connection")
        do {
            let connection = try await thread.run { try BlockingConnection(configuration: configuration) }
            return PostgresConnection(connection: connection, thread: thread)
        } catch {
            thread.stop()
            throw error
        }
    }

    /// The session ends on its own thread (the last job there), not on the thread that dropped
    /// the connection, which may belong to Swift's cooperative pool.
    deinit {
        let connection = connection
        thread.submit { connection.close() }
        thread.stop()
    }

    /// Runs a statement and returns its rows. Cancelling the calling task cancels the statement
    /// on the server (`PQcancel`) and throws `CancellationError`.
    @discardableResult
    public func query(_ sql: SQL) async throws -> PostgresQueryResult {
        let connection = connection
        return try await cancellable { statement in
            try await self.thread.run { try connection.execute(sql, statement: statement) }
        }
    }

    /// Runs statements in one round trip (pipeline mode) as one implicit transaction: all take
    /// effect or, when one fails, none does and its error is thrown. Returns one result per
    /// statement. Statements with binds only (one statement each, no scripts).
    @discardableResult
    public func pipeline(_ statements: [SQL]) async throws -> [PostgresQueryResult] {
        let connection = connection
        return try await cancellable { statement in
            try await self.thread.run { try connection.executePipeline(statements, statement: statement) }
        }
    }

    /// Runs `body` with a fresh statement number; a task cancellation sends a cancel for exactly
    /// that statement, from a thread of its own (it connects to the server, which blocks).
    private func cancellable<T: Sendable>(_ body: (UInt64) async throws -> T) async throws -> T {
        let statement = statementCounter.add(1, ordering: .relaxed).newValue
        let connection = connection
        return try await withTaskCancellationHandler {
            try await body(statement)
        } onCancel: {
            // Not started yet: it never will. Running: PQcancel from a thread of its own.
            if connection.markCancelled(statement) {
                Thread.detachNewThread { connection.sendCancel(statement) }
            }
        }
    }

    /// A statement that runs even when the task is cancelled (ROLLBACK after a failure).
    private func queryIgnoringCancellation(_ sql: SQL) async throws {
        let connection = connection
        _ = try await thread.run { try connection.execute(sql, statement: nil) }
    }

    /// Runs a statement and returns the number of rows it affected.
    @discardableResult
    public func execute(_ sql: SQL) async throws -> Int {
        try await query(sql).affectedRows
    }

    /// Runs `body` inside BEGIN … COMMIT; rolls back and rethrows when `body` throws.
    @discardableResult
    public func withTransaction<T>(
        isolation: TransactionIsolation = .readCommitted,
        _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await query(.unsafeSQL("BEGIN ISOLATION LEVEL \(isolation.rawValue)"))
        let value: T
        do {
            value = try await body(self)
        } catch {
            if !isBroken { try? await queryIgnoringCancellation("ROLLBACK") }
            throw error
        }
        do {
            // A body that swallowed a statement error leaves the transaction aborted, and
            // PostgreSQL answers COMMIT by rolling back without an error: report it as one.
            if connection.isInFailedTransaction {
                throw PostgresError(kind: .server, message: "transaction was aborted by an earlier error that the body caught; it has been rolled back")
            }
            try await query("COMMIT")
        } catch {
            if !isBroken { try? await queryIgnoringCancellation("ROLLBACK") }
            throw error
        }
        return value
    }

    /// Quotes a name for use as an SQL identifier (e.g. a LISTEN channel).
    public func escapeIdentifier(_ name: String) async throws -> String {
        let connection = connection
        return try await thread.run {
            guard let escaped = connection.escapeIdentifier(name) else {
                throw PostgresError(kind: .server, message: "cannot quote identifier '\(name)'")
            }
            return escaped
        }
    }

    /// libpq reports the connection broken (after an error while in use).
    public var isBroken: Bool { connection.isBroken }

    /// False when the connection is broken or a transaction was left open.
    var isReusable: Bool { !connection.isBroken && connection.isIdleOutsideTransaction }

    /// Checks, without a round trip or a thread hop, that the server has not closed the session.
    /// Only called by the pool while no statement runs on the connection.
    func checkAlive() -> Bool { connection.checkAlive() }
}

public enum TransactionIsolation: String, Sendable {
    case readCommitted = "READ COMMITTED"
    case repeatableRead = "REPEATABLE READ"
    case serializable = "SERIALIZABLE"
}
