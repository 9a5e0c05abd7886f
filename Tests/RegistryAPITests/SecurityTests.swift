import Catalog
import Foundation
import HTTPTypes
import Postgres
import Testing
@testable import RegistryAPI

/// Safe defaults: listen address without a token, JSON-only writes, the read-only token,
/// readiness details, provider key rules.
@Suite struct SecurityTests {
    // MARK: - Listen address

    @Test func withoutATokenTheServerListensOnLoopbackOnly() throws {
        let none = APITokens(write: nil)
        #expect(try ListenPolicy.host(requestedHost: nil, tokens: none, allowUnauthenticated: false) == "127.0.0.1")
        #expect(try ListenPolicy.host(requestedHost: "::1", tokens: none, allowUnauthenticated: false) == "::1")
        #expect(try ListenPolicy.host(requestedHost: "localhost", tokens: none, allowUnauthenticated: false) == "localhost")
        #expect(throws: ListenPolicy.Refusal(host: "0.0.0.0")) {
            try ListenPolicy.host(requestedHost: "0.0.0.0", tokens: none, allowUnauthenticated: false)
        }
        #expect(throws: ListenPolicy.Refusal(host: "10.1.2.3")) {
            try ListenPolicy.host(requestedHost: "10.1.2.3", tokens: none, allowUnauthenticated: false)
        }
        // Explicit opt-out, or a token: any address.
        #expect(try ListenPolicy.host(requestedHost: "0.0.0.0", tokens: none, allowUnauthenticated: true) == "0.0.0.0")
        let token = APITokens(write: nil, admin: String(repeating: "k", count: 32))
        #expect(try ListenPolicy.host(requestedHost: nil, tokens: token, allowUnauthenticated: false) == "0.0.0.0")
        // A token shorter than 32 characters can be guessed over the network: loopback only.
        let short = APITokens(write: "t")
        #expect(throws: ListenPolicy.Refusal(host: "0.0.0.0", weakTokens: ["SWITCHBOARD_API_TOKEN"])) {
            try ListenPolicy.host(requestedHost: nil, tokens: short, allowUnauthenticated: false)
        }
        #expect(try ListenPolicy.host(requestedHost: "127.0.0.1", tokens: short, allowUnauthenticated: false) == "127.0.0.1")
        // An empty token is no token.
        #expect(try ListenPolicy.host(requestedHost: nil, tokens: APITokens(write: ""), allowUnauthenticated: false) == "127.0.0.1")
    }

    // MARK: - Content type

    @Test func aCrossSiteFormPostIs415AndChangesNothing() async throws {
        try await Registry.run(token: nil) { api in
            for contentType in ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x"] {
                let reply = try await api.send(
                    .post, "/api/providers", json: #"{"name": "evil", "api_style": "openai", "base_url": "https://evil.example"}"#,
                    headers: [.contentType: contentType])
                #expect(reply.status == .unsupportedMediaType, "\(contentType): \(reply)")
                #expect(reply.errorCode == "unsupported_media_type")
            }
            #expect(try await api.get("/api/providers/evil").status == .notFound)
            // A body-less POST (what fetch() sends cross-site without a preflight) is refused too.
            let retire = try await api.send(.post, "/api/models/gpt-4o/retire?force=true", headers: [.contentType: "text/plain"])
            #expect(retire.status == .unsupportedMediaType)
            #expect(try await api.get("/api/models/gpt-4o").json()["status"]?.string == "active")
            // The JSON content type, with parameters and in any case, is accepted.
            let ok = try await api.send(
                .patch, "/api/providers/openai", json: #"{"request_timeout_seconds": 30}"#,
                headers: [.contentType: "Application/JSON; charset=utf-8"])
            #expect(ok.status == .ok, "\(ok)")
        }
    }

    // MARK: - Read-only token

    @Test func theReadTokenReadsButCannotWrite() async throws {
        try await Registry.run(token: "write-secret", readToken: "read-secret") { api in
            let read = "Bearer read-secret"
            #expect(try await api.send(.get, "/api/models", authorization: .some(read)).status == .ok)
            #expect(try await api.send(.get, "/api/agents", authorization: .some(read)).status == .ok)
            let writes: [(HTTPRequest.Method, String, String?)] = [
                (.post, "/api/agents", #"{"name": "R", "agent_type": "chat"}"#),
                (.patch, "/api/providers/openai", #"{"enabled": false}"#),
                (.post, "/api/models/gpt-4o/retire?force=true", nil),
            ]
            for (method, path, body) in writes {
                let reply = try await api.send(method, path, json: body, authorization: .some(read))
                #expect(reply.status == .forbidden, "\(method) \(path): \(reply)")
                // The read token is a viewer now: below what every write needs.
                #expect(reply.errorCode == "forbidden")
            }
            #expect(try await api.get("/api/providers/openai").json()["enabled"]?.bool == true)
            // The write token still writes.
            #expect(try await api.send(.patch, "/api/providers/openai", json: #"{"enabled": false}"#,
                                       authorization: .some("Bearer write-secret")).status == .ok)
        }
    }

    /// The jobs and executions routes sit in the same /api group: no token 401, the read token
    /// reads (and long-polls) but cannot enqueue or cancel, and writes need the JSON content type.
    @Test func jobsAndExecutionsFollowTheAPIGroupRules() async throws {
        try await Registry.run(token: "write-secret", readToken: "read-secret") { api in
            let agent = try await api.createAgent(#"{"name": "J", "agent_type": "chat", "model_config": {"model_id": "gpt-4o"}}"#)
            let job = #"{"agent_id": "\#(agent)", "messages": [{"role": "user", "content": "hi"}]}"#
            let created = try await api.post("/api/jobs", job)
            #expect(created.status == .created, "\(created)")
            let jobID = try #require(try created.json()["id"]?.int)
            let read = "Bearer read-secret"

            for path in ["/api/jobs", "/api/jobs/\(jobID)", "/api/executions"] {
                #expect(try await api.send(.get, path, authorization: .some(nil)).status == .unauthorized, "\(path)")
                #expect(try await api.send(.get, path, authorization: .some(read)).status == .ok, "\(path)")
            }
            #expect(try await api.send(.get, "/api/jobs/\(jobID)?wait=1", authorization: .some(read)).status == .ok)

            let writes: [(String, String?)] = [
                ("/api/jobs", job),
                ("/api/jobs/batch", #"{"jobs": [\#(job)]}"#),
                ("/api/jobs/\(jobID)/cancel", nil),
                ("/api/executions", #"{"workflow_name": "w", "steps": [{"step": "s", "agent_id": "\#(agent)", "messages": [{"role": "user", "content": "hi"}]}]}"#),
            ]
            for (path, body) in writes {
                #expect(try await api.send(.post, path, json: body, authorization: .some(nil)).status == .unauthorized, "\(path)")
                let readOnly = try await api.send(.post, path, json: body, authorization: .some(read))
                #expect(readOnly.status == .forbidden, "\(path): \(readOnly)")
                #expect(readOnly.errorCode == "forbidden")
                let form = try await api.send(.post, path, json: body, headers: [.contentType: "text/plain"])
                #expect(form.status == .unsupportedMediaType, "\(path): \(form)")
            }
            // Nothing above was enqueued, cancelled or started.
            let counts = try await api.pool.query("""
                SELECT (SELECT count(*) FROM llm_jobs) AS jobs, (SELECT count(*) FROM llm_jobs WHERE status = 'queued') AS queued,
                       (SELECT count(*) FROM workflow_executions) AS executions
                """).rows.first
            #expect(try counts?.decode("jobs", as: Int.self) == 1)
            #expect(try counts?.decode("queued", as: Int.self) == 1)
            #expect(try counts?.decode("executions", as: Int.self) == 0)
            // The write token, with JSON, still cancels.
            #expect(try await api.send(.post, "/api/jobs/\(jobID)/cancel").status == .ok)
        }
    }

    @Test func readinessDetailsNeedAToken() async throws {
        try await Registry.run(token: "t0ken") { api in
            let anonymous = try await api.send(.get, "/readyz", authorization: .some(nil))
            #expect(anonymous.status == .ok)
            #expect(try anonymous.json().keys == ["status"], "\(anonymous)")
            let authenticated = try await api.get("/readyz")
            #expect(try authenticated.json()["migrations"]?["applied"]?.int == Registry.migrations.count)
        }
    }

    // MARK: - Provider keys

    static let policy = ProviderPolicy(
        allowedHTTPHosts: ["vllm.internal"], allowedKeyVariables: ["LOCAL_LLM_SECRET", "X_API_KEY", "VLLM_API_KEY"],
        keyHosts: KeyHostBindings(["EXAMPLE_API_KEY": ["api.example.com"], "LOCAL_TOKEN": ["127.0.0.1"]]))

    @Test(arguments: [
        // userinfo, query, fragment: never stored (the secret is never echoed either).
        (#"{"base_url": "https://sk-live-123@api.example.com"}"#, "base_url"),
        (#"{"base_url": "https://api.example.com/?key=sk-live-123"}"#, "base_url"),
        (#"{"base_url": "https://api.example.com/#sk-live-123"}"#, "base_url"),
        // plain http to a host that is neither loopback nor listed, with a key configured
        (#"{"base_url": "http://attacker.example"}"#, "base_url"),
        (#"{"base_url": "ftp://api.example.com"}"#, "base_url"),
        // key variables that are not provider keys
        (#"{"api_key_env": "AWS_SECRET_ACCESS_KEY"}"#, "api_key_env"),
        (#"{"api_key_env": "AWS_SESSION_TOKEN"}"#, "api_key_env"),
        (#"{"api_key_env": "GITHUB_TOKEN"}"#, "api_key_env"),
        (#"{"api_key_env": "HOME"}"#, "api_key_env"),
        (#"{"api_key_env": "SWITCHBOARD_API_TOKEN"}"#, "api_key_env"),
        (#"{"api_key_env": "PGPASSWORD"}"#, "api_key_env"),
        (#"{"api_key_env": "openai_api_key"}"#, "api_key_env"),
        // P0-1 fix 3: api_key_env is an allow-list (bound or operator-listed names), not a suffix rule.
        (#"{"api_key_env": "SLACK_BOT_TOKEN"}"#, "api_key_env"),
        (#"{"api_key_env": "DD_API_KEY"}"#, "api_key_env"),
        // A bound key on another provider's host: HF_TOKEN belongs to router.huggingface.co.
        (#"{"api_key_env": "HF_TOKEN"}"#, "api_key_env"),
        (#"{"base_url": "https://attacker.example", "api_key_env": "HF_TOKEN"}"#, "api_key_env"),
    ])
    func providerWritesThatCouldLeakAKeyAreRefused(body: String, field: String) async throws {
        try await Registry.run(providerPolicy: Self.policy) { api in
            let before = try await api.get("/api/providers/openai").json()
            let reply = try await api.patch("/api/providers/openai", body)
            #expect(reply.status == .badRequest, "\(body): \(reply)")
            #expect(reply.errorFields == [field], "\(reply)")
            #expect(!reply.text.contains("sk-live-123"))
            #expect(try await api.get("/api/providers/openai").json() == before)
            // The same on create.
            var create = body
            create.removeLast()
            create += #", "name": "x", "api_style": "openai""#
            if !body.contains("base_url") { create += #", "base_url": "https://api.example.com""# }
            if !body.contains("api_key_env") { create += #", "api_key_env": "X_API_KEY""# }
            let created = try await api.post("/api/providers", create + "}")
            #expect(created.status == .badRequest, "\(create): \(created)")
            #expect(created.errorFields == [field])
        }
    }

    @Test(arguments: [
        #"{"base_url": "https://api.example.com/v2", "api_key_env": "EXAMPLE_API_KEY"}"#,
        #"{"base_url": "http://127.0.0.1:8000", "api_key_env": "LOCAL_TOKEN"}"#,
        #"{"base_url": "http://localhost:11434", "api_key_env": null}"#,
        #"{"base_url": "http://[::1]:8000", "api_key_env": "VLLM_API_KEY"}"#,
        #"{"base_url": "http://vllm.internal:8000", "api_key_env": "LOCAL_LLM_SECRET"}"#,
        // No key: plain http anywhere is fine (nothing secret is sent).
        #"{"base_url": "http://ollama.lan:11434", "api_key_env": null}"#,
        #"{"base_url": "https://router.huggingface.co/v1", "api_key_env": "HF_TOKEN"}"#,
        #"{"base_url": "https://api.openai.com/v1"}"#,
    ])
    func safeProviderWritesAreAccepted(body: String) async throws {
        try await Registry.run(providerPolicy: Self.policy) { api in
            let reply = try await api.patch("/api/providers/openai", body)
            #expect(reply.status == .ok, "\(body): \(reply)")
        }
    }

    /// Review finding P0-1 fix 3 (issue 21): the names a provider may use as `api_key_env` are the
    /// bound ones (SWITCHBOARD_KEY_HOSTS, on their hosts) and SWITCHBOARD_ALLOWED_KEY_VARS, read from
    /// the registry's environment; another secret of the worker's environment, or a bound key on
    /// another host, is a 400 that says what to do, on create and on patch.
    @Test func keyVariablesAreAnAllowListOfBoundNames() async throws {
        let policy = try ProviderPolicy(environment: [
            "SWITCHBOARD_KEY_HOSTS": "GROQ_API_KEY=api.groq.com", "SWITCHBOARD_ALLOWED_KEY_VARS": "LOCAL_LLM_SECRET",
        ])
        try await Registry.run(providerPolicy: policy) { api in
            for (variable, expected) in [
                ("SLACK_BOT_TOKEN", "SLACK_BOT_TOKEN is not a provider key variable"),
                ("HF_TOKEN", "HF_TOKEN is bound to router.huggingface.co, not to 'attacker.example'"),
                ("GROQ_API_KEY", "GROQ_API_KEY is bound to api.groq.com, not to 'attacker.example'"),
            ] {
                let created = try await api.post("/api/providers", """
                    {"name": "x", "api_style": "openai", "base_url": "https://attacker.example", "api_key_env": "\(variable)"}
                    """)
                #expect(created.status == .badRequest, "\(variable): \(created)")
                #expect(created.errorFields == ["api_key_env"])
                #expect(created.text.contains(expected), "\(created.text)")
                #expect(created.text.contains("SWITCHBOARD_KEY_HOSTS"))
            }
            #expect(try await api.get("/api/providers/x").status == .notFound, "nothing was created")
            // Patching: another secret, or moving a bound key's provider to another host.
            let slack = try await api.patch("/api/providers/openai", #"{"api_key_env": "SLACK_BOT_TOKEN"}"#)
            #expect(slack.status == .badRequest && slack.errorFields == ["api_key_env"], "\(slack)")
            let moved = try await api.patch("/api/providers/openai", #"{"base_url": "https://attacker.example"}"#)
            #expect(moved.status == .badRequest && moved.errorFields == ["api_key_env"], "\(moved)")
            #expect(moved.text.contains("OPENAI_API_KEY is bound to api.openai.com"), "\(moved.text)")
            #expect(try await api.get("/api/providers/openai").json()["base_url"]?.string == "https://api.openai.com")
            // Bound names on their hosts, operator-listed names and no key at all are accepted.
            for body in [
                #"{"name": "groq", "api_style": "openai", "base_url": "https://api.groq.com/openai", "api_key_env": "GROQ_API_KEY"}"#,
                #"{"name": "local", "api_style": "openai", "base_url": "https://llm.internal.example", "api_key_env": "LOCAL_LLM_SECRET"}"#,
                #"{"name": "open", "api_style": "openai", "base_url": "https://attacker.example", "api_key_env": null}"#,
            ] {
                let reply = try await api.post("/api/providers", body)
                #expect(reply.status == .created, "\(body): \(reply)")
            }
        }
    }

    @Test func aMalformedKeyHostsValueIsAStartupError() {
        #expect(throws: KeyHostBindings.ParseError.self) {
            try ProviderPolicy(environment: ["SWITCHBOARD_KEY_HOSTS": "GROQ_API_KEY"])
        }
    }

    /// Disabling a provider is always allowed, even one stored (by SQL) with a now-forbidden URL.
    @Test func disablingAProviderWithALegacyURLIsAllowed() async throws {
        try await Registry.run { api in
            try await api.pool.execute("UPDATE llm_providers SET base_url = 'http://old.example' WHERE name = 'openai'")
            #expect(try await api.patch("/api/providers/openai", #"{"enabled": false}"#).status == .ok)
            #expect(try await api.patch("/api/providers/openai", #"{"base_url": "http://old.example/v1"}"#).status == .badRequest)
        }
    }

    @Test func concurrentProviderPatchesAllSurvive() async throws {
        // Both key variables bound to both hosts, so every order of the patches is valid.
        let hosts: Set<String> = ["api.openai.com", "api.openai.example"]
        let policy = ProviderPolicy(keyHosts: KeyHostBindings(["OPENAI_API_KEY": hosts, "OPENAI_PROJECT_API_KEY": hosts]))
        try await Registry.run(providerPolicy: policy) { api in
            let patches = [
                #"{"connect_timeout_seconds": 7}"#, #"{"request_timeout_seconds": 77}"#, #"{"enabled": false}"#,
                #"{"base_url": "https://api.openai.example"}"#, #"{"api_key_env": "OPENAI_PROJECT_API_KEY"}"#,
            ]
            for _ in 0..<3 {
                try await api.pool.execute("""
                    UPDATE llm_providers SET connect_timeout_seconds = 10, request_timeout_seconds = 120, enabled = true,
                           base_url = 'https://api.openai.com', api_key_env = 'OPENAI_API_KEY' WHERE name = 'openai'
                    """)
                try await withThrowingTaskGroup(of: Int.self) { group in
                    for patch in patches {
                        group.addTask { try await api.patch("/api/providers/openai", patch).status.code }
                    }
                    for try await status in group { #expect(status == 200) }
                }
                let provider = try await api.get("/api/providers/openai").json()
                #expect(provider["connect_timeout_seconds"]?.int == 7)
                #expect(provider["request_timeout_seconds"]?.int == 77)
                #expect(provider["enabled"]?.bool == false)
                #expect(provider["base_url"]?.string == "https://api.openai.example")
                #expect(provider["api_key_env"]?.string == "OPENAI_PROJECT_API_KEY")
            }
        }
    }
}
