import CurlHTTP
import Foundation
import Testing

@Suite struct HTTPSTests {
    struct Handshake: Decodable, Equatable {
        var reused: Bool
        var alpn: String?
        var version: String
    }

    /// TLS against a local server whose CA only this test trusts: ALPN is negotiated, and the
    /// second connection resumes the first one's TLS session (the share handle's session cache).
    @Test func httpsWithATrustedCAResumesTheTLSSession() async throws {
        let server = try await TestHTTPSServer.start()
        defer { server.stop() }
        let client = try CurlHTTPClient(caBundlePath: server.caBundlePath)
        defer { client.shutdown() }
        let first = try await client.send(CurlHTTPRequest(url: "\(server.baseURL)/one", timeout: .seconds(20)))
        #expect(first.status == 200)
        let firstHandshake = try JSONDecoder().decode(Handshake.self, from: first.body)
        #expect(firstHandshake.reused == false)
        #expect(firstHandshake.alpn == "http/1.1")
        #expect(first.httpVersion == 1)
        // The server closed that connection (HTTP/1.0): this one is a new handshake, resumed.
        let second = try await client.send(CurlHTTPRequest(url: "\(server.baseURL)/two", timeout: .seconds(20)))
        let secondHandshake = try JSONDecoder().decode(Handshake.self, from: second.body)
        #expect(secondHandshake.reused == true, "a new connection to the same host should resume the TLS session")
    }

    @Test func anUntrustedCertificateIsATLSErrorAndARequestCACanTrustIt() async throws {
        let server = try await TestHTTPSServer.start()
        defer { server.stop() }
        let client = try CurlHTTPClient()
        defer { client.shutdown() }
        let error = await #expect(throws: CurlHTTPError.self) {
            try await client.send(CurlHTTPRequest(url: "\(server.baseURL)/", timeout: .seconds(20)))
        }
        guard case .tls = error else {
            Issue.record("expected a TLS error, got \(String(describing: error))")
            return
        }
        let trusted = try await client.send(CurlHTTPRequest(url: "\(server.baseURL)/", timeout: .seconds(20), caBundlePath: server.caBundlePath))
        #expect(trusted.status == 200)
    }
}
