import Foundation
@testable import Gateway
import Hummingbird
import HummingbirdTesting
import Logging
import Prometheus
import Testing
import TestSupport

/// Review finding P2-5 for the gateway's listener: a half-sent request or an idle connection to
/// `/metrics`, `/healthz`, `/readyz` is closed after the idle timeout (30 s by default).
@Suite struct MetricsIdleTimeoutTests {
    @Test("The metrics server closes half-sent requests and idle connections")
    func halfSentRequestIsClosed() async throws {
        try await GatewayHarness.run { h in
            let worker = try Worker(configuration: h.configuration(), database: h.database, logger: Logger(label: "idle-test"))
            let app = GatewayMetricsServer.application(
                host: "127.0.0.1", port: 0, worker: worker, registry: PrometheusCollectorRegistry(),
                logger: Logger(label: "idle-test"), idleTimeout: .milliseconds(300))
            try await app.test(.live) { client in
                let port = try #require(client.port)
                #expect(serverClosesHalfSentRequest(port: port, bytes: "GET /healthz HTTP/1.1\r\nHost: localhost\r\n", within: .seconds(10)))
                let whole = sendAndWaitForClose(port: port, bytes: "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n", within: .seconds(10))
                #expect(whole.closed)
                #expect(whole.received.hasPrefix("HTTP/1.1 200"), "\(whole.received)")
            }
        }
    }
}
