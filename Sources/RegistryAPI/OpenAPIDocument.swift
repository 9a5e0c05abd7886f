import JSON
/// Builds `/openapi.json` (OpenAPI 3.1) from the route table the router is built from, and the
/// named schemas request bodies are checked against.
enum OpenAPIDocument {
    static func build(routes: [APIRoute], version: String) -> JSONValue {
        var paths: [(key: String, value: JSONValue)] = []
        for route in routes {
            let operation = self.operation(route)
            let method = route.method.rawValue.lowercased()
            if let index = paths.firstIndex(where: { $0.key == route.path }), case .object(var methods) = paths[index].value {
                methods.append((method, operation))
                paths[index].value = .object(methods)
            } else {
                paths.append((route.path, .object([(method, operation)])))
            }
        }
        let schemas = APISchemas.components.keys.sorted().compactMap { name in
            APISchemas.components[name].map { (key: name, value: $0.json) }
        }
        return .object([
            ("openapi", .string("3.1.0")),
            ("info", .object([
                ("title", .string("Switchboard model registry")),
                ("version", .string(version)),
                ("description", .string(
                    "Model catalog, providers, agents' model configuration, recommendations, cost estimates, catalog import, "
                        + "LLM jobs (enqueue, long-poll, cancel) and workflow executions; "
                        + "OpenAI- and Anthropic-compatible /v1 endpoints over the same job queue (their errors use each format's own shape). "
                        + "Errors are {\"error\":{\"code\",\"message\",\"details\":[{\"field\",\"message\"}]}}. "
                        + "Request bodies are limited to 1 MiB (413), except the catalog import (16 MiB); unknown fields are rejected (400). "
                        + "POST, PUT and PATCH under /api need Content-Type: application/json (415). A wrong method on a known path is 405 with Allow. "
                        + "Prices are exact decimals (format decimal): answered as JSON numbers, accepted as numbers or decimal strings; parse them as decimals, not doubles."
                )),
            ])),
            ("paths", .object(paths)),
            ("components", .object([
                ("schemas", .object(schemas)),
                ("securitySchemes", .object([
                    ("bearerToken", .object([
                        ("type", .string("http")), ("scheme", .string("bearer")),
                        ("description", .string("An API key (model-registry keys create, POST /api/keys) or SWITCHBOARD_ADMIN_TOKEN; required on /api and /v1 when the server has a credential configured. Each operation's x-switchboard-role is the lowest role that may call it (viewer < inference < operator < admin).")),
                    ])),
                    ("apiKeyHeader", .object([
                        ("type", .string("apiKey")), ("in", .string("header")), ("name", .string("x-api-key")),
                        ("description", .string("The same key as x-api-key (Anthropic SDKs), on /api and /v1.")),
                    ])),
                ])),
                ("responses", .object(standardErrors.map { ($0.name, errorResponse($0.description)) })),
            ])),
            ("tags", .array(["models", "providers", "agents", "changes", "jobs", "executions", "usage", "access", "budgets", "operations", "ui", "v1"].map { .object([("name", .string($0))]) })),
        ])
    }

    /// Error responses shared by routes, by status.
    static let standardErrors: [(status: Int, name: String, description: String)] = [
        (400, "BadRequest", "Invalid JSON (saying where), an unknown field, a wrong type, or a value out of range (details per field)."),
        (401, "Unauthorized", "Missing or wrong bearer token."),
        (403, "Forbidden", "The key's role is below the operation's (x-switchboard-role), or the key is limited to other agents or models."),
        (404, "NotFound", "No such resource (or route)."),
        (409, "Conflict", "Conflicts with the current state (details name what)."),
        (405, "MethodNotAllowed", "The path exists but not with this method (the Allow header lists those it has)."),
        (413, "PayloadTooLarge", "Request body over the size limit."),
        (415, "UnsupportedMediaType", "POST, PUT and PATCH under /api need Content-Type: application/json, with or without a body."),
        (422, "Unprocessable", "Well-formed but cannot be processed (e.g. the model has no price)."),
        (429, "TooManyRequests", "Too many failed authentications from this address, or too many waits for this key (Retry-After says when to try again)."),
        (500, "InternalError", "Unexpected server error (details in the server log)."),
        (503, "ServiceUnavailable", "The database is not reachable (code database_unavailable); retry later."),
    ]

    static func errorStatuses(for route: APIRoute) -> [Int] {
        var statuses = Set(route.errors)
        if route.requestBody != nil { statuses.formUnion([400, 413]) }
        // A query value that does not parse (e.g. force=null) is refused with 400 before the handler.
        if route.parameters.contains(where: { $0.location == .query }) { statuses.insert(400) }
        if route.requiresAuthentication {
            statuses.formUnion([401, 403, 429, 503])
            // Another tenant's row answers as one that does not exist.
            if route.access.owned != nil { statuses.insert(404) }
            if route.method == .post || route.method == .put || route.method == .patch { statuses.insert(415) }
        }
        statuses.insert(500)
        return statuses.sorted()
    }

    static func operation(_ route: APIRoute) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("operationId", .string(route.operationID)),
            ("summary", .string(route.summary)),
            ("tags", .array([.string(route.tag)])),
        ]
        if let role = route.access.role { members.append(("x-switchboard-role", .string(role.rawValue))) }
        if !route.parameters.isEmpty {
            members.append(("parameters", .array(route.parameters.map { parameter in
                var fields: [(key: String, value: JSONValue)] = [
                    ("name", .string(parameter.name)), ("in", .string(parameter.location.rawValue)),
                    ("required", .bool(parameter.required)), ("description", .string(parameter.description)),
                    ("schema", parameter.schema.json),
                ]
                // Model ids contain '/'. OpenAPI allows `allowReserved` only on query parameters, so
                // the description says it: send the '/' as is, or percent-encoded (%2F). The extension
                // marks the parameter for tools of ours (and the router/document agreement test).
                if parameter.isCatchAll { fields.append(("x-catch-all", .bool(true))) }
                return .object(fields)
            })))
        }
        if let body = route.requestBody {
            members.append(("requestBody", .object([
                ("required", .bool(true)),
                ("content", .object([("application/json", .object([("schema", body.json)]))])),
            ])))
        }
        var responses: [(key: String, value: JSONValue)] = route.responses.map { response in
            var fields: [(key: String, value: JSONValue)] = [("description", .string(response.description))]
            if let schema = response.schema {
                let alternates = response.alternateContent.map { (key: $0.contentType, value: JSONValue.object([("schema", $0.schema.json)])) }
                fields.append(("content", .object([(response.contentType, .object([("schema", schema.json)]))] + alternates)))
            }
            return (String(response.status), .object(fields))
        }
        for status in errorStatuses(for: route) where !responses.contains(where: { $0.key == String(status) }) {
            if let shared = standardErrors.first(where: { $0.status == status }) {
                responses.append((String(status), .object([("$ref", .string("#/components/responses/\(shared.name)"))])))
            }
        }
        members.append(("responses", .object(responses)))
        if route.isInV1Group {
            members.append(("security", .array([.object([("bearerToken", .array([]))]), .object([("apiKeyHeader", .array([]))])])))
        } else if route.requiresAuthentication {
            members.append(("security", .array([.object([("bearerToken", .array([]))])])))
        }
        return .object(members)
    }

    static func errorResponse(_ description: String) -> JSONValue {
        .object([
            ("description", .string(description)),
            ("content", .object([("application/json", .object([("schema", .object([("$ref", .string("#/components/schemas/Error"))]))]))])),
        ])
    }
}
