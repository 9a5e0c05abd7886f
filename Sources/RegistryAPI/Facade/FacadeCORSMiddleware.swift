import HTTPTypes
import Hummingbird

/// CORS for browser clients of `/v1` (OpenAI's and Anthropic's SDKs in a web page): off unless
/// origins are allow-listed (`SWITCHBOARD_CORS_ORIGINS`), since a page of any origin could
/// otherwise spend the key it holds. For an allowed `Origin`, a preflight (`OPTIONS` with
/// `Access-Control-Request-Method`) is answered here, before routing (no route takes OPTIONS),
/// and every other answer gets the origin and the headers a client may read; any other origin
/// gets no CORS header, so the browser refuses it. `/api` and the UI are never cross-origin.
struct FacadeCORSMiddleware<Context: RequestContext>: RouterMiddleware {
    let allowedOrigins: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        try await FacadeCORS.handle(request, context: context, allowedOrigins: allowedOrigins, next: next)
    }
}

/// The CORS rules of `FacadeCORSMiddleware` (headers are static members, which a generic type cannot hold).
enum FacadeCORS {
    static let allowOrigin = HTTPField.Name("Access-Control-Allow-Origin")!
    static let allowMethods = HTTPField.Name("Access-Control-Allow-Methods")!
    static let allowHeaders = HTTPField.Name("Access-Control-Allow-Headers")!
    static let exposeHeaders = HTTPField.Name("Access-Control-Expose-Headers")!
    static let maxAge = HTTPField.Name("Access-Control-Max-Age")!
    static let requestMethod = HTTPField.Name("Access-Control-Request-Method")!
    static let requestHeaders = HTTPField.Name("Access-Control-Request-Headers")!
    static let origin = HTTPField.Name("Origin")!
    static let vary = HTTPField.Name("Vary")!

    /// What the SDKs read besides the body: the job, its cost and warnings, and retry advice.
    static let exposed = [
        "x-switchboard-job-id", "x-switchboard-fallback-depth", "x-switchboard-cost", "x-switchboard-provider",
        "x-switchboard-attempts", "x-switchboard-warnings", "x-should-retry", "retry-after", "request-id", "x-request-id",
    ].joined(separator: ", ")

    static func handle<Context>(
        _ request: Request, context: Context, allowedOrigins: Set<String>, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard request.uri.path.hasPrefix(APIRoute.v1Prefix + "/"), let origin = request.headers[Self.origin], allowedOrigins.contains(origin) else {
            return try await next(request, context)
        }
        if request.method == .options, request.headers[Self.requestMethod] != nil {
            var headers = HTTPFields()
            headers[Self.allowOrigin] = origin
            headers[Self.allowMethods] = "GET, POST, OPTIONS"
            // The SDKs send their own headers (x-stainless-*, anthropic-*, openai-*): any the page asks for.
            headers[Self.allowHeaders] = request.headers[Self.requestHeaders] ?? "authorization, content-type"
            headers[Self.maxAge] = "600"
            headers[Self.vary] = "Origin"
            return Response(status: .noContent, headers: headers)
        }
        var response = try await next(request, context)
        response.headers[Self.allowOrigin] = origin
        response.headers[Self.exposeHeaders] = Self.exposed
        response.headers[Self.vary] = "Origin"
        return response
    }
}
