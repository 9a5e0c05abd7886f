import Catalog
import CurlHTTP
import Foundation
import Providers
import Testing

/// SSRF (review finding P2-7): a provider whose host resolves to a loopback or private address is
/// called only when the operator named that host, and the refusal is a provider error, not a crash.
@Suite("Providers: private and loopback addresses need the operator's allow-list")
struct PrivateAddressTests {
    static let hello = ChatRequest(messages: [.user("Hello there")])

    @Test("A keyless provider on a name resolving to loopback is refused before anything is sent")
    func loopbackNameIsRefused() async throws {
        try await withStub { stub in
            let provider = Provider(
                name: "local", apiStyle: .openai, baseURL: "http://localhost:\(stub.port)", apiKeyEnv: nil,
                connectTimeoutSeconds: 5, requestTimeoutSeconds: 30)
            let error = await providerError {
                // The stub's key binding trusts 127.0.0.1, not the name localhost.
                _ = try await stub.client().complete(Self.hello, model: "gpt-4o", provider: provider)
            }
            #expect(error?.errorClass == .providerMisconfigured)
            #expect(error?.detectedLocally == true)
            let message = error?.message ?? ""
            #expect(message.contains("'localhost'") && message.contains("SWITCHBOARD_ALLOWED_PRIVATE_HOSTS"), "\(message)")
            #expect(try await stub.stats().requests(model: "gpt-4o") == 0, "nothing reached the stub")

            // Listed by the operator, the same host is called.
            let allowed = stub.client(environment: ["STUB_KEY": "sk-stub-test-key", PrivateAddressPolicy.environmentVariable: "LocalHost"])
            let response = try await allowed.complete(Self.hello, model: "gpt-4o", provider: provider)
            #expect(response.text?.isEmpty == false)
        }
    }

    @Test("A host bound to a key by the operator may be private; an unlisted literal address may not")
    func policyFromEnvironment() throws {
        let keyHosts = try KeyHostBindings(parsing: "STUB_KEY=127.0.0.1,OPENAI_API_KEY=proxy.internal")
        let policy = PrivateAddressPolicy(environment: [PrivateAddressPolicy.environmentVariable: " ollama.lan , "], keyHosts: keyHosts)
        #expect(policy.allowedHosts == ["127.0.0.1", "proxy.internal", "ollama.lan"])
        #expect(policy.allowsNonPublicAddresses(url: "http://127.0.0.1:8090"))
        #expect(policy.allowsNonPublicAddresses(url: "https://PROXY.internal/v1"))
        #expect(!policy.allowsNonPublicAddresses(url: "http://127.0.0.2:8090"))
        #expect(!policy.allowsNonPublicAddresses(url: "http://localhost:8090"))
        // The built-in bindings are public hosts: they get no exemption.
        #expect(!PrivateAddressPolicy(environment: [:], keyHosts: KeyHostBindings()).allowsNonPublicAddresses(url: "https://api.openai.com"))
    }
}
