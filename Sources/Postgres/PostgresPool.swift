import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// A bounded pool of connections. At most `maxConnections` exist at once; callers beyond that
/// wait their turn, at most `acquireTimeout`, and stop waiting when their task is cancelled.
/// A connection found broken, or released mid-transaction, is closed and its slot reused for a
/// fresh one, so after a server restart the next query reconnects.
public final class PostgresPool: Sendable {
    public let configuration: PostgresConfiguration
    public let maxConnections: Int
    /// How long a caller waits for a free connection before `PostgresError(kind: .poolTimeout)`;
    /// `nil` waits as long as it takes.
    public let acquireTimeout: Duration?
    private let logger: Logger
    private let state = Mutex(State())

    private struct State {
        var idle: [PostgresConnection] = []
        /// Connections open or being opened, in use or idle.
        var slotsTaken = 0
        var waiters = WaiterQueue()
        var isShutdown = false
        var nextWaiterID: UInt64 = 0
        /// Waiters whose task was cancelled (or timed out) before they were queued.
        var abandonedBeforeQueued: Set<UInt64> = []
    }

    /// What a waiting caller is handed: an idle connection, or a free slot to open one in.
    private enum Grant: Sendable {
        case connection(PostgresConnection)
        case slot
    }

    /// Waiters in arrival order; removal by id (cancel, timeout) is O(1).
    private struct WaiterQueue {
        private var order: [UInt64] = []
        private var head = 0
        private var continuations: [UInt64: CheckedContinuation<Grant, any Error>] = [:]

        var isEmpty: Bool { continuations.isEmpty }
        var count: Int { continuations.count }

        mutating func append(_ id: UInt64, _ continuation: CheckedContinuation<Grant, any Error>) {
            order.append(id)
            continuations[id] = continuation
        }

        mutating func remove(_ id: UInt64) -> CheckedContinuation<Grant, any Error>? {
            continuations.removeValue(forKey: id)
        }

        mutating func popFirst() -> CheckedContinuation<Grant, any Error>? {
            while head < order.count {
                let id = order[head]
                head += 1
                if let continuation = continuations.removeValue(forKey: id) {
                    compact()
                    return continuation
                }
            }
            compact()
            return nil
        }

        mutating func removeAll() -> [CheckedContinuation<Grant, any Error>] {
            defer { self = WaiterQueue() }
            return order[head...].compactMap { continuations[$0] }
        }

        private mutating func compact() {
            if head == order.count {
                order.removeAll(keepingCapacity: true)
                head = 0
            } else if head > 1024, head * 2 > order.count {
                order.removeFirst(head)
                head = 0
            }
        }
    }

    public init(
        configuration: PostgresConfiguration, maxConnections: Int = 10, acquireTimeout: Duration? = .seconds(30),
        logger: Logger = Logger(label: "postgres.pool")
    ) {
        self.configuration = configuration
        self.maxConnections = max(1, maxConnections)
        self.acquireTimeout = acquireTimeout
        self.logger = logger
    }

    /// Callers waiting for a connection right now (all are lent out): a saturation signal, and what
    /// a test waits on instead of sleeping.
    public var waitingCount: Int { state.withLock { $0.waiters.count } }

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

    /// Runs statements in one round trip as one implicit transaction (see `PostgresConnection.pipeline`).
    @discardableResult
    public func pipeline(_ statements: [SQL]) async throws -> [PostgresQueryResult] {
        try await withConnection { try await $0.pipeline(statements) }
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
            return state.waiters.removeAll()
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
        if let immediate { grant = immediate } else { grant = try await waitForGrant() }
        switch grant {
        case .connection(let connection):
            // Inline, no thread hop: a zero-timeout poll on the idle connection's socket.
            if connection.checkAlive() { return connection }
            logger.notice("postgres.pool.replacing_dead_connection")
            return try await open()
        case .slot:
            return try await open()
        }
    }

    /// Queues the caller until a release or a freed slot hands it something, its task is
    /// cancelled (`CancellationError`) or `acquireTimeout` passes (`.poolTimeout`).
    private func waitForGrant() async throws -> Grant {
        let id = state.withLock { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        let timer = acquireTimeout.map { timeout in
            Task { [weak self] in
                try await Task.sleep(for: timeout)
                self?.abandon(id, with: PostgresError(kind: .poolTimeout, message: "no database connection became free within \(timeout) (pool of \(self?.maxConnections ?? 0))"))
            }
        }
        defer {
            timer?.cancel()
            // A cancel or timeout that raced the grant may have left the id behind: forget it
            // (no new cancel can name it now; a timer that already woke only touches the set).
            state.withLock { _ = $0.abandonedBeforeQueued.remove(id) }
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                // Re-checked under the lock: a release may have happened since the first look.
                let now: Result<Grant, any Error>? = state.withLock { state in
                    if state.abandonedBeforeQueued.remove(id) != nil { return .failure(CancellationError()) }
                    if state.isShutdown { return .failure(PostgresError(kind: .shutdown, message: "connection pool is shut down")) }
                    if let connection = state.idle.popLast() { return .success(.connection(connection)) }
                    if state.slotsTaken < maxConnections {
                        state.slotsTaken += 1
                        return .success(.slot)
                    }
                    state.waiters.append(id, continuation)
                    return nil
                }
                if let now { continuation.resume(with: now) }
            }
        } onCancel: {
            abandon(id, with: CancellationError())
        }
    }

    /// Takes a waiter out of the queue and fails it; remembers the id when it is not queued yet.
    private func abandon(_ id: UInt64, with error: any Error) {
        let waiter: CheckedContinuation<Grant, any Error>? = state.withLock { state in
            if let waiter = state.waiters.remove(id) { return waiter }
            // Not queued yet (or already served: then the id is never looked up again).
            if id > 0 { state.abandonedBeforeQueued.insert(id) }
            return nil
        }
        waiter?.resume(throwing: error)
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
            if let waiter = state.waiters.popFirst() { return waiter }
            state.idle.append(connection)
            return nil
        }
        waiter?.resume(returning: .connection(connection))
    }

    /// A slot whose connection is gone goes to the next waiter, who opens a fresh connection.
    private func freeSlot() {
        let waiter: CheckedContinuation<Grant, any Error>? = state.withLock { state in
            if !state.isShutdown, let waiter = state.waiters.popFirst() { return waiter }
            state.slotsTaken -= 1
            return nil
        }
        waiter?.resume(returning: .slot)
    }
}

extension PostgresPool: Service {
    /// Runs until graceful shutdown (or cancellation), then shuts the pool down: waiters fail,
    /// idle connections close, connections in use close when released. Register the pool before
    /// the services that use it (a ServiceGroup stops services in reverse order).
    public func run() async throws {
        try? await gracefulShutdown()
        shutdown()
    }
}
