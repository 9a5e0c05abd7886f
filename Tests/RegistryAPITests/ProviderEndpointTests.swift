import Catalog
import Foundation
import Testing
@testable import RegistryAPI

extension ProviderPolicy {
    /// An operator who bound GROQ_API_KEY to Groq's host (`SWITCHBOARD_KEY_HOSTS=GROQ_API_KEY=api.groq.com`).
    static let groqBound = ProviderPolicy(keyHosts: KeyHostBindings(["GROQ_API_KEY": ["api.groq.com"]]))
}

/// `/api/providers` over HTTP. No secret is stored or returned: only the NAME of the variable.
@Suite struct ProviderEndpointTests {
    @Test func listsAndGetsProvidersWithModelCounts() async throws {
        try await Registry.run { api in
            let list = try await api.get("/api/providers")
            #expect(list.status == .ok)
            let providers = try #require(try list.json()["providers"]?.array)
            #expect(providers.compactMap { $0["name"]?.string } == ["anthropic", "huggingface", "openai"])
            let openai = try await api.get("/api/providers/openai").json()
            #expect(openai["api_style"]?.string == "openai")
            #expect(openai["base_url"]?.string == "https://api.openai.com")
            #expect(openai["api_key_env"]?.string == "OPENAI_API_KEY")
            #expect(openai["enabled"]?.bool == true)
            #expect(openai["model_count"]?.int ?? 0 > 10)
            #expect(openai.keys.sorted() == [
                "api_key_env", "api_style", "base_url", "connect_timeout_seconds", "enabled", "model_count", "name",
                "request_timeout_seconds",
            ])
            #expect(try await api.get("/api/providers/nope").status == .notFound)
        }
    }

    @Test func updatesEndpointCredentialsVariableTimeoutsAndEnabled() async throws {
        let policy = ProviderPolicy(keyHosts: KeyHostBindings(["HF_ROUTER_TOKEN": ["127.0.0.1"]]))
        try await Registry.run(providerPolicy: policy) { api in
            let reply = try await api.patch("/api/providers/huggingface", """
                {"base_url": "http://127.0.0.1:8090", "api_key_env": "HF_ROUTER_TOKEN", "enabled": false,
                 "connect_timeout_seconds": 2.5, "request_timeout_seconds": 30}
                """)
            #expect(reply.status == .ok, "\(reply)")
            let body = try reply.json()
            #expect(body["base_url"]?.string == "http://127.0.0.1:8090")
            #expect(body["api_key_env"]?.string == "HF_ROUTER_TOKEN")
            #expect(body["enabled"]?.bool == false)
            #expect(body["connect_timeout_seconds"]?.double == 2.5)
            #expect(body["request_timeout_seconds"]?.double == 30)
            let cleared = try await api.patch("/api/providers/huggingface", #"{"api_key_env": null}"#)
            #expect(try cleared.json()["api_key_env"]?.isNull == true, "a local server needs no credentials")
            #expect(try cleared.json()["base_url"]?.string == "http://127.0.0.1:8090", "absent fields stay")
            #expect(try await api.patch("/api/providers/nope", #"{"enabled": true}"#).status == .notFound)
        }
    }

    @Test(arguments: [
        (#"{"base_url": "ftp://example.com"}"#, ["base_url"]),
        (#"{"base_url": "https://"}"#, ["base_url"]),
        (#"{"api_key_env": "sk-live-0123456789abcdef"}"#, ["api_key_env"]),
        (#"{"connect_timeout_seconds": 0, "request_timeout_seconds": -5}"#, ["connect_timeout_seconds", "request_timeout_seconds"]),
        // A huge timeout would overflow the gateway's conversion to milliseconds.
        (#"{"request_timeout_seconds": 1e300}"#, ["request_timeout_seconds"]),
        // Switchboard's own secrets must never become a provider's key (it would be sent to base_url).
        (#"{"api_key_env": "DATABASE_URL"}"#, ["api_key_env"]),
        (#"{"api_key_env": "PGPASSWORD"}"#, ["api_key_env"]),
        (#"{"api_key_env": "SWITCHBOARD_API_TOKEN"}"#, ["api_key_env"]),
        (#"{"enabled": "yes"}"#, ["enabled"]),
        (#"{"name": "renamed"}"#, ["name"]),
        (#"{"api_key": "sk-live-0123456789abcdef"}"#, ["api_key"]),
    ])
    func updateValidationNeverEchoesAPossibleSecret(body: String, fields: [String]) async throws {
        try await Registry.run { api in
            let reply = try await api.patch("/api/providers/openai", body)
            #expect(reply.status == .badRequest, "\(reply)")
            #expect(reply.errorFields == fields)
            #expect(!reply.text.contains("sk-live"))
            #expect(try await api.get("/api/providers/openai").json()["api_key_env"]?.string == "OPENAI_API_KEY", "nothing stored")
        }
    }

    @Test func registersACustomOpenAICompatibleProvider() async throws {
        try await Registry.run(providerPolicy: .groqBound) { api in
            let created = try await api.post("/api/providers", #"{"name": "groq", "api_style": "openai", "base_url": "https://api.groq.com/openai", "api_key_env": "GROQ_API_KEY"}"#)
            #expect(created.status == .created, "\(created)")
            #expect(try created.json()["enabled"]?.bool == true)
            #expect(try created.json()["request_timeout_seconds"]?.double == 120)
            let model = try await api.post("/api/models", #"{"provider": "groq", "model_id": "llama-3.3-70b-versatile", "display_name": "Llama 3.3 70B"}"#)
            #expect(model.status == .created, "models can use it")
            #expect(try await api.get("/api/providers/groq").json()["model_count"]?.int == 1)
            #expect(try await api.post("/api/providers", #"{"name": "groq", "api_style": "openai", "base_url": "https://x.example"}"#).status == .conflict)
            let invalid = try await api.post("/api/providers", #"{"name": "Bad Name", "api_style": "grpc", "base_url": "https://x.example"}"#)
            #expect(invalid.status == .badRequest)
            #expect(invalid.errorFields == ["api_style"])
            let badName = try await api.post("/api/providers", #"{"name": "Bad Name", "api_style": "openai", "base_url": "https://x.example"}"#)
            #expect(badName.errorFields == ["name"])
        }
    }
}
