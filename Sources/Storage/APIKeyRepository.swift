import Foundation
import Postgres

/// `api_keys`: create (the key is returned once and never stored), look up by the presented key's
/// hash, list, revoke.
public struct APIKeyRepository: Sendable {
    public let pool: PostgresPool

    public init(pool: PostgresPool) {
        self.pool = pool
    }

    public struct NewKey: Sendable {
        public var tenantID: UUID
        public var role: APIKeyRole
        public var name: String
        public var readBodies: Bool
        public var allowedAgents: [UUID]?
        public var allowedModels: [String]?
        public var expiresAt: Date?
        /// The key that created this one (nil: an environment token or the CLI).
        public var createdBy: UUID?

        public init(
            tenantID: UUID, role: APIKeyRole, name: String = "", readBodies: Bool = false, allowedAgents: [UUID]? = nil,
            allowedModels: [String]? = nil, expiresAt: Date? = nil, createdBy: UUID? = nil
        ) {
            self.tenantID = tenantID
            self.role = role
            self.name = name
            self.readBodies = readBodies
            self.allowedAgents = allowedAgents
            self.allowedModels = allowedModels
            self.expiresAt = expiresAt
            self.createdBy = createdBy
        }
    }

    static let columns: SQL = """
        id, tenant_id, role, name, prefix, read_bodies, allowed_agents, allowed_models, expires_at, created_at,
        last_used_at, revoked_at
        """

    static func record(_ row: PostgresRow) throws -> APIKeyRecord {
        let role: String = try row.decode("role")
        guard let parsed = APIKeyRole(rawValue: role) else { throw PostgresError(kind: .decoding, message: "unknown key role '\(role)'") }
        return APIKeyRecord(
            id: try row.decode("id"), tenantID: try row.decode("tenant_id"), role: parsed, name: try row.decode("name"),
            prefix: try row.decode("prefix"), readBodies: try row.decode("read_bodies"),
            allowedAgents: try row.decode("allowed_agents"), allowedModels: try row.decode("allowed_models"),
            expiresAt: try row.decode("expires_at"), createdAt: try row.decode("created_at"),
            lastUsedAt: try row.decode("last_used_at"), revokedAt: try row.decode("revoked_at"))
    }

    /// The new key's row and the key itself (the only time it exists outside the caller).
    public func create(_ key: NewKey, actor: ChangeActor?) async throws -> (record: APIKeyRecord, secret: String) {
        let secret = APIKeySecret.generate()
        let agents = key.allowedAgents.map { $0.map { $0.uuidString.lowercased() } }
        let record = try await pool.withTransaction { connection in
            try await connection.announce(actor)
            guard let row = try await connection.query("""
                INSERT INTO api_keys (tenant_id, role, name, prefix, secret_hash, read_bodies, allowed_agents, allowed_models,
                                      expires_at, created_by_key)
                VALUES (\(key.tenantID), \(key.role.rawValue), \(key.name), \(APIKeySecret.prefix(of: secret)),
                        \(APIKeySecret.hash(secret)), \(key.readBodies), \(agents)::uuid[], \(key.allowedModels),
                        \(key.expiresAt), \(key.createdBy))
                RETURNING \(Self.columns)
                """).rows.first else { throw PostgresError(kind: .decoding, message: "INSERT … RETURNING returned no row") }
            return try Self.record(row)
        }
        return (record, secret)
    }

    /// The key whose hash is `hash`, usable or not (the caller decides and says why), and marks it
    /// used when its `last_used_at` is older than a minute: a key in steady use costs one write a
    /// minute, not one per request.
    public func authenticate(hash: Data) async throws -> APIKeyRecord? {
        try await pool.query("""
            WITH k AS (SELECT \(Self.columns) FROM api_keys WHERE secret_hash = \(hash)),
                 touched AS (UPDATE api_keys SET last_used_at = now()
                              WHERE id = (SELECT id FROM k) AND revoked_at IS NULL
                                AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute'))
            SELECT * FROM k
            """).rows.first.map(Self.record)
    }

    /// Keys of `scope`, newest first; revoked ones only when asked.
    public func list(_ scope: TenantScope, includeRevoked: Bool = false) async throws -> [APIKeyRecord] {
        try await pool.query("""
            SELECT \(Self.columns) FROM api_keys
             WHERE \(scope.condition("tenant_id")) AND (\(includeRevoked) OR revoked_at IS NULL)
             ORDER BY created_at DESC, id
            """).rows.map(Self.record)
    }

    public func find(_ id: UUID) async throws -> APIKeyRecord? {
        try await pool.query("SELECT \(Self.columns) FROM api_keys WHERE id = \(id)").rows.first.map(Self.record)
    }

    /// Sets `revoked_at` (once: revoking again keeps the first time). nil: no such key.
    public func revoke(_ id: UUID, actor: ChangeActor?) async throws -> APIKeyRecord? {
        try await pool.withTransaction { connection in
            try await connection.announce(actor)
            return try await connection.query("""
                UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = \(id) RETURNING \(Self.columns)
                """).rows.first.map(Self.record)
        }
    }
}
