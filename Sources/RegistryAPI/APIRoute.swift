import HTTPTypes
import Hummingbird

/// One endpoint: how the router matches it, what it does, and how `/openapi.json` documents it.
/// The router and the OpenAPI document are both built from the same list of these, so a route
/// cannot exist without documentation or the other way round.
struct APIRoute: Sendable {
    typealias Handler = @Sendable (Request, RegistryContext) async throws -> Response

    var method: HTTPRequest.Method
    /// OpenAPI path template, e.g. `/api/agents/{id}/model-config`.
    var path: String
    var operationID: String
    var tag: String
    var summary: String
    /// Who may call it (checked by the router before the handler; see `RouteAccess`).
    var access: RouteAccess
    var parameters: [APIParameter] = []
    /// Schema of the JSON body; also used to reject unknown fields and wrong types.
    var requestBody: JSONSchema?
    /// Successful responses, e.g. `[.init(200, "The model", .ref("Model"))]`.
    var responses: [APIResponseSpec]
    /// Error statuses this route may answer besides the ones every route shares
    /// (401 on `/api`, 400 and 413 with a body, 500).
    var errors: [Int] = []
    var handler: Handler

    /// The path as Hummingbird's trie router writes it: `{name}` → `:name`, a catch-all
    /// parameter (model ids contain `/`) → `**`.
    var routerPath: String {
        path.split(separator: "/", omittingEmptySubsequences: false).map { segment -> String in
            guard segment.hasPrefix("{"), segment.hasSuffix("}") else { return String(segment) }
            let name = String(segment.dropFirst().dropLast())
            return parameters.contains { $0.name == name && $0.isCatchAll } ? "**" : ":\(name)"
        }.joined(separator: "/")
    }

    /// Routes under `/api` are registered in the `/api` group, which carries auth and the
    /// content-type check; the OpenAPI document marks the same routes as secured.
    static let apiPrefix = "/api"
    var isInAPIGroup: Bool { path.hasPrefix(Self.apiPrefix + "/") }
    /// The OpenAI/Anthropic-compatible routes: their own group (auth by bearer or x-api-key,
    /// errors in the caller's format).
    static let v1Prefix = "/v1"
    var isInV1Group: Bool { path.hasPrefix(Self.v1Prefix + "/") }
    var requiresAuthentication: Bool { isInAPIGroup || isInV1Group }
}

extension APIRoute {
    /// A route whose handler returns the value it answers (`JSONResponse`, `EncodedJSONResponse`,
    /// a bare status), which becomes the response here: the one place a typed answer is turned
    /// into bytes. (Handlers that build a `Response` themselves, such as `/v1`'s, use the
    /// memberwise initialiser.)
    init<Output: ResponseGenerator>(
        method: HTTPRequest.Method, path: String, operationID: String, tag: String, summary: String, access: RouteAccess,
        parameters: [APIParameter] = [], requestBody: JSONSchema? = nil, responses: [APIResponseSpec], errors: [Int] = [],
        handler: @escaping @Sendable (Request, RegistryContext) async throws -> Output
    ) {
        self.init(
            method: method, path: path, operationID: operationID, tag: tag, summary: summary, access: access, parameters: parameters,
            requestBody: requestBody, responses: responses, errors: errors,
            handler: { request, context in try await handler(request, context).response(from: request, context: context) })
    }
}

struct APIParameter: Sendable {
    enum Location: String, Sendable {
        case path, query
    }

    var name: String
    var location: Location
    var schema: JSONSchema
    var description: String
    var required: Bool
    /// A path parameter that may span several segments (model ids such as
    /// `meta-llama/Llama-3.1-8B-Instruct`); clients may also percent-encode the `/`.
    var isCatchAll = false

    static func path(_ name: String, _ description: String, catchAll: Bool = false) -> APIParameter {
        APIParameter(name: name, location: .path, schema: .string(), description: description, required: true, isCatchAll: catchAll)
    }

    static func query(_ name: String, _ schema: JSONSchema, _ description: String, required: Bool = false) -> APIParameter {
        APIParameter(name: name, location: .query, schema: schema, description: description, required: required)
    }
}

struct APIResponseSpec: Sendable {
    var status: Int
    var description: String
    /// nil: no body (204). Content type is JSON unless `contentType` says otherwise.
    var schema: JSONSchema?
    var contentType = "application/json"
    /// Further media types the same status may answer with (e.g. `text/event-stream`).
    var alternateContent: [(contentType: String, schema: JSONSchema)] = []

    init(_ status: Int, _ description: String, _ schema: JSONSchema?, contentType: String = "application/json") {
        self.status = status
        self.description = description
        self.schema = schema
        self.contentType = contentType
    }
}

extension Router where Context == RegistryContext {
    /// Registers every route of the table: `/api/…` routes in the `api` group (auth, content
    /// type), the rest on the router. Every other method on a known path answers 405 with `Allow`.
    func register(_ routes: [APIRoute], api: RouterGroup<RegistryContext>, v1: RouterGroup<RegistryContext>, guard routeGuard: RouteGuard) {
        var allowed: [String: [HTTPRequest.Method]] = [:]
        var order: [String] = []
        for route in routes {
            if allowed[route.routerPath] == nil { order.append(route.routerPath) }
            allowed[route.routerPath, default: []].append(route.method)
            let handler = route.handler
            let access = route.access
            // Documented string bounds of query parameters hold for every route, before its handler.
            let bounded = route.parameters.compactMap { parameter -> (String, Int)? in
                guard parameter.location == .query, let limit = parameter.schema.maxLength else { return nil }
                return (parameter.name, limit)
            }
            let respond: @Sendable (Request, RegistryContext) async throws -> Response = { request, context in
                try await routeGuard.check(access, context: context)
                for (name, limit) in bounded {
                    if let value = request.query(name), value.count > limit {
                        throw APIError.badParameter(name, "must be at most \(limit) characters long")
                    }
                }
                return try await handler(request, context)
            }
            if route.isInAPIGroup {
                api.on(RouterPath(String(route.routerPath.dropFirst(APIRoute.apiPrefix.count))), method: route.method, use: respond)
            } else if route.isInV1Group {
                v1.on(RouterPath(String(route.routerPath.dropFirst(APIRoute.v1Prefix.count))), method: route.method, use: respond)
            } else {
                on(RouterPath(route.routerPath), method: route.method, use: respond)
            }
        }
        let methods: [HTTPRequest.Method] = [.get, .post, .put, .patch, .delete]
        for path in order {
            let answered = allowed[path] ?? []
            let names = answered.map(\.rawValue)
            let reject: @Sendable (Request, RegistryContext) async throws -> Response = { request, _ in
                throw APIError.methodNotAllowed(request.method.rawValue, allowed: names)
            }
            for method in methods where !answered.contains(method) {
                if path.hasPrefix(APIRoute.apiPrefix + "/") {
                    api.on(RouterPath(String(path.dropFirst(APIRoute.apiPrefix.count))), method: method, use: reject)
                } else if path.hasPrefix(APIRoute.v1Prefix + "/") {
                    v1.on(RouterPath(String(path.dropFirst(APIRoute.v1Prefix.count))), method: method, use: reject)
                } else {
                    on(RouterPath(path), method: method, use: reject)
                }
            }
        }
    }
}
