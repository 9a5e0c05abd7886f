import Foundation
import Storage

/// Who is calling, once the credential is checked: a role, a tenant, the key (when it was one)
/// and what the key is limited to. Set on the context by the `/api` and `/v1` auth middleware;
/// the route table's `RouteAccess` decides from it.
public struct Principal: Sendable, Equatable {
    public var role: APIKeyRole
    /// The tenant the caller acts in: its key's tenant. Admins see every tenant but create in this
    /// one unless they name another.
    public var tenantID: UUID
    public var keyID: UUID?
    public var credential: CredentialKind
    /// A viewer key that may read prompts and answers.
    public var readBodies: Bool
    /// nil: any agent (of the tenant); else only these.
    public var allowedAgents: Set<UUID>?
    /// nil: any model; else only these catalog ids.
    public var allowedModels: Set<String>?
    /// The tenant's and the key's ids as log metadata, formatted once per key lookup (not per request).
    let tenantLogValue: String
    let keyLogValue: String?

    /// What this caller may see: every tenant for an admin, its own otherwise.
    public var scope: TenantScope { role == .admin ? .all : .tenant(tenantID) }

    /// Request, result and error bodies of jobs: inference and above, or a viewer with `read_bodies`.
    public var mayReadBodies: Bool { role >= .inference || readBodies }

    public func mayUse(agent: UUID) -> Bool { allowedAgents?.contains(agent) ?? true }
    public func mayUse(model: String) -> Bool { allowedModels?.contains(model) ?? true }

    /// A server without any configured credential: the loopback-only open mode.
    static let openMode = Principal(
        role: .admin, tenantID: TenantRecord.defaultID, keyID: nil, credential: .unauthenticated, readBodies: true,
        allowedAgents: nil, allowedModels: nil)

    static func environmentToken(_ credential: CredentialKind, role: APIKeyRole) -> Principal {
        Principal(
            role: role, tenantID: TenantRecord.defaultID, keyID: nil, credential: credential, readBodies: role >= .inference,
            allowedAgents: nil, allowedModels: nil)
    }

    init(key: APIKeyRecord) {
        self.init(
            role: key.role, tenantID: key.tenantID, keyID: key.id, credential: .apiKey, readBodies: key.readBodies,
            allowedAgents: key.allowedAgents.map(Set.init), allowedModels: key.allowedModels.map(Set.init))
    }

    init(
        role: APIKeyRole, tenantID: UUID, keyID: UUID?, credential: CredentialKind, readBodies: Bool,
        allowedAgents: Set<UUID>?, allowedModels: Set<String>?
    ) {
        self.role = role
        self.tenantID = tenantID
        self.keyID = keyID
        self.credential = credential
        self.readBodies = readBodies
        self.allowedAgents = allowedAgents
        self.allowedModels = allowedModels
        tenantLogValue = tenantID.uuidString.lowercased()
        keyLogValue = keyID?.uuidString.lowercased()
    }
}

/// The kind of credential a request carried. Recorded in `config_changes.token_kind`.
public enum CredentialKind: String, Sendable {
    /// A key from `api_keys` (its id is in `config_changes.key_id`).
    case apiKey = "api_key"
    /// `SWITCHBOARD_ADMIN_TOKEN`.
    case adminToken = "admin_token"
    /// `SWITCHBOARD_API_TOKEN`: the old read-write token, now an alias of the admin token.
    case writeToken = "write_token"
    /// `SWITCHBOARD_READ_TOKEN`: the old read token, now a viewer of the default tenant.
    case readToken = "read_token"
    /// No credential configured (the server then answers loopback names only).
    case unauthenticated
}
