import Catalog
import CurlHTTP
import Foundation
import ProviderStub
import Providers
import Testing

/// A running in-process provider-stub and an HTTP client pointed at it, for one test.
struct StubHarness {
    let server: ProviderStubServer
    let baseURL: String
    let port: Int
    let http: CurlHTTPClient

    func provider(
        _ style: APIStyle, name: String? = nil, keyVariable: String? = "STUB_KEY", requestTimeout: Double = 30
    ) -> Provider {
        Provider(
            name: name ?? (style == .openai ? "openai" : "anthropic"), apiStyle: style, baseURL: baseURL,
            apiKeyEnv: keyVariable, connectTimeoutSeconds: 5, requestTimeoutSeconds: requestTimeout)
    }

    /// A client whose `STUB_KEY` may reach the stub's host, as an operator binds real keys.
    func client(environment: [String: String] = ["STUB_KEY": "sk-stub-test-key"]) -> ProviderClient {
        ProviderClient(transport: http, environment: environment.merging(
            [KeyHostBindings.environmentVariable: "STUB_KEY=127.0.0.1"]) { own, _ in own })
    }

    /// `GET /stats`, read over HTTP as a test of the endpoint itself.
    func stats() async throws -> ProviderStubStats {
        let response = try await http.send(CurlHTTPRequest(url: baseURL + "/stats"))
        #expect(response.status == 200)
        return try JSONDecoder().decode(ProviderStubStats.self, from: response.body)
    }
}

func withStub<T>(
    _ configuration: ProviderStubConfiguration = ProviderStubConfiguration(),
    _ body: (StubHarness) async throws -> T
) async throws -> T {
    let server = ProviderStubServer(configuration: configuration)
    let port = try await server.start()
    let http = try CurlHTTPClient()
    let harness = StubHarness(server: server, baseURL: "http://127.0.0.1:\(port)", port: port, http: http)
    do {
        let result = try await body(harness)
        http.shutdown()
        await server.stop()
        return result
    } catch {
        http.shutdown()
        await server.stop()
        throw error
    }
}
