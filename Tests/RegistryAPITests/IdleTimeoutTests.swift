import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Postgres
import Storage
import Testing
import TestSupport
@testable import RegistryAPI

/// Review finding P2-5: the registry's listener closes a connection that sends half a request
/// (slow-loris) or stays idle, instead of keeping it forever; a request that arrives in time is
/// answered as usual.
@Suite struct IdleTimeoutTests {
    @Test("A half-sent request and an idle keep-alive connection are closed after the idle timeout")
    func halfSentRequestIsClosed() async throws {
        try await TestDatabase.withFreshDatabase { database in
            let pool = PostgresPool(configuration: database, maxConnections: 2)
            defer { pool.shutdown() }
            var configuration = RegistryConfiguration(port: 0)
            configuration.idleTimeout = .milliseconds(300)
            let app = await buildApplication(configuration: configuration, pool: pool, logger: Logger(label: "idle-test"))
            try await app.test(.live) { client in
                let port = try #require(client.port)
                // Before the fix nothing closes these: the wait runs out and the test fails.
                #expect(serverClosesHalfSentRequest(port: port, bytes: "GET /healthz HTTP/1.1\r\nHost: localhost\r\n", within: .seconds(10)))
                #expect(serverClosesHalfSentRequest(port: port, bytes: "", within: .seconds(10)))
                // A whole request is answered, then the idle keep-alive connection is closed as well.
                let whole = sendAndWaitForClose(port: port, bytes: "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n", within: .seconds(10))
                #expect(whole.closed)
                #expect(whole.received.hasPrefix("HTTP/1.1 200"), "\(whole.received)")
            }
        }
    }

    @Test func theDefaultIsThirtySeconds() {
        #expect(RegistryConfiguration().idleTimeout == .seconds(30))
    }
}
