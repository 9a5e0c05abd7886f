import Crypto
import CurlHTTP
import Foundation
import JSON
import Logging
import Postgres
import ServiceLifecycle
import Support

/// Delivers budget alerts (`budget_alerts`, migration 0033: each threshold of each budget once
/// per period) to a webhook, beside the worker (`llm-gateway run`). Never in a call's path: the
/// settlement only inserts the row and NOTIFYs `budget_alerts`; this service takes pending rows
/// (any number of gateways may run it: a row is taken by one at a time, by a lease on
/// `next_try_at`), POSTs each, and on failure tries again with exponential backoff until the
/// receiver answers 2xx. At least once: a gateway killed between the receiver's 2xx and the
/// update sends that alert again, so receivers deduplicate by `alert_id`.
///
/// The body is signed: `X-Switchboard-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`
/// with the secret, `X-Switchboard-Timestamp: <unix seconds>` (reject old timestamps to stop
/// replays).
public struct BudgetAlertService: Service {
    public struct Settings: Sendable {
        public var url: String
        public var secret: String?
        /// First retry delay; doubles per attempt, at most an hour.
        public var retryBase: Duration
        /// How often pending alerts are looked for without a notification.
        public var pollInterval: Duration

        public static let urlVariable = "SWITCHBOARD_ALERT_WEBHOOK_URL"
        public static let secretVariable = "SWITCHBOARD_ALERT_WEBHOOK_SECRET"
        public static let retryBaseVariable = "SWITCHBOARD_ALERT_RETRY_BASE_MS"

        public init(url: String, secret: String?, retryBase: Duration = .seconds(1), pollInterval: Duration = .seconds(5)) {
            self.url = url
            self.secret = secret
            self.retryBase = retryBase
            self.pollInterval = pollInterval
        }

        /// nil when no webhook is configured: alerts are then only recorded (API, UI, SQL).
        public static func from(environment: [String: String]) -> Settings? {
            guard let url = environment[urlVariable], !url.isEmpty else { return nil }
            let base = environment[retryBaseVariable].flatMap(Int64.init).map { Duration.milliseconds(max($0, 10)) } ?? .seconds(1)
            return Settings(url: url, secret: environment[secretVariable].flatMap { $0.isEmpty ? nil : $0 }, retryBase: base)
        }
    }

    private let settings: Settings?
    private let database: PostgresConfiguration
    private let logger: Logger

    public init(settings: Settings?, database: PostgresConfiguration, logger: Logger) {
        self.settings = settings
        self.database = database
        self.logger = logger
    }

    public func run() async throws {
        guard let settings else {
            try? await gracefulShutdown()
            return
        }
        let pool = PostgresPool(configuration: database, maxConnections: 1, logger: logger)
        let http = try CurlHTTPClient()
        let wake = WakeSignal()
        let listener = PostgresListener(configuration: database, channels: ["budget_alerts"], logger: logger)
        defer {
            listener.stop()
            http.shutdown()
            pool.shutdown()
        }
        await cancelWhenGracefulShutdown {
            let listening = Task {
                for await event in listener.events() {
                    if case .notification = event { wake.signal() }
                    if case .listening = event { wake.signal() }
                }
            }
            defer { listening.cancel() }
            let delivery = Delivery(settings: settings, pool: pool, http: http, logger: logger)
            while !Task.isCancelled {
                let next = await delivery.round()
                await wake.wait(timeout: min(next ?? settings.pollInterval, settings.pollInterval))
            }
        }
    }

    /// One pass over the pending alerts.
    struct Delivery: Sendable {
        let settings: Settings
        let pool: PostgresPool
        let http: CurlHTTPClient
        let logger: Logger

        /// Delivers what is due; returns how soon the next pending alert is due (nil: none known).
        func round() async -> Duration? {
            do {
                let due = try await take()
                for alert in due { await deliver(alert) }
                if due.count == Self.batch { return .zero }
                let seconds: Double? = try await pool.query("""
                    SELECT extract(epoch FROM min(next_try_at) - now())::float8 FROM budget_alerts WHERE delivered_at IS NULL
                    """).rows[0].decode(at: 0)
                return seconds.map { .milliseconds(Int64(max($0, 0) * 1000)) }
            } catch {
                logger.warning("gateway.budget_alerts.failed", metadata: ["error": "\(error)"])
                return settings.pollInterval
            }
        }

        static let batch = 20
        /// How long a taken alert is this gateway's before another may try it.
        static let lease: Duration = .seconds(60)

        struct Alert: Sendable {
            var id: Int64
            var attempts: Int
            var body: String
        }

        /// Takes up to `batch` due alerts (leasing them), with their webhook bodies.
        func take() async throws -> [Alert] {
            try await pool.query("""
                WITH due AS (
                    SELECT id FROM budget_alerts
                     WHERE delivered_at IS NULL AND next_try_at <= now()
                     ORDER BY id LIMIT \(Self.batch)
                       FOR UPDATE SKIP LOCKED)
                UPDATE budget_alerts a SET next_try_at = now() + \(Self.lease.seconds) * interval '1 second', attempts = a.attempts + 1
                  FROM due WHERE a.id = due.id
                RETURNING a.id, a.attempts, (
                    SELECT jsonb_build_object(
                        'type', 'budget.threshold_reached', 'alert_id', a.id, 'budget_id', b.id, 'budget_name', b.name,
                        'scope', b.scope, 'scope_id', b.scope_id, 'tenant_id', b.tenant_id, 'period', b.period,
                        'period_start', CASE WHEN isfinite(a.period_start) THEN a.period_start END,
                        'threshold', a.threshold::text, 'spent_usd', a.spent_usd::text, 'limit_usd', a.limit_usd::text,
                        'created_at', a.created_at)::text
                      FROM budgets b WHERE b.id = a.budget_id)
                """).rows.map { row in
                Alert(id: try row.decode(at: 0), attempts: try row.decode(at: 1), body: try row.decode(at: 2))
            }
        }

        func deliver(_ alert: Alert) async {
            let timestamp = String(Int(Date().timeIntervalSince1970))
            var headers: [(name: String, value: String)] = [
                ("Content-Type", "application/json"), ("User-Agent", "switchboard-budget-alerts"),
                ("X-Switchboard-Timestamp", timestamp), ("X-Switchboard-Alert-Id", String(alert.id)),
            ]
            if let secret = settings.secret {
                headers.append(("X-Switchboard-Signature", "sha256=" + Self.signature(secret: secret, timestamp: timestamp, body: alert.body)))
            }
            var failure: String?
            do {
                let response = try await http.send(CurlHTTPRequest(
                    method: "POST", url: settings.url, headers: headers, body: Data(alert.body.utf8), timeout: .seconds(10),
                    connectTimeout: .seconds(5), maxResponseBytes: 64 << 10))
                if !(200..<300).contains(response.status) { failure = "HTTP \(response.status)" }
            } catch {
                failure = "\(error)"
            }
            do {
                if let failure {
                    let delay = Self.backoff(base: settings.retryBase, attempt: alert.attempts)
                    try await pool.execute("""
                        UPDATE budget_alerts SET next_try_at = now() + \(delay.seconds) * interval '1 second',
                               last_error = \(String(failure.prefix(500)))
                         WHERE id = \(alert.id)
                        """)
                    logger.notice("gateway.budget_alerts.delivery_failed", metadata: [
                        "alert.id": "\(alert.id)", "alert.attempts": "\(alert.attempts)", "error": "\(failure)",
                    ])
                } else {
                    try await pool.execute("UPDATE budget_alerts SET delivered_at = now(), last_error = NULL WHERE id = \(alert.id)")
                }
            } catch {
                logger.warning("gateway.budget_alerts.update_failed", metadata: ["alert.id": "\(alert.id)", "error": "\(error)"])
            }
        }

        /// base × 2^(attempt-1), at most an hour.
        static func backoff(base: Duration, attempt: Int) -> Duration {
            let seconds = base.seconds * Double(1 << min(max(attempt - 1, 0), 20))
            return .milliseconds(Int64(min(seconds, 3600) * 1000))
        }

        /// Hex HMAC-SHA256 of "<timestamp>.<body>".
        static func signature(secret: String, timestamp: String, body: String) -> String {
            let code = HMAC<SHA256>.authenticationCode(for: Data("\(timestamp).\(body)".utf8), using: SymmetricKey(data: Data(secret.utf8)))
            return code.map { String(format: "%02x", $0) }.joined()
        }
    }
}
