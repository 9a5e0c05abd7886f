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
/// database answering) on the gateway's own small port.
public enum GatewayMetricsServer {
    public static func application(
        host: String, port: Int, worker: Worker, registry: PrometheusCollectorRegistry, logger: Logger
    ) -> some ApplicationProtocol {
        let router = Router()
        router.get("/healthz") { _, _ in Self.text(.ok, "ok\n") }
        router.get("/readyz") { _, _ -> Response in
            guard worker.isReady else { return Self.text(.serviceUnavailable, "not ready: starting or stopping\n") }
            guard await worker.checkDatabase() else { return Self.text(.serviceUnavailable, "not ready: database unreachable\n") }
            return Self.text(.ok, "ready\n")
        }
        router.get("/metrics") { _, _ -> Response in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "llm-gateway"),
            logger: logger)
    }

    static func text(_ status: HTTPResponse.Status, _ body: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
