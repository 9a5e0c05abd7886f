import CurlHTTP
import Foundation
import Testing

/// `publicAddressesOnly` (SSRF, review finding P2-7): the address each connection uses is checked
/// after DNS resolution, so a name resolving to loopback is refused before anything is sent.
@Suite struct AddressGuardTests {
    @Test("Non-public address ranges are refused, public ones are not", arguments: [
        ("127.0.0.1", false), ("127.0.0.2", false), ("10.1.2.3", false), ("172.16.0.1", false), ("172.31.255.255", false),
        ("192.168.1.1", false), ("169.254.169.254", false), ("0.0.0.0", false), ("100.64.0.1", false), ("224.0.0.1", false),
        ("255.255.255.255", false), ("::1", false), ("::", false), ("fc00::1", false), ("fd12:3456::1", false),
        ("fe80::1", false), ("::ffff:127.0.0.1", false), ("::ffff:10.0.0.1", false), ("64:ff9b::a00:1", false),
        ("2002:7f00:1::", false), ("ff02::1", false),
        ("8.8.8.8", true), ("172.32.0.1", true), ("172.15.255.255", true), ("192.169.0.1", true), ("1.1.1.1", true),
        ("2606:4700:4700::1111", true), ("::ffff:8.8.8.8", true),
    ])
    func classification(address: String, isPublic: Bool) {
        #expect(CurlHTTPRequest.isPublicAddress(address) == isPublic, "\(address)")
    }

    @Test func notAnAddressIsNil() {
        #expect(CurlHTTPRequest.isPublicAddress("localhost") == nil)
    }

    @Test("A name that resolves to loopback is refused with publicAddressesOnly, and nothing reaches the server")
    func loopbackNameIsRefused() async throws {
        let server = try await TestHTTPServer.start()
        defer { server.stop() }
        let client = try CurlHTTPClient()
        defer { client.shutdown() }
        let url = "http://localhost:\(server.port)/status/200"
        do {
            _ = try await client.send(CurlHTTPRequest(url: url, timeout: .seconds(10), publicAddressesOnly: true))
            Issue.record("a loopback address was connected to")
        } catch let error as CurlHTTPError {
            guard case .addressNotAllowed(let host, let address) = error else {
                Issue.record("expected addressNotAllowed, got \(error)")
                return
            }
            #expect(host == "localhost")
            #expect(address == "127.0.0.1" || address == "::1", "\(address)")
            #expect(error.description.contains("SWITCHBOARD_ALLOWED_PRIVATE_HOSTS"))
        }
        // A literal loopback address is refused the same way.
        await #expect(throws: CurlHTTPError.addressNotAllowed(host: "127.0.0.1", address: "127.0.0.1")) {
            try await client.send(CurlHTTPRequest(url: "\(server.baseURL)/status/200", timeout: .seconds(10), publicAddressesOnly: true))
        }
        // Without the flag (and on the same pooled handles afterwards) the server answers.
        let allowed = try await client.send(CurlHTTPRequest(url: url, timeout: .seconds(10)))
        #expect(allowed.status == 200)
    }
}
