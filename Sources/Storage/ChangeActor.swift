import Postgres

/// Who is writing configuration, for the `config_changes` audit trigger (migrations/0016): the
/// kind of token and the request id. Set transaction-locally, so it never leaks to the next user
/// of a pooled connection.
public struct ChangeActor: Sendable, Equatable {
    /// `write_token`, `unauthenticated`, `cli`… (`database` when nobody says).
    public var tokenKind: String
    public var requestID: String?

    public init(tokenKind: String, requestID: String? = nil) {
        self.tokenKind = tokenKind
        self.requestID = requestID
    }

    public static let cli = ChangeActor(tokenKind: "cli")
}

extension PostgresConnection {
    /// Tells the audit trigger who is writing, for the rest of the current transaction.
    func announce(_ actor: ChangeActor?) async throws {
        guard let actor else { return }
        try await query("""
            SELECT set_config('switchboard.token_kind', \(actor.tokenKind), true) AS token_kind,
                   set_config('switchboard.request_id', \(actor.requestID ?? ""), true) AS request_id
            """)
    }
}
