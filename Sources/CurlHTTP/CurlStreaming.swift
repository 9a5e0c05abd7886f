import CCurl
import Foundation
import Synchronization

/// The status line and headers of a streamed response, ready once the first body byte arrives
/// (or the transfer ends without a body).
public struct CurlHTTPStreamingResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    /// 2 for HTTP/2, 1 for HTTP/1.x.
    public var httpVersion: Int
    /// The body as it arrives, in the pieces curl hands over. Ends when the transfer completes;
    /// throws `CurlHTTPError` when it breaks (a cut connection, the transfer's timeout).
    /// Dropping or cancelling the iteration aborts the transfer.
    public let body: AsyncThrowingStream<Data, any Error>

    public init(status: Int, headers: [(name: String, value: String)], httpVersion: Int = 1, body: AsyncThrowingStream<Data, any Error>) {
        self.status = status
        self.headers = headers
        self.httpVersion = httpVersion
        self.body = body
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
}

/// Where a streaming download's bytes go. Loop thread only, except `body` (read by the consumer).
final class CurlStreamSink: @unchecked Sendable {
    var received = 0
    private(set) var headDelivered = false
    private var head: CheckedContinuation<(status: Int, headers: [(name: String, value: String)], httpVersion: Int), any Error>?
    private let continuation: AsyncThrowingStream<Data, any Error>.Continuation
    let body: AsyncThrowingStream<Data, any Error>

    init() {
        (body, continuation) = AsyncThrowingStream.makeStream(of: Data.self)
    }

    func awaitHead(_ head: CheckedContinuation<(status: Int, headers: [(name: String, value: String)], httpVersion: Int), any Error>) {
        self.head = head
    }

    func onTermination(_ handler: @escaping @Sendable () -> Void) {
        continuation.onTermination = { _ in handler() }
    }

    func deliverHead(status: Int, headers: [(name: String, value: String)], httpVersion: Int) {
        guard !headDelivered else { return }
        headDelivered = true
        head?.resume(returning: (status, headers, httpVersion))
        head = nil
    }

    func yield(_ data: Data) { continuation.yield(data) }

    func finish(throwing error: (any Error)?) {
        if !headDelivered {
            headDelivered = true
            if let error { head?.resume(throwing: error) } else { head?.resume(returning: (0, [], 1)) }
            head = nil
        }
        continuation.finish(throwing: error)
    }
}

/// The body of a streaming upload, filled by the producer and drained by curl's read callback.
final class CurlUploadSource: Sendable {
    private struct State {
        var buffer: [UInt8] = []
        var offset = 0
        var finished = false
        var paused = false
        var closed = false
    }

    private let state = Mutex(State())

    /// Appends bytes; true when curl had paused for want of data (the caller unpauses it).
    func append(_ bytes: [UInt8]) -> Bool {
        state.withLock { state in
            guard !state.closed, !state.finished else { return false }
            state.buffer.append(contentsOf: bytes)
            defer { state.paused = false }
            return state.paused
        }
    }

    /// No more bytes after these; true when curl had paused (it must be told).
    func finish() -> Bool {
        state.withLock { state in
            guard !state.closed, !state.finished else { return false }
            state.finished = true
            defer { state.paused = false }
            return state.paused
        }
    }

    /// The transfer ended: later appends are dropped.
    func close() {
        state.withLock { $0.closed = true }
    }

    var isClosed: Bool { state.withLock { $0.closed } }

    /// Called by curl on the loop thread.
    func read(into destination: UnsafeMutableRawBufferPointer) -> Int {
        state.withLock { state in
            let available = state.buffer.count - state.offset
            if available > 0 {
                let count = min(available, destination.count)
                state.buffer.withUnsafeBytes { source in
                    destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[state.offset..<(state.offset + count)]))
                }
                state.offset += count
                if state.offset == state.buffer.count {
                    state.buffer.removeAll(keepingCapacity: true)
                    state.offset = 0
                }
                return count
            }
            if state.finished || state.closed { return 0 }
            state.paused = true
            return sb_curl_readfunc_pause()
        }
    }
}

/// A request whose body is written while it is being sent (HTTP/1.1 chunked transfer encoding):
/// `write` as data becomes available, `finish` at the end, then `response()` for the answer.
public final class CurlUpload: Sendable {
    private let transfer: CurlTransfer
    private let source: CurlUploadSource
    private let loop: CurlEventLoop
    private let task: Task<CurlHTTPResponse, any Error>

    init(transfer: CurlTransfer, source: CurlUploadSource, loop: CurlEventLoop) {
        self.transfer = transfer
        self.source = source
        self.loop = loop
        task = Task {
            try await withCheckedThrowingContinuation { continuation in
                transfer.continuation = continuation
                loop.enqueue(transfer)
            }
        }
    }

    /// Queues bytes for sending; false once the transfer has ended (the server answered or the
    /// connection broke), when nothing more can be sent.
    @discardableResult
    public func write(_ bytes: [UInt8]) -> Bool {
        if source.isClosed { return false }
        if source.append(bytes) { loop.unpause(transfer) }
        return !source.isClosed
    }

    /// Ends the body (the last chunk is sent once everything queued has gone).
    public func finish() {
        if source.finish() { loop.unpause(transfer) }
    }

    /// Whether the transfer has ended (answered, failed or cancelled).
    public var hasEnded: Bool { source.isClosed }

    /// The server's answer, once the transfer is complete.
    public func response() async throws -> CurlHTTPResponse {
        try await task.value
    }

    /// Aborts the transfer; `response()` throws `CancellationError`.
    public func cancel() {
        transfer.cancelled.store(true, ordering: .sequentiallyConsistent)
        source.close()
        loop.cancel(transfer)
    }
}

extension CurlHTTPClient {
    /// Sends a request and returns once the response's headers are in (at its first body byte),
    /// with the body to read as it arrives: server-sent events, long generations. The request's
    /// `timeout` bounds the whole transfer; finer deadlines (first byte, gaps) are the caller's.
    /// Throws like `send` when no response starts; cancelling the calling task before then, or
    /// the iteration of `body` afterwards, aborts the transfer.
    public func stream(_ request: CurlHTTPRequest) async throws -> CurlHTTPStreamingResponse {
        try Task.checkCancellation()
        let transfer = try CurlTransfer(request: request, pool: loop.handles, defaultCABundlePath: caBundlePath)
        let sink = CurlStreamSink()
        transfer.streamSink = sink
        let loop = loop
        sink.onTermination { [weak transfer] in
            guard let transfer else { return }
            transfer.cancelled.store(true, ordering: .sequentiallyConsistent)
            loop.cancel(transfer)
        }
        let head = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                sink.awaitHead(continuation)
                loop.enqueue(transfer)
            }
        } onCancel: {
            transfer.cancelled.store(true, ordering: .sequentiallyConsistent)
            loop.cancel(transfer)
        }
        return CurlHTTPStreamingResponse(status: head.status, headers: head.headers, httpVersion: head.httpVersion, body: sink.body)
    }

    /// Starts a request whose body is produced while it is sent (see `CurlUpload`). The body is
    /// sent with chunked transfer encoding; `request.body` is ignored.
    public func upload(_ request: CurlHTTPRequest) throws -> CurlUpload {
        let source = CurlUploadSource()
        let transfer = try CurlTransfer(request: request, pool: loop.handles, defaultCABundlePath: caBundlePath, uploadSource: source)
        return CurlUpload(transfer: transfer, source: source, loop: loop)
    }
}
