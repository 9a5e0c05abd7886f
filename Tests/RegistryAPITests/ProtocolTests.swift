import Foundation
import HTTPTypes
import Testing
@testable import RegistryAPI

/// What every route shares: the error shape, body limits, unknown routes, auth, probes, metrics.
@Suite struct ProtocolTests {
    @Test func invalidJSONSaysWhere() async throws {
        try await Registry.run { api in
            let reply = try await api.post("/api/agents", "{\n  \"name\": \"A\",\n  \"agent_type\": coder\n}")
            #expect(reply.status == .badRequest)
            let body = try reply.json()
            #expect(body.keys == ["error"])
            #expect(body["error"]?.keys.sorted() == ["code", "details", "message"])
            #expect(reply.errorCode == "invalid_json")
            #expect(body["error"]?["message"]?.string?.contains("line 3, column 17") == true, "\(reply)")
            #expect(reply.errorFields == ["body"])
            #expect(reply.headers[.contentType]?.hasPrefix("application/json") == true)
        }
    }

    @Test(arguments: ["", "   ", "null", "[]", "\"text\""])
    func bodiesThatAreNotObjectsAre400(body: String) async throws {
        try await Registry.run { api in
            let reply = try await api.post("/api/agents", body)
            #expect(reply.status == .badRequest, "\(reply)")
            #expect(["invalid_json", "validation_failed"].contains(reply.errorCode ?? ""))
        }
    }

    @Test func unknownFieldsAreRejectedEverywhere() async throws {
        try await Registry.run { api in
            let replies = [
                try await api.post("/api/agents", #"{"name": "A", "agent_type": "b", "extra": 1}"#),
                try await api.patch("/api/providers/openai", #"{"enabled": true, "api_key": "sk-123"}"#),
                try await api.post("/api/models/estimate-cost", #"{"model_id": "gpt-4o", "input_tokens": 1, "output_tokens": 1, "x": null}"#),
            ]
            for reply in replies {
                #expect(reply.status == .badRequest, "\(reply)")
                #expect(reply.errorDetails.count == 1)
                #expect(reply.errorDetails.first?.message.hasPrefix("unknown field") == true)
            }
            #expect(replies.map(\.errorFields) == [["extra"], ["api_key"], ["x"]])
            #expect(!replies[1].text.contains("sk-123"), "a pasted secret is never echoed")
        }
    }

    @Test func unknownRoutesAre404JSON() async throws {
        try await Registry.run { api in
            for (method, path) in [(HTTPRequest.Method.get, "/api/nothing"), (.get, "/nothing"), (.delete, "/api/nothing"), (.get, "/ui/nothing.js")] {  // "/" is the web UI
                let reply = try await api.send(method, path)
                #expect(reply.status == .notFound, "\(method) \(path)")
                #expect(reply.errorCode == "not_found")
                #expect(try reply.json()["error"]?["details"]?.array == [])
            }
        }
    }

    @Test func bodiesOverOneMebibyteAre413() async throws {
        try await Registry.run { api in
            // Whitespace padding: every field stays within its own length limit.
            let padding = String(repeating: " ", count: 1024 * 1024)
            let reply = try await api.post("/api/agents", #"{"name": "n", \#(padding)"agent_type": "a"}"#)
            #expect(reply.status == .contentTooLarge)
            #expect(reply.errorCode == "payload_too_large")
            let justUnder = String(repeating: " ", count: 1024 * 1024 - 100)
            let accepted = try await api.post("/api/agents", #"{"name": "n", \#(justUnder)"agent_type": "a"}"#)
            #expect(accepted.status == .created)
        }
    }

    // MARK: - Authentication

    @Test func withATokenEveryAPIRouteNeedsIt() async throws {
        try await Registry.run(token: "s3cret-token") { api in
            #expect(try await api.get("/api/models").status == .ok)
            for authorization in [nil, "Bearer wrong", "Bearer s3cret-toke", "Bearer s3cret-token2", "Basic s3cret-token", "s3cret-token"] as [String?] {
                for (method, path) in [
                    (HTTPRequest.Method.get, "/api/models"), (.post, "/api/agents"),
                    // The router skips empty segments: these reach /api routes and must not slip past auth.
                    (.get, "//api/providers"), (.patch, "//api/providers/openai"), (.get, "/api//models"),
                ] {
                    let reply = try await api.send(method, path, authorization: .some(authorization))
                    #expect(reply.status == .unauthorized, "\(authorization ?? "none") \(path)")
                    #expect(reply.errorCode == "unauthorized")
                    #expect(reply.headers[.wwwAuthenticate] == "Bearer")
                    #expect(!reply.text.contains("s3cret"))
                }
                // Spellings the router does not route to /api never reach a handler: 404, never data.
                for path in ["/%61pi/models", "/API/models", "/api/no-such-route"] {
                    let reply = try await api.send(.get, path, authorization: .some(authorization))
                    #expect(reply.status == .notFound, "\(path) \(reply)")
                }
            }
            #expect(try await api.send(.get, "/api/models", authorization: .some("bearer s3cret-token")).status == .ok)
            // Probes and tooling stay open.
            for path in ["/healthz", "/readyz", "/metrics", "/openapi.json"] {
                #expect(try await api.send(.get, path, authorization: .some(nil)).status == .ok, "\(path)")
            }
        }
    }

    /// Auth hangs on the /api and /v1 route groups: every documented operation there, whatever its
    /// method, answers 401 without a token; nothing outside them needs one.
    @Test func everyDocumentedAPIOperationNeedsTheToken() async throws {
        try await Registry.run(token: "s3cret-token") { api in
            let document = try await api.send(.get, "/openapi.json", authorization: .some(nil)).json()
            guard case .object(let paths)? = document["paths"] else {
                Issue.record("no paths in /openapi.json")
                return
            }
            var checked = 0
            for (path, item) in paths {
                let concrete = path.replacingOccurrences(of: "{model_id}", with: "gpt-4o")
                    .replacingOccurrences(of: "{id}", with: "00000000-0000-0000-0000-000000000000")
                    .replacingOccurrences(of: "{name}", with: "openai")
                for method in item.keys {
                    let reply = try await api.send(HTTPRequest.Method(method.uppercased()) ?? .get, concrete, authorization: .some(nil))
                    if path.hasPrefix("/api/") || path.hasPrefix("/v1/") {
                        #expect(reply.status == .unauthorized, "\(method) \(path): \(reply)")
                        checked += 1
                    } else {
                        #expect(reply.status != .unauthorized, "\(method) \(path)")
                    }
                }
            }
            #expect(checked >= 25)
        }
    }

    @Test func withoutATokenTheAPIIsOpen() async throws {
        try await Registry.run(token: nil) { api in
            let anonymous = try await api.send(.get, "/api/models", authorization: .some(nil))
            #expect(anonymous.status == .ok)
            let anyToken = try await api.send(.get, "/api/providers", authorization: .some("Bearer anything"))
            #expect(anyToken.status == .ok)
        }
    }

    @Test func constantTimeComparisonIsExact() {
        let token = Array("abc".utf8)
        #expect(APITokens.constantTimeEquals(token, Array("abc".utf8)))
        #expect(!APITokens.constantTimeEquals(token, Array("abd".utf8)))
        #expect(!APITokens.constantTimeEquals(token, Array("ab".utf8)))
        #expect(!APITokens.constantTimeEquals(token, []))
        #expect(!APITokens.constantTimeEquals(token, token + Array(repeating: 0, count: 256)))
    }

    // MARK: - Probes and metrics

    @Test func healthAndReadiness() async throws {
        try await Registry.run { api in
            let health = try await api.get("/healthz")
            #expect(health.status == .ok)
            #expect(try health.json()["status"]?.string == "ok")
            let ready = try await api.get("/readyz")
            #expect(ready.status == .ok, "\(ready)")
            #expect(try ready.json()["database"]?.string == "ok")
            #expect(try ready.json()["status"]?.string == "ready")
            #expect(try ready.json()["migrations"]?["pending"]?.array == [])
            #expect(try ready.json()["migrations"]?["applied"]?.int == Registry.migrations.count)
        }
    }

    @Test func readinessFailsWhileMigrationsArePending() async throws {
        let last = try #require(Registry.migrations.dropLast().last?.version)
        try await Registry.run(migrateUpTo: last) { api in
            let reply = try await api.get("/readyz")
            #expect(reply.status == .serviceUnavailable)
            #expect(try reply.json()["status"]?.string == "not_ready")
            #expect(try reply.json()["database"]?.string == "ok")
            #expect(try reply.json()["migrations"]?["pending"]?.array == [.string(Registry.migrations.last?.version ?? "")])
        }
    }

    @Test func metricsCountRequestsByRouteTemplateAndStatus() async throws {
        try await Registry.run { api in
            _ = try await api.get("/api/models/meta-llama/Llama-3.1-8B-Instruct")
            _ = try await api.get("/api/models/gpt-4o")
            _ = try await api.get("/api/models/nope")
            _ = try await api.get("/api/nothing-here")
            let reply = try await api.get("/metrics")
            #expect(reply.status == .ok)
            #expect(reply.headers[.contentType]?.hasPrefix("text/plain") == true)
            let text = reply.text
            #expect(text.contains(#"http_server_requests_total{method="GET",route="/api/models/{model_id}",status="200"} 2"#), "\(text)")
            #expect(text.contains(#"http_server_requests_total{method="GET",route="/api/models/{model_id}",status="404"} 1"#))
            #expect(text.contains(#"http_server_requests_total{method="GET",route="unmatched",status="404"} 1"#))
            #expect(text.contains(#"http_server_request_duration_seconds_bucket{method="GET",route="/api/models/{model_id}",le="#))
            #expect(text.contains("# TYPE http_server_request_duration_seconds histogram"))
        }
    }

    /// Handlers return typed answers (`JSONResponse`, `EncodedJSONResponse`, a bare status) that
    /// become responses in one place: every kind must carry the same JSON headers, and a 204 none.
    @Test func typedAnswersShareTheirHeaders() async throws {
        try await Registry.run { api in
            let json = "application/json; charset=utf-8"
            let listed = try await api.get("/api/models")  // EncodedJSONResponse (the catalog cache's bytes)
            let again = try await api.get("/api/models")
            let created = try await api.post("/api/agents", #"{"name": "Typed", "agent_type": "chat"}"#)  // JSONResponse, 201
            let missing = try await api.get("/api/agents/00000000-0000-0000-0000-000000000000")  // APIError
            let probe = try await api.get("/readyz")  // JSONResponse with a status chosen at run time
            for reply in [listed, again, created, missing, probe] {
                #expect(reply.headers[.contentType] == json, "\(reply)")
            }
            #expect([listed.status, again.status, created.status, missing.status, probe.status] == [.ok, .ok, .created, .notFound, .ok])
            #expect(listed.body == again.body)
            // Keys sorted: the registry's encoder, not a default one.
            #expect(created.text.hasPrefix(#"{"agent_type":"chat","#), "\(created)")

            let id = try #require(try created.json()["id"]?.string)
            let deleted = try await api.delete("/api/agents/\(id)")  // a bare status
            #expect(deleted.status == .noContent)
            #expect(deleted.body.isEmpty)
            #expect(deleted.headers[.contentType] == nil)
        }
    }
}
