import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle

/// The worker as a swift-service-lifecycle service: graceful shutdown (SIGTERM) stops claiming,
/// lets in-flight calls finish within the grace period and releases the rest.
public struct GatewayService: Service {
    public let worker: Worker

    public init(worker: Worker) {
        self.worker = worker
    }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await worker.run()
        } onGracefulShutdown: {
            worker.shutdown()
        }
    }
}

/// `/metrics` (Prometheus text), `/healthz` (alive) and `/readyz` (configuration loaded, claiming,
/// database answering) on the gateway's own small port: loopback unless the operator says otherwise
/// (the metrics name providers, models and error classes), `/metrics` behind an optional token.
public enum GatewayMetricsServer {
    /// Where the server listens without `--metrics-host` / `GATEWAY_METRICS_HOST`.
    public static let defaultHost = "127.0.0.1"
    /// `GATEWAY_METRICS_TOKEN`: when set, `/metrics` needs `Authorization: Bearer <token>` (the
    /// probes stay open for orchestrators' health checks).
    public static let tokenVariable = "GATEWAY_METRICS_TOKEN"

    public static func application(
        host: String, port: Int, worker: Worker, registry: PrometheusCollectorRegistry, logger: Logger, token: String? = nil,
        idleTimeout: Duration = .seconds(30)
    ) -> some ApplicationProtocol {
        let router = Router()
        router.get("/healthz") { _, _ in Self.text(.ok, "ok\n") }
        router.get("/readyz") { _, _ -> Response in
            guard worker.isReady else { return Self.text(.serviceUnavailable, "not ready: starting or stopping\n") }
            guard await worker.checkDatabase() else { return Self.text(.serviceUnavailable, "not ready: database unreachable\n") }
            return Self.text(.ok, "ready\n")
        }
        router.get("/metrics") { request, _ -> Response in
            if let token, !Self.authorized(request.headers[.authorization], token: token) {
                var headers = HTTPFields()
                headers[.wwwAuthenticate] = "Bearer"
                headers[.contentType] = "text/plain; charset=utf-8"
                return Response(status: .unauthorized, headers: headers, body: .init(byteBuffer: ByteBuffer(string: "unauthorized\n")))
            }
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        return Application(
            router: router,
            // Idle and half-sent connections are closed (review finding P2-5).
            server: .http1(configuration: .init(idleTimeout: TimeAmount(idleTimeout))),
            configuration: .init(address: .hostname(host, port: port), serverName: "llm-gateway"),
            logger: logger)
    }

    /// `Bearer <token>`, compared in constant time over both values.
    static func authorized(_ header: String?, token: String) -> Bool {
        guard let header, header.hasPrefix("Bearer ") else { return false }
        let given = Array(header.dropFirst("Bearer ".count).utf8)
        let expected = Array(token.utf8)
        var difference = UInt8(given.count == expected.count ? 0 : 1)
        for index in 0..<max(given.count, expected.count) {
            let a = index < given.count ? given[index] : 0
            let b = index < expected.count ? expected[index] : 0
            difference |= a ^ b
        }
        return difference == 0
    }

    static func text(_ status: HTTPResponse.Status, _ body: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
