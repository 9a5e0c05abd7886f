import Foundation
import Testing
@testable import RegistryAPI

/// The catalog cache answers repeated reads from memory, and never serves a stale catalog: writes
/// through this API invalidate it at once, writes by anyone else through NOTIFY.
@Suite struct CatalogCacheTests {
    @Test func repeatedReadsComeFromMemoryAndEveryChangeInvalidates() async throws {
        let cache = CatalogCache()
        try await Registry.run(catalogCache: cache) { api in
            #expect(cache.isListening)
            let first = try await api.get("/api/models?provider=openai&limit=3")
            #expect(cache.lookup("provider=openai&limit=3", day: .init(Registry.fixedNow)) != nil, "stored after the first read")
            #expect(try await api.get("/api/models?provider=openai&limit=3").body == first.body)

            // A write through the API: the next read sees it, at once.
            let firstID = try #require(try first.json()["models"]?[0]?["model_id"]?.string)
            #expect(try await api.patch("/api/models/\(firstID)", #"{"display_name": "AAA renamed"}"#).status == .ok)
            let afterPatch = try await api.get("/api/models?provider=openai&limit=3").json()
            #expect(afterPatch["models"]?[0]?["display_name"]?.string == "AAA renamed")

            // A write behind the API's back (plain SQL): NOTIFY invalidates (bounded wait for delivery).
            let version = cache.version
            try await api.pool.execute("UPDATE llm_models SET description = 'from sql' WHERE model_id = \(firstID)")
            for _ in 0..<200 where cache.version == version { try await Task.sleep(for: .milliseconds(25)) }
            #expect(cache.version != version, "the NOTIFY reached the cache")
            let afterSQL = try await api.get("/api/models?provider=openai&limit=3").json()
            #expect(afterSQL["models"]?[0]?["description"]?.string == "from sql")
        }
    }

    @Test func withoutItsListenerTheCacheAnswersNothing() {
        let cache = CatalogCache()
        cache.store("q", day: .init(Registry.fixedNow), version: cache.version, body: .init(string: "{}"))
        #expect(cache.lookup("q", day: .init(Registry.fixedNow)) == nil)
        cache.setListening(true)
        let version = cache.version
        cache.store("q", day: .init(Registry.fixedNow), version: version, body: .init(string: "{}"))
        #expect(cache.lookup("q", day: .init(Registry.fixedNow)) != nil)
        #expect(cache.lookup("q", day: .init(Date(timeIntervalSince1970: 1_900_000_000))) == nil, "another day: effective statuses may differ")
        cache.invalidate()
        #expect(cache.lookup("q", day: .init(Registry.fixedNow)) == nil)
        cache.store("q", day: .init(Registry.fixedNow), version: version, body: .init(string: "{}"))
        #expect(cache.lookup("q", day: .init(Registry.fixedNow)) == nil, "an answer read before a change is not kept")
    }
}
