import Foundation
import Hummingbird
import Storage

/// `/api/tenants`: the teams that own agents, keys, jobs and executions. Admins create them and
/// see them all; everyone else sees only their own.
struct TenantRoutes: Sendable {
    let tenants: TenantRepository

    var routes: [APIRoute] {
        [
            APIRoute(
                method: .get, path: "/api/tenants", operationID: "listTenants", tag: "access",
                summary: "Tenants by name: every tenant for an admin, the caller's own for anyone else.",
                access: .role(.viewer),
                responses: [.init(200, "The tenants.", .ref("TenantList"))],
                handler: list),
            APIRoute(
                method: .post, path: "/api/tenants", operationID: "createTenant", tag: "access",
                summary: "Create a tenant (admins only). 409 when the name is taken.",
                access: .role(.admin),
                requestBody: .ref("TenantCreate"),
                responses: [.init(201, "The new tenant.", .ref("Tenant"))], errors: [409],
                handler: create),
            APIRoute(
                method: .get, path: "/api/tenants/{id}", operationID: "getTenant", tag: "access",
                summary: "One tenant (the caller's own, or any for an admin).",
                access: .role(.viewer, owns: .tenant),
                parameters: [.path("id", "Tenant id (UUID).")],
                responses: [.init(200, "The tenant.", .ref("Tenant"))], errors: [404],
                handler: get),
            APIRoute(
                method: .patch, path: "/api/tenants/{id}", operationID: "updateTenant", tag: "access",
                summary: "Set the tenant's max_queued_jobs (admins only): a job beyond it is refused with 429 by every registry; null removes the cap.",
                access: .role(.admin),
                parameters: [.path("id", "Tenant id (UUID).")],
                requestBody: .ref("TenantUpdate"),
                responses: [.init(200, "The tenant.", .ref("Tenant"))], errors: [404],
                handler: update),
        ]
    }

    struct TenantBody: Encodable, Sendable {
        var tenant: TenantRecord
        enum CodingKeys: String, CodingKey { case id, name, createdAt = "created_at", maxQueuedJobs = "max_queued_jobs" }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(tenant.id.jsonString, forKey: .id)
            try c.encode(tenant.name, forKey: .name)
            try c.encode(tenant.createdAt, forKey: .createdAt)
            try c.encode(tenant.maxQueuedJobs, forKey: .maxQueuedJobs)
        }
    }

    struct TenantListBody: Encodable, Sendable {
        var tenants: [TenantBody]
    }

    struct TenantInput: Decodable, Sendable {
        var name: String
    }

    func list(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<TenantListBody> {
        JSONResponse(TenantListBody(tenants: try await tenants.list(context.scope).map(TenantBody.init)))
    }

    func create(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<TenantBody> {
        let input = try await request.decodeJSON(TenantInput.self, schema: .ref("TenantCreate"), context: context)
        if let problem = TenantRecord.nameProblem(input.name) { throw APIError.validation([.init(field: "name", message: problem)]) }
        guard let tenant = try await tenants.create(name: input.name, actor: context.actor) else {
            throw APIError.conflict("tenant '\(input.name)' already exists", details: [.init(field: "name", message: "is taken")])
        }
        context.logger.notice("registry.tenant.created", metadata: ["tenant.id": "\(tenant.id.jsonString)", "tenant.name": "\(tenant.name)"])
        return JSONResponse(TenantBody(tenant: tenant), status: .created)
    }

    func update(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<TenantBody> {
        let text = try context.pathParameter("id")
        guard let id = UUID(uuidString: text), try await tenants.find(id) != nil else { throw OwnedResource.tenant.notFound(text) }
        let (document, _) = try await request.readJSON(schema: .ref("TenantUpdate"), context: context)
        guard let value = document["max_queued_jobs"] else { return JSONResponse(TenantBody(tenant: try await found(id, text))) }
        var cap: Int?
        if !value.isNull {
            guard let int = value.intValue, int >= 1, int <= Int(Int32.max) else {
                throw APIError.validation([.init(field: "max_queued_jobs", message: "must be an integer from 1 to \(Int32.max), or null")])
            }
            cap = int
        }
        guard let tenant = try await tenants.setMaxQueuedJobs(id, cap, actor: context.actor) else { throw OwnedResource.tenant.notFound(text) }
        context.logger.notice("registry.tenant.updated", metadata: [
            "tenant.id": "\(tenant.id.jsonString)", "tenant.max_queued_jobs": "\(cap.map(String.init) ?? "none")",
        ])
        return JSONResponse(TenantBody(tenant: tenant))
    }

    private func found(_ id: UUID, _ text: String) async throws -> TenantRecord {
        guard let tenant = try await tenants.find(id) else { throw OwnedResource.tenant.notFound(text) }
        return tenant
    }

    func get(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<TenantBody> {
        let text = try context.pathParameter("id")
        guard let id = UUID(uuidString: text), let tenant = try await tenants.find(id) else {
            throw OwnedResource.tenant.notFound(text)
        }
        return JSONResponse(TenantBody(tenant: tenant))
    }
}
