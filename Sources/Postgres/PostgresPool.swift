import Foundation
import Logging
import Synchronization

/// A bounded pool of connections. At most `maxConnections` exist at once; callers beyond that
/// wait their turn. A connection found broken, or released mid-transaction, is closed and its
/// slot reused for a fresh one, so after a server restart the next query reconnects.
public final class PostgresPool: Sendable {
    public let configuration: PostgresConfiguration
    public let maxConnections: Int
    private let logger: Logger
    private let state = Mutex(State())

    private struct State {
        var idle: [PostgresConnection] = []
        /// Connections open or being opened, in use or idle.
        var slotsTaken = 0
        var waiters: [CheckedContinuation<Grant, any Error>] = []
        var isShutdown = false
    }

    /// What a waiting caller is handed: an idle connection, or a free slot to open one in.
    private enum Grant: Sendable {
        case connection(PostgresConnection)
        case slot
    }

    public init(configuration: PostgresConfiguration, maxConnections: Int = 10, logger: Logger = Logger(label: "postgres.pool")) {
        self.configuration = configuration
        self.maxConnections = max(1, maxConnections)
        self.logger = logger
    }

    /// Lends a connection to `body` and takes it back afterwards, even when `body` throws.
    public func withConnection<T>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        let connection = try await acquire()
        do {
            let value = try await body(connection)
            release(connection)
            return value
        } catch {
            release(connection)
            throw error
        }
    }

    @discardableResult
    public func query(_ sql: SQL) async throws -> PostgresQueryResult {
        try await withConnection { try await $0.query(sql) }
    }

    @discardableResult
    public func execute(_ sql: SQL) async throws -> Int {
        try await withConnection { try await $0.execute(sql) }
    }

    /// Runs `body` in a transaction on one pooled connection; commits, or rolls back on throw.
    @discardableResult
    public func withTransaction<T>(
        isolation: TransactionIsolation = .readCommitted,
        _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await withConnection { connection in
            try await connection.withTransaction(isolation: isolation, body)
        }
    }

    /// Closes idle connections and fails waiting callers; connections in use close on release.
    public func shutdown() {
        let waiters = state.withLock { state in
            state.isShutdown = true
            // Dropping the idle connections closes them (PQfinish in their deinit).
            state.slotsTaken -= state.idle.count
            state.idle.removeAll()
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(throwing: PostgresError(kind: .shutdown, message: "connection pool is shut down")) }
    }

    private func acquire() async throws -> PostgresConnection {
        let immediate: Grant? = try state.withLock { state in
            if state.isShutdown { throw PostgresError(kind: .shutdown, message: "connection pool is shut down") }
            if let connection = state.idle.popLast() { return .connection(connection) }
            if state.slotsTaken < maxConnections {
                state.slotsTaken += 1
                return .slot
            }
            return nil
        }
        let grant: Grant
        if let immediate {
            grant = immediate
        } else {
            grant = try await withCheckedThrowingContinuation { continuation in
                // Re-checked under the lock: a release may have happened since the first look.
                let now: Result<Grant, any Error>? = state.withLock { state in
                    if state.isShutdown { return .failure(PostgresError(kind: .shutdown, message: "connection pool is shut down")) }
                    if let connection = state.idle.popLast() { return .success(.connection(connection)) }
                    if state.slotsTaken < maxConnections {
                        state.slotsTaken += 1
                        return .success(.slot)
                    }
                    state.waiters.append(continuation)
                    return nil
                }
                if let now { continuation.resume(with: now) }
            }
        }
        switch grant {
        case .connection(let connection):
            if await connection.checkAlive() { return connection }
            logger.notice("postgres.pool.replacing_dead_connection")
            return try await open()
        case .slot:
            return try await open()
        }
    }

    /// Opens a connection in a slot this caller holds; on failure passes the slot on.
    private func open() async throws -> PostgresConnection {
        do {
            return try await PostgresConnection.connect(configuration)
        } catch {
            freeSlot()
            throw error
        }
    }

    private func release(_ connection: PostgresConnection) {
        if !connection.isReusable {
            logger.notice("postgres.pool.discarding_connection", metadata: ["postgres.broken": "\(connection.isBroken)"])
            freeSlot()
            return
        }
        let waiter: CheckedContinuation<Grant, any Error>? = state.withLock { state in
            if state.isShutdown {
                state.slotsTaken -= 1
                return nil
            }
            if !state.waiters.isEmpty { return state.waiters.removeFirst() }
            state.idle.append(connection)
            return nil
        }
        waiter?.resume(returning: .connection(connection))
    }

    /// A slot whose connection is gone goes to the next waiter, who opens a fresh connection.
    private func freeSlot() {
        let waiter: CheckedContinuation<Grant, any Error>? = state.withLock { state in
            if !state.isShutdown, !state.waiters.isEmpty { return state.waiters.removeFirst() }
            state.slotsTaken -= 1
            return nil
        }
        waiter?.resume(returning: .slot)
    }
}
