import Catalog
import Foundation
import Testing

/// Which hosts a provider key may reach: the operator's `SWITCHBOARD_KEY_HOSTS`, over the
/// built-in bindings of the seeded providers' keys.
@Suite struct KeyHostBindingsTests {
    @Test func unsetMeansTheBuiltInBindingsOnly() throws {
        let bindings = try KeyHostBindings(environment: [:])
        #expect(bindings.hosts == KeyHostBindings.builtIn)
        #expect(bindings.problem(sending: "OPENAI_API_KEY", to: "https://api.openai.com/v1") == nil)
        #expect(bindings.problem(sending: "ANTHROPIC_API_KEY", to: "https://API.Anthropic.com") == nil)
        #expect(bindings.problem(sending: "HF_TOKEN", to: "https://router.huggingface.co") == nil)
    }

    @Test func entriesAddHostsAndAVariableMayBeListedTwice() throws {
        let bindings = try KeyHostBindings(parsing: " GROQ_API_KEY = api.groq.com ,OPENAI_API_KEY=Proxy.Internal,, GROQ_API_KEY=eu.groq.com ")
        #expect(bindings.hosts["GROQ_API_KEY"] == ["api.groq.com", "eu.groq.com"])
        #expect(bindings.hosts["OPENAI_API_KEY"] == ["api.openai.com", "proxy.internal"], "added to the built-in host")
        #expect(bindings.problem(sending: "GROQ_API_KEY", to: "https://eu.groq.com:8443/openai") == nil, "the port is not part of the host")
        #expect(bindings.problem(sending: "OPENAI_API_KEY", to: "https://proxy.internal") == nil)
    }

    /// The P0 exploit: a provider row repointed (API or SQL) or naming another provider's key.
    @Test(arguments: [
        ("OPENAI_API_KEY", "https://attacker.example", "OPENAI_API_KEY is bound to api.openai.com, not to 'attacker.example'"),
        ("ANTHROPIC_API_KEY", "https://api.openai.com", "ANTHROPIC_API_KEY is bound to api.anthropic.com, not to 'api.openai.com'"),
        ("SLACK_BOT_TOKEN", "https://api.openai.com", "SLACK_BOT_TOKEN is bound to no host"),
        ("OPENAI_API_KEY", "https://api.openai.com.attacker.example", "not to 'api.openai.com.attacker.example'"),
        ("OPENAI_API_KEY", "https://user@api.openai.com@attacker.example", "not to 'attacker.example'"),
    ])
    func aKeyGoesNowhereElse(variable: String, baseURL: String, expected: String) throws {
        let problem = try #require(try KeyHostBindings(environment: [:]).problem(sending: variable, to: baseURL))
        #expect(problem.contains(expected), "\(problem)")
        #expect(problem.contains("SWITCHBOARD_KEY_HOSTS="), "says how an operator would bind it")
    }

    @Test(arguments: [
        ("STUB_KEY", "has no '='"), ("=api.groq.com", "environment variable name"), ("GROQ API=x", "environment variable name"),
        ("GROQ_API_KEY=", "bare host"), ("GROQ_API_KEY=https://api.groq.com", "bare host"), ("GROQ_API_KEY=api.groq.com:443", "bare host"),
        ("GROQ_API_KEY=*.groq.com", "bare host"), ("PGPASSWORD=db.internal", "Switchboard's own secrets"),
        ("SWITCHBOARD_API_TOKEN=x.example", "Switchboard's own secrets"),
    ])
    func malformedEntriesAreRefusedByName(entry: String, expected: String) {
        #expect {
            try KeyHostBindings(parsing: "OPENAI_API_KEY=ok.example,\(entry)")
        } throws: { error in
            let description = (error as? KeyHostBindings.ParseError)?.description ?? ""
            return description.contains("'\(entry.trimmingCharacters(in: .whitespaces))'") && description.contains(expected)
        }
    }
}
