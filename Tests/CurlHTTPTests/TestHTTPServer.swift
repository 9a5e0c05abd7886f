import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// A request context that remembers the client's port, so tests can see connection reuse.
struct PeerContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let peerPort: Int?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        peerPort = source.channel.remoteAddress?.port
    }
}

/// A real HTTP server on 127.0.0.1 and a free port, for the client to talk to.
final class TestHTTPServer: Sendable {
    let port: Int
    /// Stopped by a graceful shutdown (as ProviderStubServer is), never by cancelling its task:
    /// cancelling a serving task while an accepted connection is still buffered traps in NIO
    /// ("Deinited NIOAsyncWriter without calling finish()", apple/swift-nio#3481), which crashed
    /// the whole test binary once.
    private let group: ServiceGroup
    /// Requests to `/sleep/…` being served at once, as the server saw them.
    let sleepers: InFlightCounter
    /// What `/pieces` uploads delivered so far, as the server read it.
    let received: ReceivedBytes

    var baseURL: String { "http://127.0.0.1:\(port)" }

    private init(port: Int, group: ServiceGroup, sleepers: InFlightCounter, received: ReceivedBytes) {
        self.port = port
        self.group = group
        self.sleepers = sleepers
        self.received = received
    }

    static func start() async throws -> TestHTTPServer {
        let router = Router(context: PeerContext.self)
        router.get("/status/:code") { _, context -> Response in
            let code = context.parameters.get("code", as: Int.self) ?? 500
            return Response(
                status: .init(code: code),
                headers: [.contentType: "text/plain", .xTest: "yes"],
                body: .init(byteBuffer: ByteBuffer(string: "status \(code)"))
            )
        }
        router.on("/echo", method: .post, use: echo)
        router.on("/echo", method: .put, use: echo)
        router.on("/echo", method: .delete, use: echo)
        let inFlight = InFlightCounter()
        router.get("/sleep/:ms") { _, context -> String in
            let milliseconds = context.parameters.get("ms", as: Int.self) ?? 0
            inFlight.enter()
            defer { inFlight.leave() }
            try await Task.sleep(for: .milliseconds(milliseconds))
            return "slept \(milliseconds)"
        }
        // Holds each request until `count` have been in flight together (or 20 s pass): only a
        // client that really sends them concurrently gets 200s, however loaded the machine is.
        let gathered = InFlightCounter()
        router.get("/gather/:count") { _, context -> Response in
            let count = context.parameters.get("count", as: Int.self) ?? 1
            gathered.enter()
            defer { gathered.leave() }
            let deadline = ContinuousClock.now + .seconds(20)
            while gathered.peak < count, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            return Response(status: gathered.peak >= count ? .ok : .serviceUnavailable)
        }
        // Reads an upload piece by piece as it arrives; answers with everything it got.
        let received = ReceivedBytes()
        router.post("/pieces") { request, _ -> Response in
            var all = ByteBuffer()
            for try await var piece in request.body {
                received.append(Array(piece.readableBytesView))
                all.writeBuffer(&piece)
            }
            return Response(status: .ok, headers: [.xChunked: request.headers[.transferEncoding] ?? "none"], body: .init(byteBuffer: all))
        }
        // Writes `count` lines, 10 ms apart: a body that arrives in pieces.
        router.get("/drip/:count") { _, context -> Response in
            let count = context.parameters.get("count", as: Int.self) ?? 1
            return Response(status: .ok, body: ResponseBody { writer in
                for index in 0..<count {
                    try await writer.write(ByteBuffer(string: "line \(index)\n"))
                    try await Task.sleep(for: .milliseconds(10))
                }
                try await writer.finish(nil)
            })
        }
        router.get("/peer") { _, context -> String in "\(context.peerPort ?? -1)" }
        router.get("/big") { _, _ -> Response in
            Response(status: .ok, body: .init(byteBuffer: ByteBuffer(repeating: UInt8(ascii: "x"), count: 1 << 20)))
        }

        let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router,
            // A deep accept queue: tests open thousands of connections at once.
            configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "curl-test", backlog: 4096),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            }
        )
        var groupConfiguration = ServiceGroupConfiguration(services: [app], logger: Logger(label: "curl-test"))
        // Requests held open by `/sleep` do not keep a stopped server for the rest of the run.
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(2)
        let group = ServiceGroup(configuration: groupConfiguration)
        Task { try await group.run() }
        var iterator = portStream.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            await group.triggerGracefulShutdown()
            throw CancellationError()
        }
        return TestHTTPServer(port: port, group: group, sleepers: inFlight, received: received)
    }

    func stop() {
        let group = group
        Task { await group.triggerGracefulShutdown() }
    }

    @Sendable private static func echo(_ request: Request, _ context: PeerContext) async throws -> Response {
        let body = try await request.body.collect(upTo: 16 << 20)
        var headers: HTTPFields = [.xMethod: request.method.rawValue]
        if let type = request.headers[.contentType] { headers[.contentType] = type }
        if let custom = request.headers[.xCustom] { headers[.xCustom] = custom }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
    }
}

extension HTTPField.Name {
    // Literal, valid header names: the initializer only fails on invalid characters.
    static let xTest = HTTPField.Name("X-Test").unsafelyUnwrapped
    static let xMethod = HTTPField.Name("X-Method").unsafelyUnwrapped
    static let xCustom = HTTPField.Name("X-Custom").unsafelyUnwrapped
    static let xChunked = HTTPField.Name("X-Chunked").unsafelyUnwrapped
}

/// Bytes a streaming handler has read so far.
final class ReceivedBytes: Sendable {
    private let bytes = Mutex<[UInt8]>([])
    func append(_ piece: [UInt8]) { bytes.withLock { $0 += piece } }
    var text: String { bytes.withLock { String(decoding: $0, as: UTF8.self) } }
}

/// Counts requests being served at once, and the most seen together.
final class InFlightCounter: Sendable {
    private let counts = Mutex((current: 0, peak: 0))

    func enter() {
        counts.withLock { counts in
            counts.current += 1
            counts.peak = max(counts.peak, counts.current)
        }
    }

    func leave() { counts.withLock { $0.current -= 1 } }

    var peak: Int { counts.withLock { $0.peak } }
}
