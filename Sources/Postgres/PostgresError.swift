/// An error from the database or from talking to it.
///
/// Server errors carry the SQLSTATE and the server's message fields, so callers can tell a unique
/// violation from a serialization failure without reading message text.
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Could not connect (bad URL, unreachable host, failed authentication).
        case connection
        /// The connection broke while in use; the pool replaces it.
        case connectionLost
        /// The server answered the statement with an error.
        case server
        /// A value could not be decoded into the requested Swift type.
        case decoding
        /// The pool or listener was shut down.
        case shutdown
        /// A value cannot be sent: it does not encode, or it holds a NUL byte (which PostgreSQL's
        /// text values cannot carry; it is rejected rather than cut short).
        case invalidValue
        /// No pooled connection became free within the pool's acquire timeout.
        case poolTimeout
    }

    public var kind: Kind
    /// The five-character SQLSTATE, for server errors.
    public var sqlState: String?
    public var message: String
    public var detail: String?
    public var hint: String?
    public var constraint: String?
    public var table: String?
    public var column: String?

    public init(
        kind: Kind, sqlState: String? = nil, message: String, detail: String? = nil,
        hint: String? = nil, constraint: String? = nil, table: String? = nil, column: String? = nil
    ) {
        self.kind = kind
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
        self.hint = hint
        self.constraint = constraint
        self.table = table
        self.column = column
    }

    public var isUniqueViolation: Bool { sqlState == SQLState.uniqueViolation }
    public var isForeignKeyViolation: Bool { sqlState == SQLState.foreignKeyViolation }
    public var isSerializationFailure: Bool { sqlState == SQLState.serializationFailure }
    public var isDeadlock: Bool { sqlState == SQLState.deadlockDetected }

    /// Message and SQLSTATE only: `detail` can hold row values (a unique violation's key, which
    /// may be personal data or an idempotency key), so it stays out of logs and responses unless
    /// read explicitly.
    public var description: String {
        guard let sqlState else { return message }
        return "\(message) (SQLSTATE \(sqlState))"
    }
}

/// SQLSTATE codes the project reacts to. Full list: PostgreSQL's errcodes appendix.
public enum SQLState {
    public static let uniqueViolation = "23505"
    public static let foreignKeyViolation = "23503"
    public static let checkViolation = "23514"
    /// A text or jsonb value PostgreSQL cannot store, e.g. `\u0000` inside jsonb.
    public static let untranslatableCharacter = "22P05"
    /// What the server answers for a NUL byte in text; also set on the client's own refusal of one.
    public static let characterNotInRepertoire = "22021"
    public static let notNullViolation = "23502"
    public static let serializationFailure = "40001"
    public static let deadlockDetected = "40P01"
    public static let adminShutdown = "57P01"
    public static let undefinedTable = "42P01"
}
