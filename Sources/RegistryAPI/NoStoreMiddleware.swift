import HTTPTypes
import Hummingbird

/// `Cache-Control: no-store` on every answer that does not set its own (review finding P3-f):
/// `/api` answers carry prompts, results and configuration, and a shared proxy or the browser's
/// cache must keep none of them. Outside ErrorMiddleware, so error answers (400, 401, 404, 500)
/// get it too. Routes with their own policy (the UI's `no-cache` pages) keep it.
struct NoStoreMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        return response
    }
}
