import Foundation
import HTTPTypes
import JSON
import Testing
@testable import RegistryAPI

/// The web UI's files: served at `/` and `/ui/…` from the bundled resources, without a token,
/// with their content types, an ETag, and a policy that allows nothing from other origins.
@Suite struct UIRouteTests {
    @Test func servesThePageAndItsAssetsWithoutAToken() async throws {
        try await Registry.run(token: "t0ken") { api in
            let page = try await api.send(.get, "/", authorization: .some(nil))
            #expect(page.status == .ok, "\(page)")
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
            #expect(page.text.contains("<script type=\"module\" src=\"/ui/app.js\"></script>"))
            let policy = try #require(page.headers[.contentSecurityPolicy])
            #expect(policy.contains("default-src 'self'") && policy.contains("frame-ancestors 'none'"))
            #expect(page.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")

            // Every script and stylesheet the page and its modules name is served, with its type.
            var names = Set(Self.references(in: page.text))
            let script = try await api.send(.get, "/ui/app.js", authorization: .some(nil))
            names.formUnion(Self.references(in: script.text))
            #expect(names.isSuperset(of: ["app.js", "app.css", "favicon.svg", "agents.js", "models.js", "usage.js", "jobs.js", "changes.js"]), "\(names)")
            for name in names {
                let reply = try await api.send(.get, "/ui/\(name)", authorization: .some(nil))
                #expect(reply.status == .ok, "\(name): \(reply)")
                let expected = name.hasSuffix(".js") ? "text/javascript; charset=utf-8" : name.hasSuffix(".css") ? "text/css; charset=utf-8" : "image/svg+xml"
                #expect(reply.headers[.contentType] == expected, "\(name)")
                #expect(!reply.body.isEmpty)
            }
            // Nothing the page loads comes from elsewhere (no CDN): every src/href is local.
            #expect(!page.text.contains("http://") && !page.text.contains("https://"))
        }
    }

    @Test func answersNotModifiedForAMatchingETag() async throws {
        try await Registry.run { api in
            let first = try await api.get("/ui/app.css")
            let etag = try #require(first.headers[.eTag])
            #expect(first.headers[.cacheControl] == "no-cache")
            let again = try await api.send(.get, "/ui/app.css", headers: [.ifNoneMatch: etag])
            #expect(again.status == .notModified)
            #expect(again.body.isEmpty)
            let other = try await api.send(.get, "/ui/app.css", headers: [.ifNoneMatch: "\"something-else\""])
            #expect(other.status == .ok)
        }
    }

    @Test func unknownAssetsAndOtherMethodsAreAPIErrors() async throws {
        try await Registry.run { api in
            let missing = try await api.get("/ui/nope.js")
            #expect(missing.status == .notFound)
            #expect(missing.errorCode == "not_found")
            let traversal = try await api.get("/ui/../Package.swift")
            #expect(traversal.status == .notFound)
            let post = try await api.send(.post, "/", json: "{}")
            #expect(post.status == .methodNotAllowed)
            #expect(post.headers[.allow] == "GET")
        }
    }

    @Test func theDocumentListsTheUIRoutes() async throws {
        try await Registry.run { api in
            let document = try await api.get("/openapi.json").json()
            let root = document["paths"]?["/"]?["get"]
            #expect(root?["tags"]?.array == [.string("ui")])
            #expect(root?["responses"]?["200"]?["content"]?["text/html; charset=utf-8"] != nil)
            #expect(root?["security"] == nil, "the page needs no token")
            #expect(document["paths"]?["/ui/app.js"]?["get"]?["responses"]?["200"]?["content"]?["text/javascript; charset=utf-8"] != nil)
            #expect(document["paths"]?["/api/usage"]?["get"]?["security"] != nil)
        }
    }

    @Test func assetsAreFoundAndFingerprinted() {
        let assets = UIAssets.load(logger: .init(label: "ui-test"))
        #expect(assets.directory != nil)
        #expect(assets.assets[UIAssets.indexName] != nil)
        #expect(assets.assets.values.allSatisfy { $0.etag.hasPrefix("\"") && $0.etag.hasSuffix("\"") })
        #expect(UIAssets.fnv1a(Array("a".utf8)) != UIAssets.fnv1a(Array("b".utf8)))
        #expect(UIAssets.fnv1a([]) == "cbf29ce484222325")
    }

    /// `/ui/<name>` references in HTML or JavaScript text (src, href and module imports).
    static func references(in text: String) -> [String] {
        var names: [String] = []
        for prefix in ["/ui/", "./"] {
            var rest = Substring(text)
            while let range = rest.range(of: prefix) {
                rest = rest[range.upperBound...]
                let name = rest.prefix { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_" }
                if name.hasSuffix(".js") || name.hasSuffix(".css") || name.hasSuffix(".svg") { names.append(String(name)) }
            }
        }
        return names
    }
}
