import Foundation
import Hummingbird
import JSON
import Storage

/// `/api/changes` and `/api/agents/{id}/changes`: the configuration audit trail (migrations/0016),
/// newest first, paged with an opaque cursor.
struct ChangeRoutes: Sendable {
    let changes: ConfigChangeRepository
    /// Only to tell an agent that never existed (404) from one without changes.
    let agents: AgentRepository

    static let pageParameters: [APIParameter] = [
        .query("limit", JSONSchema.integer(minimum: 1, maximum: 200), "1–200, default 50."),
        .query("cursor", JSONSchema.string(maxLength: 20), "next_cursor of the previous page."),
    ]

    var routes: [APIRoute] {
        [
            APIRoute(
                method: .get, path: "/api/changes", operationID: "listConfigChanges", tag: "changes",
                summary: "Every recorded write to models, providers and agents' model configuration: before → after, changed fields, token kind, request id; newest first.",
                access: .role(.viewer),
                parameters: [
                    .query("entity", .enumeration(ConfigChangeRepository.entities), "Only changes of this kind of thing."),
                    .query("entity_id", JSONSchema.string(maxLength: 512), "Only changes of this model id, provider name or agent id (with entity)."),
                ] + Self.pageParameters,
                responses: [.init(200, "A page of changes.", .ref("ConfigChangeList"))], errors: [400],
                handler: list),
            APIRoute(
                method: .get, path: "/api/agents/{id}/changes", operationID: "listAgentConfigChanges", tag: "changes",
                summary: "Who changed this agent's model configuration, and when (newest first).",
                access: .role(.viewer, owns: .agent),
                parameters: [AgentRoutes.idParameter] + Self.pageParameters,
                responses: [.init(200, "A page of changes.", .ref("ConfigChangeList"))], errors: [400, 404],
                handler: agentChanges),
        ]
    }

    func list(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<ConfigChangeListBody> {
        let entity = request.query("entity")
        if let entity, !ConfigChangeRepository.entities.contains(entity) {
            throw APIError.badParameter("entity", "must be one of \(ConfigChangeRepository.entities.joined(separator: ", "))")
        }
        var filter = try Self.page(request)
        filter.scope = context.scope
        filter.entity = entity
        filter.entityID = request.query("entity_id")
        return try await answer(filter, request, context)
    }

    func agentChanges(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<ConfigChangeListBody> {
        let text = try context.pathParameter("id")
        guard let id = UUID(uuidString: text) else { throw APIError.notFound("no agent with id '\(text)' (agent ids are UUIDs)") }
        var filter = try Self.page(request)
        filter.scope = context.scope
        filter.entity = "agent"
        filter.entityID = id.jsonString
        let changes = try await self.changes.list(filter)
        // An agent deleted long ago still has its trail; 404 only for ids never seen at all.
        if changes.isEmpty, filter.beforeID == nil, try await agents.find(id) == nil {
            throw AgentRoutes.agentNotFound(id)
        }
        return JSONResponse(ConfigChangeListBody(changes: changes, limit: filter.limit))
    }

    func answer(_ filter: ConfigChangeRepository.Filter, _ request: Request, _ context: RegistryContext) async throws -> JSONResponse<ConfigChangeListBody> {
        let changes = try await self.changes.list(filter)
        return JSONResponse(ConfigChangeListBody(changes: changes, limit: filter.limit))
    }

    static func page(_ request: Request) throws -> ConfigChangeRepository.Filter {
        var filter = ConfigChangeRepository.Filter()
        filter.limit = try request.queryInt("limit", range: 1...200) ?? 50
        if let cursor = request.query("cursor") {
            guard let id = Int64(cursor), id > 0 else { throw APIError.badParameter("cursor", "must be a next_cursor from a previous page") }
            filter.beforeID = id
        }
        return filter
    }
}

struct ConfigChangeListBody: Encodable, Sendable {
    var changes: [ConfigChange]
    var limit: Int

    enum CodingKeys: String, CodingKey {
        case changes
        case nextCursor = "next_cursor"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(changes.map(ConfigChangeBody.init), forKey: .changes)
        // A full page may have more after it; a short one is the last.
        if changes.count == limit, let last = changes.last {
            try container.encode(String(last.id), forKey: .nextCursor)
        } else {
            try container.encodeNil(forKey: .nextCursor)
        }
    }
}

struct ConfigChangeBody: Encodable, Sendable {
    var change: ConfigChange

    init(_ change: ConfigChange) { self.change = change }

    enum CodingKeys: String, CodingKey {
        case id, entity, action, before, after
        case entityID = "entity_id"
        case changedFields = "changed_fields"
        case tokenKind = "token_kind"
        case requestID = "request_id"
        case changedAt = "changed_at"
        case keyID = "key_id"
        case tenantID = "tenant_id"
        case clientRequestID = "client_request_id"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(change.id, forKey: .id)
        try c.encode(change.entity, forKey: .entity)
        try c.encode(change.entityID, forKey: .entityID)
        try c.encode(change.action, forKey: .action)
        try c.encode(change.changedFields, forKey: .changedFields)
        // The stored JSON, passed through (numbers keep their exact text).
        try c.encode(change.beforeJSON.flatMap { try? JSONParser.parse(Array($0.utf8)) } ?? .null, forKey: .before)
        try c.encode(change.afterJSON.flatMap { try? JSONParser.parse(Array($0.utf8)) } ?? .null, forKey: .after)
        try c.encode(change.tokenKind, forKey: .tokenKind)
        try c.encode(change.requestID, forKey: .requestID)
        try c.encode(change.keyID?.uuidString.lowercased(), forKey: .keyID)
        try c.encode(change.tenantID?.uuidString.lowercased(), forKey: .tenantID)
        try c.encode(change.clientRequestID, forKey: .clientRequestID)
        try c.encode(change.changedAt, forKey: .changedAt)
    }
}
