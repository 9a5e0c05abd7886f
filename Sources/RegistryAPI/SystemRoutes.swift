import JSON
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Postgres
import Prometheus
import Storage

/// Probes and tooling: liveness, readiness, Prometheus metrics and the OpenAPI document. Not
/// under `/api`, so they need no token.
struct SystemRoutes: Sendable {
    /// The readiness probe asks the database, and compares its migrations with the binary's.
    let pool: PostgresPool
    let migrator: Migrator
    /// Readiness details only for a caller with a valid token.
    let tokens: APITokens
    let metrics: PrometheusCollectorRegistry
    /// The whole route table, for `/openapi.json` (this route included).
    let document: @Sendable () -> JSONValue

    var routes: [APIRoute] {
        [
            APIRoute(
                method: .get, path: "/healthz", operationID: "health", tag: "operations",
                summary: "Liveness: the process is serving requests (does not touch the database).",
                access: .public,
                responses: [.init(200, "Alive.", .ref("Health"))],
                handler: { _, _ in JSONResponse(["status": "ok"]) }),
            APIRoute(
                method: .get, path: "/readyz", operationID: "readiness", tag: "operations",
                summary: "Readiness: the database answers and every migration is applied (503 otherwise). Details (database, migrations) only with a valid token, or when the server has none.",
                access: .public,
                responses: [.init(200, "Ready.", .ref("Readiness")), .init(503, "Not ready, with why.", .ref("Readiness"))],
                handler: readiness),
            APIRoute(
                method: .get, path: "/metrics", operationID: "metrics", tag: "operations",
                summary: "Prometheus metrics: http_server_requests_total{method,route,status}, http_server_request_duration_seconds{method,route}; with the admin token (or on a server without tokens) also switchboard_budget_limit_usd, _spent_usd and _reserved_usd{budget_id,scope,scope_id,tenant_id,period} for each budget's current period.",
                access: .public,
                responses: [.init(200, "Prometheus text exposition format.", .string(), contentType: "text/plain; version=0.0.4")],
                handler: exposeMetrics),
            APIRoute(
                method: .get, path: "/openapi.json", operationID: "openAPI", tag: "operations",
                summary: "This API's OpenAPI 3.1 document.",
                access: .public,
                responses: [.init(200, "The document.", .anyValue)],
                handler: { [document] _, _ in JSONResponse(document()) }),
        ]
    }

    struct ReadinessBody: Encodable, Sendable {
        struct Migrations: Encodable, Sendable {
            var applied: Int
            var pending: [String]
            var error: String?
        }
        var status: String
        var database: String?
        var migrations: Migrations?
    }

    func readiness(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<ReadinessBody> {
        var body = ReadinessBody(status: "not_ready", database: "unreachable", migrations: .init(applied: 0, pending: []))
        do {
            try await pool.query("SELECT 1 AS alive")
            body.database = "ok"
            let status = try await migrator.status()
            body.migrations = .init(applied: status.applied.count, pending: status.pending)
            if status.pending.isEmpty { body.status = "ready" }
        } catch let error as MigrationError {
            // Paths and checksums: for the log and for authenticated callers only.
            context.logger.warning("registry.readiness.migrations_unreadable", metadata: ["error.message": "\(error.description)"])
            body.migrations?.error = "the migration state could not be read; the server log has the details"
        } catch {
            context.logger.warning("registry.readiness.database_unreachable", metadata: ["error.type": "\(type(of: error))"])
        }
        // Probes only need the status; what is wrong is for callers with a token (or a server without tokens).
        let presented = Authenticator.presentedCredential(authorization: request.headers[.authorization], apiKey: nil)
        if tokens.isEnabled, presented.flatMap(tokens.principal(for:)) == nil {
            body.database = nil
            body.migrations = nil
        }
        return JSONResponse(body, status: body.status == "ready" ? .ok : .serviceUnavailable)
    }

    func exposeMetrics(_ request: Request, _ context: RegistryContext) async throws -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        var bytes = metrics.emitToBuffer()
        // Spend per budget tells who spends what: only for the admin token (Prometheus's
        // `authorization` setting), or on a loopback server without tokens.
        let presented = Authenticator.presentedCredential(authorization: request.headers[.authorization], apiKey: nil)
        if !tokens.isEnabled || presented.flatMap(tokens.principal(for:))?.role == .admin {
            bytes += try await BudgetGauges.render(pool: pool)
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
