import Foundation
import HTTPTypes
import Testing
@testable import RegistryAPI

/// Review findings P3-f and P2-8 on the registry: no `/api` answer may be stored by a cache, and
/// job bodies come at most 20 to a page.
@Suite struct CacheAndPageLimitTests {
    @Test("Every /api answer, errors included, says Cache-Control: no-store")
    func everyAPIAnswerIsNoStore() async throws {
        try await Registry.run(token: "a-write-token-for-the-cache-test-0123456789") { api in
            let replies: [(String, Reply)] = [
                ("200", try await api.get("/api/models")),
                ("200 jobs", try await api.get("/api/jobs?include=result")),
                ("404", try await api.get("/api/providers/nope")),
                ("404 route", try await api.get("/api/no-such-route")),
                ("400", try await api.post("/api/agents", #"{"name": 5}"#)),
                ("400 query", try await api.get("/api/jobs?limit=0")),
                ("401", try await api.send(.get, "/api/models", authorization: .some(nil))),
                ("401 wrong", try await api.send(.get, "/api/models", authorization: "Bearer wrong")),
            ]
            for (name, reply) in replies {
                #expect(reply.headers[.cacheControl] == "no-store", "\(name): \(reply.status) \(reply.headers)")
            }
            #expect(replies[0].1.status == .ok && replies[6].1.status == .unauthorized)
        }
    }

    @Test("include=result allows limit 1–20 (default 20); without bodies 1–200 as before")
    func bodiesComeAtMostTwentyToAPage() async throws {
        try await Registry.run { api in
            let agent = try await api.createAgent(#"{"name": "paged", "agent_type": "chat", "model_config": {"model_id": "gpt-4o"}}"#)
            let jobs = (0..<25).map { _ in #"{"agent_id": "\#(agent)", "messages": [{"role": "user", "content": "hi"}]}"# }
            let batch = try await api.post("/api/jobs/batch", #"{"jobs": [\#(jobs.joined(separator: ","))]}"#)
            #expect(batch.status == .created || batch.status == .accepted || batch.status == .ok, "\(batch)")

            let tooMany = try await api.get("/api/jobs?include=result&limit=21")
            #expect(tooMany.status == .badRequest)
            #expect(tooMany.errorFields == ["limit"])
            #expect(tooMany.text.contains("between 1 and 20 with include=result"), "\(tooMany.text)")

            let defaultPage = try await api.get("/api/jobs?include=result").json()
            #expect(defaultPage["count"]?.int == 20)
            #expect(defaultPage["next_cursor"]?.isNull == false)
            #expect(defaultPage["jobs"]?[0]?["request"] != nil)

            #expect(try await api.get("/api/jobs?include=result&limit=20").status == .ok)
            #expect(try await api.get("/api/jobs?limit=200").json()["count"]?.int == 25)
            #expect(try await api.get("/api/jobs").json()["count"]?.int == 25)
        }
    }
}
