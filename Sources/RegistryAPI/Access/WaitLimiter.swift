import Foundation
import Synchronization

/// How many requests one credential has waiting on jobs (`GET /api/jobs/{id}?wait=` and `/v1`
/// calls), capped so one client cannot hold every connection and waiter row of the registry.
final class WaitLimiter: Sendable {
    let limit: Int
    private let counts = Mutex<[String: Int]>([:])

    init(limit: Int) {
        self.limit = limit
    }

    /// Runs `body` as one of the credential's waits, or throws 429 when it already has `limit`.
    func withWait<T: Sendable>(for principal: Principal, _ body: () async throws -> T) async throws -> T {
        let holder = principal.keyID?.uuidString ?? principal.credential.rawValue
        let admitted = counts.withLock { counts -> Bool in
            let current = counts[holder, default: 0]
            guard current < limit else { return false }
            counts[holder] = current + 1
            return true
        }
        guard admitted else { throw APIError.tooManyWaits(limit: limit) }
        defer {
            counts.withLock { counts in
                let remaining = counts[holder, default: 1] - 1
                counts[holder] = remaining > 0 ? remaining : nil
            }
        }
        return try await body()
    }
}
