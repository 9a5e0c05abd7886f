import Foundation
import Logging
import Storage
import Synchronization

/// Turns the credential a request presents (`Authorization: Bearer …` or `x-api-key: …`, on `/api`
/// and `/v1` alike) into a `Principal`. Environment tokens are compared in memory; keys are looked
/// up by their SHA-256 and the answer is kept for at most `maxAge` (one second by default), so a
/// key in use costs one indexed query per second per registry process, and a revocation made on
/// any registry takes effect on every one within that second. Unknown keys are cached as misses
/// for the same time, and addresses that keep failing are throttled (`FailedAuthThrottle`).
final class Authenticator: Sendable {
    enum Outcome: Sendable, Equatable {
        case authenticated(Principal)
        /// No credential on a server that requires one.
        case missing
        /// A credential we do not accept; `reason` is for the log only (never the answer).
        case rejected(reason: String)
        /// This address failed too often; answer 429 without looking the credential up.
        case throttled(retryAfterSeconds: Int)
    }

    let tokens: APITokens
    let keys: APIKeyRepository
    let maxAge: Duration
    let monotonicNow: @Sendable () -> ContinuousClock.Instant
    let wallClock: @Sendable () -> Date
    let throttle: FailedAuthThrottle

    /// A lookup's answer, with the key's principal built once (its allow-lists are sets) rather
    /// than on every request.
    private struct Entry {
        /// nil: no key has this hash.
        var principal: Principal?
        var prefix: String
        var revoked: Bool
        var expiresAt: Date?
        var fetchedAt: ContinuousClock.Instant

        init(key: APIKeyRecord?, fetchedAt: ContinuousClock.Instant) {
            principal = key.map(Principal.init(key:))
            prefix = key?.prefix ?? ""
            revoked = key?.revokedAt != nil
            expiresAt = key?.expiresAt
            self.fetchedAt = fetchedAt
        }
    }

    private let cache = Mutex<[Data: Entry]>([:])
    /// Bounds the cache under a flood of distinct unknown keys.
    static let maximumEntries = 10_000

    init(
        tokens: APITokens, keys: APIKeyRepository, maxAge: Duration = .seconds(1), throttle: FailedAuthThrottle,
        monotonicNow: @escaping @Sendable () -> ContinuousClock.Instant = { .now },
        wallClock: @escaping @Sendable () -> Date
    ) {
        self.tokens = tokens
        self.keys = keys
        self.maxAge = maxAge
        self.throttle = throttle
        self.monotonicNow = monotonicNow
        self.wallClock = wallClock
    }

    /// The credential of a request: the bearer token, else `x-api-key` (Anthropic's SDK header).
    static func presentedCredential(authorization: String?, apiKey: String?) -> String? {
        if let authorization, authorization.count > 7, authorization.prefix(7).lowercased() == "bearer " {
            return String(authorization.dropFirst(7))
        }
        if let apiKey, !apiKey.isEmpty { return apiKey }
        return nil
    }

    /// `client` is the peer address (for throttling). Database errors propagate (a 503, not a 401).
    func authenticate(_ presented: String?, client: String?) async throws -> Outcome {
        guard let presented else { return tokens.isEnabled ? .missing : .authenticated(.openMode) }
        if let principal = tokens.principal(for: presented) { return .authenticated(principal) }
        let now = monotonicNow()
        let hash = APIKeySecret.looksLikeKey(presented) ? APIKeySecret.hash(presented) : nil
        if let hash, let cached = cachedEntry(hash, now: now) {
            return evaluate(cached, client: client, now: now)
        }
        if let wait = throttle.blockedFor(client, now: now) { return .throttled(retryAfterSeconds: wait) }
        guard let hash else { return fail(client, now: now, reason: "not a Switchboard key or configured token") }
        let entry = Entry(key: try await keys.authenticate(hash: hash), fetchedAt: now)
        store(hash, entry)
        return evaluate(entry, client: client, now: now)
    }

    private func evaluate(_ entry: Entry, client: String?, now: ContinuousClock.Instant) -> Outcome {
        guard let principal = entry.principal else { return fail(client, now: now, reason: "unknown key") }
        if entry.revoked { return fail(client, now: now, reason: "key \(entry.prefix) is revoked") }
        if let expiry = entry.expiresAt, expiry <= wallClock() { return fail(client, now: now, reason: "key \(entry.prefix) expired") }
        return .authenticated(principal)
    }

    /// In open mode a wrong credential is ignored (the caller is the open mode's admin anyway, on
    /// loopback only); otherwise it counts against the address.
    private func fail(_ client: String?, now: ContinuousClock.Instant, reason: String) -> Outcome {
        if !tokens.isEnabled { return .authenticated(.openMode) }
        throttle.recordFailure(client, now: now)
        return .rejected(reason: reason)
    }

    private func cachedEntry(_ hash: Data, now: ContinuousClock.Instant) -> Entry? {
        cache.withLock { entries in
            guard let entry = entries[hash] else { return nil }
            if now - entry.fetchedAt < maxAge { return entry }
            entries[hash] = nil
            return nil
        }
    }

    private func store(_ hash: Data, _ entry: Entry) {
        cache.withLock { entries in
            if entries.count >= Self.maximumEntries {
                let fresh = entries.filter { entry.fetchedAt - $0.value.fetchedAt < maxAge }
                entries = fresh.count >= Self.maximumEntries ? [:] : fresh
            }
            entries[hash] = entry
        }
    }
}

/// Failed authentications per client address, as a token bucket: `burst` failures at once, then
/// one more every `60 / perMinute` seconds. An address over it gets 429 for its credentials that
/// are not already known good, without a lookup: guessing is slowed and unknown keys cost the
/// database nothing. Behind a reverse proxy every client shares its address, so the limit is
/// configurable (`SWITCHBOARD_AUTH_FAILURES_PER_MINUTE`, 0 turns it off).
final class FailedAuthThrottle: Sendable {
    let perMinute: Int
    let burst: Int
    private let buckets = Mutex<[String: (tokens: Double, updated: ContinuousClock.Instant)]>([:])
    static let maximumAddresses = 10_000

    init(perMinute: Int, burst: Int? = nil) {
        self.perMinute = perMinute
        self.burst = burst ?? max(perMinute, 1)
    }

    var isEnabled: Bool { perMinute > 0 }

    private func refilled(_ bucket: (tokens: Double, updated: ContinuousClock.Instant), now: ContinuousClock.Instant) -> Double {
        let elapsed = Double((now - bucket.updated).components.seconds) + Double((now - bucket.updated).components.attoseconds) / 1e18
        return min(Double(burst), bucket.tokens + elapsed * Double(perMinute) / 60)
    }

    /// Seconds until the address may try again; nil when it may now.
    func blockedFor(_ client: String?, now: ContinuousClock.Instant) -> Int? {
        guard isEnabled, let client else { return nil }
        return buckets.withLock { buckets -> Int? in
            guard let bucket = buckets[client] else { return nil }
            let tokens = refilled(bucket, now: now)
            guard tokens < 1 else { return nil }
            return max(1, Int(((1 - tokens) * 60 / Double(perMinute)).rounded(.up)))
        }
    }

    func recordFailure(_ client: String?, now: ContinuousClock.Instant) {
        guard isEnabled, let client else { return }
        buckets.withLock { buckets in
            if buckets.count >= Self.maximumAddresses, buckets[client] == nil { buckets = buckets.filter { refilled($0.value, now: now) < Double(burst) } }
            let current = buckets[client].map { refilled($0, now: now) } ?? Double(burst)
            buckets[client] = (max(0, current - 1), now)
        }
    }
}
