import Catalog
import Testing

/// Where a provider key may be sent, and which variables may hold one.
@Suite struct ProviderKeySafetyTests {
    @Test(arguments: [
        ("https://api.openai.com", true),
        ("https://api.openai.com/v1", true),
        ("HTTPS://API.EXAMPLE.COM", true),
        ("http://127.0.0.1:8080", true),
        ("http://127.9.9.9", true),
        ("http://localhost:11434", true),
        ("http://[::1]:8000", true),
        ("http://vllm.internal:8000/v1", true),  // listed by the operator
        ("http://attacker.example", false),
        ("http://127.0.0.1.attacker.example", false),
        ("http://localhost@attacker.example", false),
        ("https://user:sk-123@api.example.com", false),
        ("https://api.example.com/?key=1", false),
        ("https://api.example.com#frag", false),
        ("ftp://api.example.com", false),
        ("https://", false),
    ])
    func keyMaySendTo(url: String, allowed: Bool) {
        #expect(Provider.keyMaySendTo(url: url, allowedHTTPHosts: ["vllm.internal"]) == allowed, "\(url)")
    }

    /// `api_key_env` is an allow-list: the bound names on their hosts, plus the operator's list; no suffix rule.
    @Test(arguments: [
        ("OPENAI_API_KEY", "https://api.openai.com/v1", true), ("OPENAI_API_KEY", "https://attacker.example", false),
        ("HF_TOKEN", "https://router.huggingface.co/v1", true), ("HF_TOKEN", "https://api.openai.com", false),
        ("GROQ_API_KEY", "https://api.groq.com/openai", true), ("GROQ_API_KEY", "https://api.groq.com.attacker.example", false),
        ("MY_LLM_API_TOKEN", "https://llm.example", false), ("SLACK_BOT_TOKEN", "https://llm.example", false),
        ("DD_API_KEY", "https://llm.example", false), ("OP_SERVICE_ACCOUNT_TOKEN", "https://llm.example", false),
        ("AWS_SECRET_ACCESS_KEY", "https://llm.example", false), ("GITHUB_TOKEN", "https://llm.example", false),
        ("SWITCHBOARD_API_TOKEN", "https://llm.example", false), ("DATABASE_URL", "https://llm.example", false),
        ("PGPASSWORD", "https://llm.example", false), ("HOME", "https://llm.example", false),
        ("openai_api_key", "https://api.openai.com", false), ("LOCAL_LLM_SECRET", "https://anywhere.example", true),
    ])
    func keyVariables(name: String, baseURL: String, allowed: Bool) throws {
        let bindings = try KeyHostBindings(parsing: "GROQ_API_KEY=api.groq.com")
        let problem = Provider.keyVariableProblem(
            name, baseURL: baseURL, bindings: bindings, operatorAllowed: ["LOCAL_LLM_SECRET", "SWITCHBOARD_API_TOKEN"])
        #expect((problem == nil) == allowed, "\(name) \(baseURL): \(problem.map(String.init(describing:)) ?? "allowed")")
    }

    @Test func plainHTTPIsFineWithoutAKey() {
        var provider = Provider(name: "ollama", apiStyle: .openai, baseURL: "http://ollama.lan:11434", apiKeyEnv: nil)
        #expect(provider.baseURLProblems(allowedHTTPHosts: []).isEmpty)
        provider.apiKeyEnv = "OLLAMA_API_KEY"
        #expect(provider.baseURLProblems(allowedHTTPHosts: []) == [.plainHTTPWithKey(host: "ollama.lan")])
    }

    @Test(arguments: [
        ("gpt-4o-2024-08-06", "gpt-4o"), ("claude-3-5-sonnet-20241022", "claude-3-5-sonnet"),
        ("gpt-4.1", nil), ("o3", nil), ("claude-opus-4-5", nil), ("model-12345678", nil),
    ] as [(String, String?)])
    func datedSnapshots(modelID: String, base: String?) {
        #expect(RecommendationCandidates.snapshotBase(modelID) == base)
    }

    @Test func candidatesSkipDisabledProvidersAndSnapshotsWithAnAlias() {
        func model(_ provider: String, _ id: String) -> LLMModel {
            LLMModel(provider: provider, modelID: id, displayName: id)
        }
        let models = [
            model("openai", "gpt-4o"), model("openai", "gpt-4o-2024-08-06"), model("openai", "gpt-4.1-2025-04-14"),
            model("anthropic", "claude-3-5-sonnet-20241022"), model("anthropic", "claude-3-5-sonnet-latest"),
            model("huggingface", "meta-llama/Llama-3.1-8B-Instruct"),
        ]
        let ids = RecommendationCandidates.filter(models, disabledProviders: ["huggingface"]).map(\.modelID)
        #expect(ids == ["gpt-4o", "gpt-4.1-2025-04-14", "claude-3-5-sonnet-latest"])
    }
}
