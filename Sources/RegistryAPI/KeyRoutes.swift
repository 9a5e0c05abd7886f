import Foundation
import Hummingbird
import Storage

/// `/api/keys`: API keys. The key is answered once, at creation; the registry stores only its
/// SHA-256. Operators manage their tenant's keys below their own role; admins any key.
/// Revocation takes effect on every registry within a second (`Authenticator.maxAge`).
struct KeyRoutes: Sendable {
    let keys: APIKeyRepository
    let tenants: TenantRepository
    let agents: AgentRepository
    let clock: @Sendable () -> Date

    var routes: [APIRoute] {
        [
            APIRoute(
                method: .get, path: "/api/keys", operationID: "listKeys", tag: "access",
                summary: "Keys (never the keys themselves: id, prefix, role, tenant, limits, use): the caller's tenant's, or every tenant's for an admin. Revoked keys only with include_revoked=true.",
                access: .role(.operator),
                parameters: [
                    .query("tenant_id", .string(format: "uuid"), "Only this tenant's keys."),
                    .query("include_revoked", .enumeration(["true", "false"]), "Also list revoked keys."),
                ],
                responses: [.init(200, "The keys.", .ref("APIKeyList"))], errors: [400],
                handler: list),
            APIRoute(
                method: .post, path: "/api/keys", operationID: "createKey", tag: "access",
                summary: "Create a key: 201 with `key`, shown this once. Its role must be below the caller's (admins may create any). Rotation: create the new key, move clients to it, revoke the old one.",
                access: .role(.operator),
                requestBody: .ref("APIKeyCreate"),
                responses: [.init(201, "The new key, with the key itself.", .ref("APIKeyCreated"))], errors: [403, 404],
                handler: create),
            APIRoute(
                method: .get, path: "/api/keys/{id}", operationID: "getKey", tag: "access",
                summary: "One key (without the key itself).",
                access: .role(.operator, owns: .apiKey),
                parameters: [.path("id", "Key id (UUID).")],
                responses: [.init(200, "The key.", .ref("APIKey"))], errors: [404],
                handler: get),
            APIRoute(
                method: .delete, path: "/api/keys/{id}", operationID: "revokeKey", tag: "access",
                summary: "Revoke a key: refused on every registry within a second. Revoking a revoked key answers it unchanged.",
                access: .role(.operator, owns: .apiKey),
                parameters: [.path("id", "Key id (UUID).")],
                responses: [.init(200, "The revoked key.", .ref("APIKey"))], errors: [403, 404],
                handler: revoke),
        ]
    }

    // MARK: - Bodies

    struct KeyBody: Encodable, Sendable {
        var key: APIKeyRecord
        /// Only in the creation answer.
        var secret: String?

        enum CodingKeys: String, CodingKey {
            case key, id, role, name, prefix
            case tenantID = "tenant_id", readBodies = "read_bodies", allowedAgents = "allowed_agents"
            case allowedModels = "allowed_models", expiresAt = "expires_at", createdAt = "created_at"
            case lastUsedAt = "last_used_at", revokedAt = "revoked_at"
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            if let secret { try c.encode(secret, forKey: .key) }
            try c.encode(key.id.jsonString, forKey: .id)
            try c.encode(key.tenantID.jsonString, forKey: .tenantID)
            try c.encode(key.role.rawValue, forKey: .role)
            try c.encode(key.name, forKey: .name)
            try c.encode(key.prefix, forKey: .prefix)
            try c.encode(key.readBodies, forKey: .readBodies)
            try c.encode(key.allowedAgents?.map(\.jsonString), forKey: .allowedAgents)
            try c.encode(key.allowedModels, forKey: .allowedModels)
            try c.encode(key.expiresAt, forKey: .expiresAt)
            try c.encode(key.createdAt, forKey: .createdAt)
            try c.encode(key.lastUsedAt, forKey: .lastUsedAt)
            try c.encode(key.revokedAt, forKey: .revokedAt)
        }
    }

    struct KeyListBody: Encodable, Sendable {
        var keys: [KeyBody]
    }

    struct KeyInput: Decodable, Sendable {
        var tenantID: String?
        var tenant: String?
        var role: APIKeyRole
        var name: String?
        var readBodies: Bool?
        var allowedAgents: [String]?
        var allowedModels: [String]?
        var expiresAt: Date?

        enum CodingKeys: String, CodingKey {
            case tenant, role, name
            case tenantID = "tenant_id", readBodies = "read_bodies", allowedAgents = "allowed_agents"
            case allowedModels = "allowed_models", expiresAt = "expires_at"
        }
    }

    // MARK: - Handlers

    func list(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<KeyListBody> {
        var scope = context.scope
        if let text = request.query("tenant_id") {
            guard let id = UUID(uuidString: text) else { throw APIError.badParameter("tenant_id", "must be a UUID") }
            // Another tenant's id reads as a tenant with no keys.
            scope = scope.contains(id) ? .tenant(id) : .tenant(UUID())
        }
        let includeRevoked = request.query("include_revoked") == "true"
        return JSONResponse(KeyListBody(keys: try await keys.list(scope, includeRevoked: includeRevoked).map { KeyBody(key: $0) }))
    }

    func create(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<KeyBody> {
        let principal = try context.requirePrincipal()
        let input = try await request.decodeJSON(KeyInput.self, schema: .ref("APIKeyCreate"), context: context)
        let tenantID = try await TenantResolution(tenants: tenants)
            .tenant(id: input.tenantID, name: input.tenant, for: principal)
        if principal.role != .admin, input.role >= principal.role {
            throw APIError.forbidden(
                "role_too_high", "a \(principal.role.rawValue) key may only create keys of a lower role (inference, viewer)")
        }
        var issues: [APIError.Detail] = []
        if let name = input.name, name.count > 200 { issues.append(.init(field: "name", message: "must be at most 200 characters")) }
        if let expiry = input.expiresAt, expiry <= clock() { issues.append(.init(field: "expires_at", message: "must be in the future")) }
        var allowedAgents: [UUID]?
        if let texts = input.allowedAgents {
            var ids: [UUID] = []
            for (index, text) in texts.enumerated() {
                guard let id = UUID(uuidString: text) else { issues.append(.init(field: "allowed_agents[\(index)]", message: "must be a UUID")); continue }
                ids.append(id)
            }
            let found = try await agents.page(.init(limit: 10_000, scope: .tenant(tenantID))).agents.map(\.id)
            for (index, id) in ids.enumerated() where !found.contains(id) {
                issues.append(.init(field: "allowed_agents[\(index)]", message: "is not an agent of the key's tenant"))
            }
            allowedAgents = ids
        }
        if !issues.isEmpty { throw APIError.validation(issues, message: "the key is invalid") }
        let (record, secret) = try await keys.create(
            .init(
                tenantID: tenantID, role: input.role, name: input.name ?? "", readBodies: input.readBodies ?? false,
                allowedAgents: allowedAgents, allowedModels: input.allowedModels, expiresAt: input.expiresAt,
                createdBy: principal.keyID),
            actor: context.actor)
        context.logger.notice("registry.key.created", metadata: [
            "key.id": "\(record.id.jsonString)", "key.prefix": "\(record.prefix)", "key.role": "\(record.role.rawValue)",
            "tenant.id": "\(tenantID.jsonString)",
        ])
        return JSONResponse(KeyBody(key: record, secret: secret), status: .created)
    }

    func get(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<KeyBody> {
        JSONResponse(KeyBody(key: try await find(context)))
    }

    func revoke(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<KeyBody> {
        let principal = try context.requirePrincipal()
        let key = try await find(context)
        if principal.role != .admin, key.role >= principal.role {
            throw APIError.forbidden("role_too_high", "a \(principal.role.rawValue) key may only revoke keys of a lower role")
        }
        guard let revoked = try await keys.revoke(key.id, actor: context.actor) else { throw OwnedResource.apiKey.notFound(key.id.jsonString) }
        context.logger.notice("registry.key.revoked", metadata: ["key.id": "\(key.id.jsonString)", "key.prefix": "\(key.prefix)"])
        return JSONResponse(KeyBody(key: revoked))
    }

    private func find(_ context: RegistryContext) async throws -> APIKeyRecord {
        let text = try context.pathParameter("id")
        guard let id = UUID(uuidString: text), let key = try await keys.find(id) else { throw OwnedResource.apiKey.notFound(text) }
        return key
    }
}

/// The tenant a request names (`tenant_id` or `tenant`, by name) or, when it names none, the
/// caller's. Only an admin may name another tenant; anyone else naming one gets the 404 of a
/// tenant that does not exist.
struct TenantResolution: Sendable {
    let tenants: TenantRepository

    func tenant(id: String?, name: String?, for principal: Principal) async throws -> UUID {
        let found: TenantRecord?
        let named: String
        if let id {
            named = id
            if let uuid = UUID(uuidString: id) { found = try await tenants.find(uuid) } else { found = nil }
        } else if let name {
            named = name
            found = try await tenants.find(named: name)
        } else {
            return principal.tenantID
        }
        guard let found, principal.scope.contains(found.id) else { throw OwnedResource.tenant.notFound(named) }
        return found.id
    }
}
