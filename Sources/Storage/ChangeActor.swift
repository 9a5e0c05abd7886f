import Foundation
import Postgres

/// Who is writing configuration, for the `config_changes` audit trigger (migrations/0016, 0019):
/// the kind of credential, the key and its tenant, the server's request id and the client's. Set
/// transaction-locally, so it never leaks to the next user of a pooled connection.
public struct ChangeActor: Sendable, Equatable {
    /// `api_key`, `admin_token`, `unauthenticated`, `cli`… (`database` when nobody says).
    public var tokenKind: String
    /// The registry's own request id.
    public var requestID: String?
    /// `api_keys.id` when a key made the change.
    public var keyID: UUID?
    public var tenantID: UUID?
    /// The `X-Request-Id` the client sent, which it may choose freely.
    public var clientRequestID: String?

    public init(tokenKind: String, requestID: String? = nil, keyID: UUID? = nil, tenantID: UUID? = nil, clientRequestID: String? = nil) {
        self.tokenKind = tokenKind
        self.requestID = requestID
        self.keyID = keyID
        self.tenantID = tenantID
        self.clientRequestID = clientRequestID
    }

    public static let cli = ChangeActor(tokenKind: "cli")
}

extension PostgresConnection {
    /// Tells the audit trigger who is writing, for the rest of the current transaction.
    func announce(_ actor: ChangeActor?) async throws {
        guard let actor else { return }
        try await query("""
            SELECT set_config('switchboard.token_kind', \(actor.tokenKind), true) AS token_kind,
                   set_config('switchboard.request_id', \(actor.requestID ?? ""), true) AS request_id,
                   set_config('switchboard.key_id', \(actor.keyID?.uuidString.lowercased() ?? ""), true) AS key_id,
                   set_config('switchboard.tenant_id', \(actor.tenantID?.uuidString.lowercased() ?? ""), true) AS tenant_id,
                   set_config('switchboard.client_request_id', \(actor.clientRequestID ?? ""), true) AS client_request_id
            """)
    }
}
