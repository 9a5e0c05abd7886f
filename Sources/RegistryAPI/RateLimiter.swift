import Foundation
import Postgres
import Storage
import Synchronization

/// Which keys and agents have a request or token limit (`rate_limits`, migrations/0036), kept in
/// memory so that a request of a key and agent without one costs no query. Filled on first use and
/// emptied by every `switchboard_config` NOTIFY about `rate_limits` (a change by any registry or
/// by SQL) and whenever the listener (re)connects; while no listener runs it answers nothing and
/// every request asks the database.
final class RateLimitCache: Sendable {
    private struct State: Sendable {
        var version: UInt64 = 0
        var isListening = false
        /// scope id (key or agent) → limit id; nil: not loaded for this version.
        var limits: [UUID: UUID]?
    }

    private let state = Mutex(State())

    /// The limits of these ids, or nil when the cache cannot answer (load, then `store`).
    func lookup(_ ids: [UUID]) -> [UUID: UUID]? {
        state.withLock { state in
            guard state.isListening, let limits = state.limits else { return nil }
            var found: [UUID: UUID] = [:]
            for id in ids { if let limit = limits[id] { found[id] = limit } }
            return found
        }
    }

    var version: UInt64 { state.withLock { $0.version } }

    func store(_ limits: [UUID: UUID], version: UInt64) {
        state.withLock { state in
            guard state.isListening, state.version == version else { return }
            state.limits = limits
        }
    }

    func invalidate() {
        state.withLock { state in
            state.version &+= 1
            state.limits = nil
        }
    }

    func setListening(_ listening: Bool) {
        state.withLock { state in
            state.isListening = listening
            state.version &+= 1
            state.limits = nil
        }
    }

    static func concernsRateLimits(_ payload: String) -> Bool {
        payload.contains("\"rate_limits\"") || !payload.contains("\"table\"")
    }
}

/// Admits new work (jobs from `POST /api/jobs`, its batch, an execution's steps and the `/v1`
/// calls) against the request and token limits of the caller's key and of each job's agent: one
/// statement (`rate_limit_admit`) counts every job as one request against every applicable limit,
/// or refuses all of them with 429 and `Retry-After` (the end of the full window). Nothing is
/// asked of the database when neither the key nor the agents have a limit (`RateLimitCache`).
/// Concurrent jobs per key and queued jobs per tenant are enforced by the database itself when
/// the jobs are inserted (`llm_jobs_admission`, answered by `ErrorMiddleware` as 429).
struct RateLimiter: Sendable {
    let repository: RateLimitRepository
    let cache: RateLimitCache

    func admit(_ jobs: [JobRepository.NewJob], for principal: Principal) async throws {
        var perAgent: [UUID: Int] = [:]
        for job in jobs { perAgent[job.agentID, default: 0] += 1 }
        var ids = Array(perAgent.keys)
        if let key = principal.keyID { ids.append(key) }
        let limits: [UUID: UUID]
        if let cached = cache.lookup(ids) {
            limits = cached
        } else {
            let version = cache.version
            let all = try await repository.allRequestLimits()
            cache.store(all, version: version)
            limits = all.filter { ids.contains($0.key) }
        }
        guard !limits.isEmpty else { return }
        var wanted: [(id: UUID, count: Int)] = []
        for (agentID, count) in perAgent { if let limit = limits[agentID] { wanted.append((limit, count)) } }
        if let key = principal.keyID, let limit = limits[key] { wanted.append((limit, jobs.count)) }
        let refusals = try await repository.admit(wanted)
        guard let longest = refusals.max(by: { $0.retryAfterMilliseconds < $1.retryAfterMilliseconds }) else { return }
        // A retry of requests that did create their jobs (every job's idempotency key names one)
        // creates nothing: it gets its jobs back, uncounted, rather than a 429.
        let keyed = jobs.compactMap { job in job.idempotencyKey.map { (agentID: job.agentID, key: $0) } }
        if keyed.count == jobs.count, try await repository.allReplays(keyed) { return }
        let scopeOf = Dictionary(limits.map { ($0.value, $0.key) }, uniquingKeysWith: { first, _ in first })
        let named = refusals.map { refusal -> String in
            let scope = scopeOf[refusal.limitID].map { $0 == principal.keyID ? "key" : "agent \($0.uuidString.lowercased())" } ?? "limit"
            return "\(scope): \(refusal.limit) \(refusal.value)"
        }
        throw APIError.rateLimited(
            "rate limit reached (\(named.joined(separator: "; "))); retry after \(Self.seconds(longest.retryAfterMilliseconds)) s",
            limit: longest.limit, limitID: longest.limitID, retryAfter: Self.seconds(longest.retryAfterMilliseconds))
    }

    /// Whole seconds for `Retry-After`, rounded up (never 0: a client would come back at once).
    static func seconds(_ milliseconds: Int64) -> Int {
        max(1, Int((milliseconds + 999) / 1000))
    }
}

extension APIError {
    /// A rate limit, concurrency cap or queue cap refused the work: 429 with `Retry-After`.
    static func rateLimited(_ message: String, limit: String, limitID: UUID?, retryAfter seconds: Int) -> APIError {
        var details = [Detail(field: limit, message: "limit reached")]
        if let limitID { details.append(Detail(field: "rate_limit_id", message: limitID.uuidString.lowercased())) }
        var error = APIError(.tooManyRequests, code: "rate_limited", message: message, details: details)
        error.retryAfterSeconds = seconds
        return error
    }

    /// The database refused a job beyond a cap (`llm_jobs_admission`, SQLSTATE SB429): its
    /// message names the cap; the DETAIL is JSON with `limit`.
    static func capReached(_ error: PostgresError) -> APIError {
        var limit = "max_queued_jobs"
        if let detail = error.detail, let range = detail.range(of: #""limit": ""#) {
            let rest = detail[range.upperBound...]
            if let end = rest.firstIndex(of: "\"") { limit = String(rest[..<end]) }
        }
        return rateLimited(error.message, limit: limit, limitID: nil, retryAfter: 1)
    }
}
