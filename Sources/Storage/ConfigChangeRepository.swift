import Foundation
import Postgres

/// One row of `config_changes` (migrations/0016).
public struct ConfigChange: Sendable, Equatable {
    public var id: Int64
    public var entity: String
    public var entityID: String
    public var action: String
    public var changedFields: [String]
    /// The row before and after, as JSON text (nil on create / delete respectively).
    public var beforeJSON: String?
    public var afterJSON: String?
    public var tokenKind: String
    public var requestID: String?
    public var changedAt: Date
    public var keyID: UUID?
    public var tenantID: UUID?
    public var clientRequestID: String?
}

/// Reads the audit trail, newest first, a page at a time (keyset on `id`).
public struct ConfigChangeRepository: Sendable {
    public let pool: PostgresPool

    public init(pool: PostgresPool) {
        self.pool = pool
    }

    public static let entities = ["model", "provider", "agent", "tenant", "api_key", "budget"]

    public struct Filter: Sendable {
        public var entity: String?
        public var entityID: String?
        /// Only rows with an id below this (the previous page's last id).
        public var beforeID: Int64?
        public var limit: Int
        /// A tenant sees its own rows and the changes to what every tenant shares (models, providers).
        public var scope: TenantScope

        public init(entity: String? = nil, entityID: String? = nil, beforeID: Int64? = nil, limit: Int = 50, scope: TenantScope = .all) {
            self.scope = scope
            self.entity = entity
            self.entityID = entityID
            self.beforeID = beforeID
            self.limit = limit
        }
    }

    public func list(_ filter: Filter) async throws -> [ConfigChange] {
        var conditions: [SQL] = []
        switch filter.scope {
        case .all: conditions.append("TRUE")
        case .tenant(let id): conditions.append("(tenant_id = \(id) OR entity IN ('model', 'provider'))")
        }
        if let entity = filter.entity { conditions.append("entity = \(entity)") }
        if let entityID = filter.entityID { conditions.append("entity_id = \(entityID)") }
        if let beforeID = filter.beforeID { conditions.append("id < \(beforeID)") }
        return try await pool.query("""
            SELECT id, entity, entity_id, action, changed_fields, before::text AS before_json, after::text AS after_json,
                   token_kind, request_id, changed_at, key_id, tenant_id, client_request_id
              FROM config_changes
             WHERE \(SQL.joined(conditions, separator: " AND "))
             ORDER BY id DESC
             LIMIT \(filter.limit)
            """).rows.map { row in
            ConfigChange(
                id: try row.decode("id"), entity: try row.decode("entity"), entityID: try row.decode("entity_id"),
                action: try row.decode("action"), changedFields: try row.decode("changed_fields"),
                beforeJSON: try row.decode("before_json"), afterJSON: try row.decode("after_json"),
                tokenKind: try row.decode("token_kind"), requestID: try row.decode("request_id"),
                changedAt: try row.decode("changed_at"), keyID: try row.decode("key_id"),
                tenantID: try row.decode("tenant_id"), clientRequestID: try row.decode("client_request_id"))
        }
    }
}
