import Catalog
import Foundation
import Hummingbird
import Logging
import NIOCore
import Postgres
import ServiceLifecycle
import Synchronization

/// Encoded answers of the catalog's hot reads (`GET /api/models`), kept per catalog version: a
/// repeated request is answered from memory without a query or an encode. The version moves when
/// this process writes the catalog (at once, so a client reads its own writes) and on every
/// `switchboard_config` NOTIFY about models or providers (writes by other instances or plain SQL;
/// migrations/0010), and whenever the listener (re)connects, since notifications sent while it was
/// away are lost. Until the listener is up the cache answers nothing.
final class CatalogCache: Sendable {
    struct Entry: Sendable {
        var version: UInt64
        var day: CalendarDate
        var body: ByteBuffer
    }

    private struct State: Sendable {
        var version: UInt64 = 0
        var isListening = false
        var entries: [String: Entry] = [:]
    }

    /// Distinct query strings kept at once; beyond that the cache starts over (a scan of random
    /// queries cannot grow memory).
    static let maximumEntries = 512

    private let state = Mutex(State())

    var isListening: Bool { state.withLock { $0.isListening } }

    /// The version a reader must see in `store`, read before it queries the database.
    var version: UInt64 { state.withLock { $0.version } }

    func lookup(_ key: String, day: CalendarDate) -> ByteBuffer? {
        state.withLock { state in
            guard state.isListening, let entry = state.entries[key], entry.version == state.version, entry.day == day else { return nil }
            return entry.body
        }
    }

    /// Keeps `body` unless the catalog changed since `version` was read.
    func store(_ key: String, day: CalendarDate, version: UInt64, body: ByteBuffer) {
        state.withLock { state in
            guard state.isListening, state.version == version else { return }
            if state.entries.count >= Self.maximumEntries { state.entries.removeAll(keepingCapacity: true) }
            state.entries[key] = Entry(version: version, day: day, body: body)
        }
    }

    /// The catalog changed: every stored answer is stale.
    func invalidate() {
        state.withLock { state in
            state.version &+= 1
            state.entries.removeAll(keepingCapacity: true)
        }
    }

    func setListening(_ listening: Bool) {
        state.withLock { state in
            state.isListening = listening
            state.version &+= 1
            state.entries.removeAll(keepingCapacity: true)
        }
    }

    /// Whether a `switchboard_config` payload concerns the catalog (models or providers).
    static func concernsCatalog(_ payload: String) -> Bool {
        payload.contains("\"llm_models\"") || payload.contains("\"llm_providers\"") || !payload.contains("\"table\"")
    }
}

/// Runs the cache's LISTEN connection for the server's lifetime (a swift-service-lifecycle Service).
struct CatalogCacheListener: Service {
    let cache: CatalogCache
    let configuration: PostgresConfiguration
    let logger: Logger
    /// Rides on the same LISTEN connection: which keys and agents have rate limits.
    var rateLimits: RateLimitCache? = nil

    func run() async throws {
        let listener = PostgresListener(configuration: configuration, channels: ["switchboard_config"], logger: logger)
        defer {
            listener.stop()
            cache.setListening(false)
            rateLimits?.setListening(false)
        }
        try await withGracefulShutdownHandler {
            for await event in listener.events() {
                switch event {
                case .listening(let isReconnect):
                    cache.setListening(true)
                    rateLimits?.setListening(true)
                    logger.info("registry.catalog_cache.listening", metadata: ["postgres.reconnect": "\(isReconnect)"])
                case .notification(let notification):
                    if CatalogCache.concernsCatalog(notification.payload) { cache.invalidate() }
                    if RateLimitCache.concernsRateLimits(notification.payload) { rateLimits?.invalidate() }
                case .resync:
                    // Notifications were dropped while this consumer lagged: any of them may have
                    // changed the catalog.
                    cache.invalidate()
                    rateLimits?.invalidate()
                    logger.notice("registry.catalog_cache.resync")
                }
            }
        } onGracefulShutdown: {
            listener.stop()
        }
    }
}
