import CLibPQ
import Foundation
import Logging
import Synchronization

/// A NOTIFY delivered on a channel this listener LISTENs on.
public struct PostgresNotification: Sendable, Equatable {
    public var channel: String
    public var payload: String
    /// The server process that sent it.
    public var senderPID: Int32
}

/// LISTENs on channels over a dedicated connection and its own thread, and yields what arrives.
///
/// Notifications sent while the connection is down are lost (PostgreSQL does not queue them for
/// absent listeners), so each (re)connection is reported as an event: a consumer that caches
/// state refreshes it then. Likewise, when the consumer falls so far behind that the buffer of
/// undelivered events is full, newer notifications are dropped and a `.resync` event follows
/// the buffered ones as soon as there is room: the consumer then reloads instead of silently
/// missing changes.
public final class PostgresListener: Sendable {
    public enum Event: Sendable, Equatable {
        /// LISTEN is in place on every channel; `isReconnect` after a lost connection.
        case listening(isReconnect: Bool)
        case notification(PostgresNotification)
        /// Notifications were dropped because the consumer lagged: reload whatever they describe.
        case resync
    }

    /// Undelivered events kept for a slow consumer before notifications are dropped.
    public let bufferLimit: Int

    private let configuration: PostgresConfiguration
    private let channels: [String]
    private let logger: Logger
    private let isStopped = Atomic<Bool>(false)

    public init(
        configuration: PostgresConfiguration, channels: [String], bufferLimit: Int = 10_000,
        logger: Logger = Logger(label: "postgres.listener")
    ) {
        self.bufferLimit = max(1, bufferLimit)
        self.configuration = configuration
        self.channels = channels
        self.logger = logger
    }

    /// Starts listening. The stream ends after `stop()` or when its consumer goes away.
    public func events() -> AsyncStream<Event> {
        // Oldest kept: what overflows is the newest, and `Delivery` follows it with `.resync`.
        let (stream, continuation) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .bufferingOldest(bufferLimit))
        continuation.onTermination = { [self] _ in stop() }
        let thread = Thread { [self] in run(continuation) }
        thread.name = "postgres-listener"
        thread.start()
        return stream
    }

    public func stop() { isStopped.store(true, ordering: .sequentiallyConsistent) }

    private var stopped: Bool { isStopped.load(ordering: .sequentiallyConsistent) }

    /// Yields events; after one was dropped, owes the consumer a `.resync` and sends it before
    /// anything else once the buffer has room. Listener thread only.
    private final class Delivery {
        let continuation: AsyncStream<Event>.Continuation
        var owesResync = false

        init(_ continuation: AsyncStream<Event>.Continuation) { self.continuation = continuation }

        func send(_ event: Event) {
            guard settle() else { return }
            if case .dropped = continuation.yield(event) { owesResync = true }
        }

        /// Sends an owed resync; false while the buffer is still full.
        @discardableResult
        func settle() -> Bool {
            guard owesResync else { return true }
            if case .enqueued = continuation.yield(.resync) {
                owesResync = false
                return true
            }
            return false
        }
    }

    private func run(_ streamContinuation: AsyncStream<Event>.Continuation) {
        defer { streamContinuation.finish() }
        let continuation = Delivery(streamContinuation)
        var connection: BlockingConnection?
        var hasListened = false
        var backoffSeconds = 0.1
        while !stopped {
            guard let current = connection else {
                do {
                    connection = try listen()
                    continuation.send(.listening(isReconnect: hasListened))
                    hasListened = true
                    backoffSeconds = 0.1
                } catch {
                    logger.warning("postgres.listener.connect_failed", metadata: ["error": "\(error)"])
                    sleepUnlessStopped(seconds: backoffSeconds)
                    backoffSeconds = min(backoffSeconds * 2, 5)
                }
                continue
            }
            // Notifications that arrived while a later LISTEN ran are already in libpq's queue:
            // deliver them before waiting on the socket.
            deliverQueued(current, to: continuation)
            // Wake at least every 250 ms to notice stop().
            var descriptor = pollfd(fd: PQsocket(current.handle), events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, 250)
            // A resync owed to a consumer that has since caught up goes out even when quiet.
            continuation.settle()
            if ready < 0 && errno == EINTR { continue }
            if ready == 0 { continue }
            if PQconsumeInput(current.handle) == 0 || current.isBroken {
                // Notifications read before the loss still go out; the reconnect event covers the rest.
                deliverQueued(current, to: continuation)
                logger.warning("postgres.listener.connection_lost")
                connection = nil
                continue
            }
            deliverQueued(current, to: continuation)
        }
    }

    private func deliverQueued(_ current: BlockingConnection, to continuation: Delivery) {
        while let notify = PQnotifies(current.handle) {
            let notification = PostgresNotification(
                channel: String(cString: notify.pointee.relname),
                payload: String(cString: notify.pointee.extra),
                senderPID: notify.pointee.be_pid
            )
            PQfreemem(notify)
            continuation.send(.notification(notification))
        }
    }

    private func listen() throws -> BlockingConnection {
        let connection = try BlockingConnection(configuration: configuration)
        for channel in channels {
            guard let quoted = connection.escapeIdentifier(channel) else {
                throw PostgresError(kind: .server, message: "invalid channel name '\(channel)'")
            }
            _ = try connection.execute(.unsafeSQL("LISTEN \(quoted)"))
        }
        return connection
    }

    private func sleepUnlessStopped(seconds: Double) {
        var remaining = seconds
        while remaining > 0 && !stopped {
            Thread.sleep(forTimeInterval: min(remaining, 0.1))
            remaining -= 0.1
        }
    }
}
