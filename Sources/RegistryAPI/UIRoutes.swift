import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The web UI: `/` is its page, `/ui/<file>` its stylesheet and scripts (`UIAssets`). One route
/// per file, so `/openapi.json` lists exactly what is served, with its real content type. The page
/// calls the same `/api` routes as any client, with the bearer token the user typed in (kept in
/// the tab's sessionStorage); serving the files themselves needs no token, they hold no data.
struct UIRoutes: Sendable {
    let assets: UIAssets

    static let assetPrefix = "/ui/"

    /// Only this origin's files and API; no inline script (the page has none), no framing.
    static let contentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    var routes: [APIRoute] {
        var routes = [
            APIRoute(
                method: .get, path: "/", operationID: "webUI", tag: "ui",
                summary: "The web UI (agents and their model settings, the model catalog and comparison, usage, jobs and executions, configuration changes). No token needed for the page; it asks for one when the API requires it.",
                access: .public,
                responses: [
                    .init(200, "The page.", .string(), contentType: "text/html; charset=utf-8"),
                    .init(304, "Not modified (If-None-Match matched the ETag).", nil),
                ],
                errors: [404],
                handler: { [assets] request, _ in try Self.serve(assets.assets[UIAssets.indexName], request) }),
        ]
        for asset in assets.assets.values.sorted(by: { $0.name < $1.name }) where asset.name != UIAssets.indexName {
            routes.append(APIRoute(
                method: .get, path: Self.assetPrefix + asset.name, operationID: "webUIAsset_" + Self.identifier(asset.name), tag: "ui",
                summary: "A file of the web UI.",
                access: .public,
                responses: [
                    .init(200, "The file.", .string(), contentType: asset.contentType),
                    .init(304, "Not modified (If-None-Match matched the ETag).", nil),
                ],
                handler: { request, _ in try Self.serve(asset, request) }))
        }
        return routes
    }

    static func identifier(_ name: String) -> String {
        String(name.map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }

    static func serve(_ asset: UIAssets.Asset?, _ request: Request) throws -> Response {
        guard let asset else {
            throw APIError.notFound("the web UI is not installed with this server (its files were not found next to the executable)")
        }
        var headers = HTTPFields()
        headers[.eTag] = asset.etag
        // Revalidated on every load (cheap with the ETag), so a new release is never half-cached.
        headers[.cacheControl] = "no-cache"
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        if asset.name == UIAssets.indexName {
            headers[.contentSecurityPolicy] = contentSecurityPolicy
            headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        }
        if let match = request.headers[.ifNoneMatch], match.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == asset.etag }) {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = asset.contentType
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: asset.bytes)))
    }
}
