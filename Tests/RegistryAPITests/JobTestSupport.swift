import Foundation
import Postgres
@testable import RegistryAPI
import Synchronization

/// What the llm-gateway worker does to the database, written out as the contract
/// (/work/notes/gateway-contract.md) specifies, so the API's side can be tested without it.
enum Worker {
    /// A result document in the contract's shape.
    static func result(
        model: String = "gpt-4o", provider: String = "openai", cost: String = "0.00125", warnings: String = "[]", attempts: Int = 1
    ) -> String {
        """
        {"content": "hello", "tool_calls": [], "finish_reason": "stop", "stop_sequence": null, "refusal": null, "model": "\(model)",
         "provider": "\(provider)", "fallback_depth": 0,
         "usage": {"input_tokens": 10, "output_tokens": 5, "cached_input_tokens": 0, "cache_creation_input_tokens": 0, "reasoning_tokens": 0},
         "cost": \(cost), "provider_request_id": "req_1", "response_id": "chatcmpl-1", "warnings": \(warnings), "attempts": \(attempts)}
        """
    }

    /// Claims the job (queued → running with a lease), as the claimer does.
    static func claim(_ pool: PostgresPool, _ id: Int64) async throws {
        try await pool.execute("""
            UPDATE llm_jobs SET status = 'running', attempt = attempt + 1, lease_owner = 'test-worker',
                   lease_expires_at = now() + interval '1 minute', started_at = now(), updated_at = now()
             WHERE id = \(id) AND status = 'queued'
            """)
    }

    /// Completes jobs as succeeded in one transaction with the gated `llm_jobs_done` NOTIFY, like
    /// the completer. `notify: false` leaves the NOTIFY out (a notification lost in transit).
    static func succeed(_ pool: PostgresPool, _ ids: [Int64], result: String = Worker.result(), notify: Bool = true) async throws {
        let list = ids.map(String.init).joined(separator: ",")
        try await pool.withTransaction { connection in
            for id in ids {
                try await connection.execute("""
                    UPDATE llm_jobs SET status = 'succeeded', result = \(PostgresJSONText(result)), finished_at = now(),
                           updated_at = now(), lease_owner = NULL, lease_expires_at = NULL,
                           attempt = greatest(attempt, 1)
                     WHERE id = \(id)
                    """)
            }
            if notify {
                try await connection.query("""
                    SELECT pg_notify('llm_jobs_done', \(list))
                     WHERE EXISTS (SELECT 1 FROM llm_job_waiters WHERE job_id = ANY(\(ids.map(String.init))::bigint[]))
                    """)
            }
        }
    }

    /// Waits (bounded) until `count` long-poll registrations exist: the requests are then waiting.
    static func waitForWaiters(_ pool: PostgresPool, count: Int) async throws {
        for _ in 0..<600 {
            let rows = try await pool.query("SELECT count(*) AS n FROM llm_job_waiters").rows
            if try rows.first?.decode("n", as: Int.self) ?? 0 >= count { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw HarnessError.unexpected("long-poll waiters never registered")
    }
}

/// Notifications received on channels, for asserting what was sent.
final class NotificationRecorder: Sendable {
    let payloads = Mutex<[String: [String]]>([:])
    private let listener: PostgresListener
    private let ready = Mutex(false)

    init(configuration: PostgresConfiguration, channels: [String]) {
        listener = PostgresListener(configuration: configuration, channels: channels)
    }

    func start() async throws {
        let events = listener.events()
        Task { [self] in
            for await event in events {
                switch event {
                case .notification(let notification):
                    payloads.withLock { $0[notification.channel, default: []].append(notification.payload) }
                default:
                    ready.withLock { $0 = true }
                }
            }
        }
        for _ in 0..<200 where !ready.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(25)) }
        guard ready.withLock({ $0 }) else { throw HarnessError.unexpected("listener did not start") }
    }

    /// Waits (bounded) for at least `count` payloads on `channel`.
    func payloads(_ channel: String, atLeast count: Int) async throws -> [String] {
        for _ in 0..<200 {
            let current = payloads.withLock { $0[channel] ?? [] }
            if current.count >= count { return current }
            try await Task.sleep(for: .milliseconds(25))
        }
        return payloads.withLock { $0[channel] ?? [] }
    }

    func stop() { listener.stop() }
}
