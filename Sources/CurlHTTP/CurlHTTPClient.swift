import CCurl
import Foundation
import ServiceLifecycle
import Synchronization

/// An HTTP client over libcurl's multi interface: one dedicated thread drives every transfer with
/// `curl_multi_socket_action` and epoll, so thousands of concurrent requests cost no threads and
/// each event costs the same however many are in flight. Connections are reused through the
/// multi handle's cache, TLS sessions through a shared session cache, and easy handles through a
/// pool.
///
/// As a swift-service-lifecycle `Service`, `run()` lasts until graceful shutdown and then shuts
/// the client down; `shutdown()` alone never blocks.
public final class CurlHTTPClient: Sendable {
    let loop: CurlEventLoop
    /// PEM file of CA certificates trusted for https instead of the system's; `nil`: the system's.
    public let caBundlePath: String?

    public init(caBundlePath: String? = nil) throws {
        self.caBundlePath = caBundlePath
        loop = try CurlEventLoop()
    }

    /// Stops the loop without waiting; in-flight requests fail with `.shutdown`.
    deinit { loop.shutdown() }

    /// Sends a request and returns the complete response, whatever its status.
    /// Throws `CurlHTTPError` when no complete response arrived, `CancellationError` when the
    /// calling task is cancelled.
    public func send(_ request: CurlHTTPRequest) async throws -> CurlHTTPResponse {
        try Task.checkCancellation()
        let transfer = try CurlTransfer(request: request, pool: loop.handles, defaultCABundlePath: caBundlePath)
        let loop = loop
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                transfer.continuation = continuation
                loop.enqueue(transfer)
            }
        } onCancel: {
            transfer.cancelled.store(true, ordering: .sequentiallyConsistent)
            loop.cancel(transfer)
        }
    }

    /// Fails every pending and in-flight request with `.shutdown` and lets the event-loop thread
    /// end. Returns at once; `shutdownGracefully()` also waits for the thread to finish.
    public func shutdown() { loop.shutdown() }

    /// Shuts down and waits until every curl handle has been released.
    public func shutdownGracefully() async {
        loop.shutdown()
        await loop.waitUntilStopped()
    }

    /// How many times the event-loop thread has woken up so far (for benchmarks and metrics).
    public var eventLoopWakeups: UInt64 { loop.wakeupCount }
}

extension CurlHTTPClient: Service {
    /// Runs until graceful shutdown (or cancellation), then shuts the client down. Register the
    /// client before the services that use it: a ServiceGroup stops services in reverse order.
    public func run() async throws {
        try? await gracefulShutdown()
        await shutdownGracefully()
    }
}
